# ruff: noqa: E501  (markdown table rows are printed on one line each)
"""PII scanner evaluation: accuracy on CLUENER dev and a generated set, and throughput.

Prints markdown tables. Usage::

    .venv/bin/python benchmarks/pii_eval.py [--per-entity 500] [--rows 250000] [--structured-rows N]
    .venv/bin/python benchmarks/pii_eval.py --side-by-side --previous <checkout> [--per-format 40]
    .venv/bin/python benchmarks/pii_eval.py --paired-speed 3 --previous <checkout> [--reps 5]

* Names / addresses: our CN_PERSON / CN_ADDRESS on CLUENER dev (labels ``name`` and
  ``address``), exact-span and overlap recall, share of name/address-free cells altered.
* Generated set: phones, resident IDs, bank cards, e-mails (seeded, valid checksums, real
  BINs and prefixes) inserted into real CLUENER sentences; precision/recall/F1 per type for
  our scanner and for Presidio's default recognizers (no_op NLP engine, offline).
* Throughput: one frame of ``4 x rows`` cells scanned by PiiScanner (redact_series per
  column) and by presidio-structured (PandasAnalysisBuilder over all rows + StructuredEngine,
  default recognizers); presidio-structured runs on ``--structured-rows`` rows when given
  (it is slow) and its rate is reported per cell.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
# the seeded identifier generator is a test helper kept outside the library (tests/_support)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _support import pii_synth as synth

from privacy_profile.pii import PiiScanner, ScanConfig
from privacy_profile.pii._presidio import AnalyzerEngine, NoOpNlpEngine

DATA = Path(
    os.environ.get(
        "PRIVACY_PROFILE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)
STRUCTURED = ("CN_MOBILE", "CN_RESIDENT_ID", "BANK_CARD", "EMAIL_ADDRESS")
PRESIDIO_MAP = {
    "PHONE_NUMBER": "CN_MOBILE",
    "CREDIT_CARD": "BANK_CARD",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
}


def load_cluener(name: str) -> list[dict]:  # type: ignore[type-arg]
    with open(DATA / "cluener2020" / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def presidio_default() -> AnalyzerEngine:
    """Presidio's default analyzer. Its registry finds its predefined recognizers by class
    name among all EntityRecognizer subclasses; ours share some names (EmailRecognizer), so
    the look-up is pointed at presidio's own classes while it builds."""
    from presidio_analyzer.recognizer_registry.recognizers_loader_utils import (
        RecognizerListLoader,
    )

    def presidio_cls(recognizer_name: str) -> type:
        for cls in RecognizerListLoader.get_all_existing_recognizers():
            if cls.__name__ == recognizer_name and cls.__module__.startswith("presidio_"):
                return cls  # type: ignore[no-any-return]
        raise ValueError(recognizer_name)

    original = RecognizerListLoader.get_existing_recognizer_cls
    RecognizerListLoader.get_existing_recognizer_cls = staticmethod(presidio_cls)  # type: ignore[method-assign]
    try:
        return _presidio_default()
    finally:
        RecognizerListLoader.get_existing_recognizer_cls = original  # type: ignore[method-assign]


def _presidio_default() -> AnalyzerEngine:
    nlp = NoOpNlpEngine(
        models=[
            {"lang_code": "en", "model_name": "none"},
            {"lang_code": "zh", "model_name": "none"},
        ]
    )
    nlp.load()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return AnalyzerEngine(nlp_engine=nlp, supported_languages=["en", "zh"])


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def eval_cluener(scanner: PiiScanner, rows: list[dict]) -> None:  # type: ignore[type-arg]
    texts = [r["text"] for r in rows]
    t0 = time.perf_counter()
    found = scanner.scan_texts(texts)
    dt = time.perf_counter() - t0
    print("\n### CLUENER dev: names and addresses\n")
    print(
        f"{len(rows)} sentences, scan {dt:.1f} s ({len(rows) / dt:.0f} sentences/s, one process)\n"
    )
    print("| label | ours | precision (exact) | recall (exact) | recall (overlap) | F1 (exact) |")
    print("|---|---|---|---|---|---|")
    free = [not r["label"].get("name") and not r["label"].get("address") for r in rows]
    for label, entity in (("name", "CN_PERSON"), ("address", "CN_ADDRESS")):
        tp = fp = fn = ov = 0
        for r, fs in zip(rows, found, strict=True):
            gold = {(s, e + 1) for spans in r["label"].get(label, {}).values() for s, e in spans}
            pred = {(f.start, f.end) for f in fs if f.entity_type == entity}
            tp += len(gold & pred)
            fp += len(pred - gold)
            fn += len(gold - pred)
            ov += sum(any(ps < ge and gs < pe for ps, pe in pred) for gs, ge in gold)
        p, r_, f1 = prf(tp, fp, fn)
        print(f"| {label} | {entity} | {p:.3f} | {r_:.3f} | {ov / (tp + fn):.3f} | {f1:.3f} |")
    altered = sum(bool(fs) for fs, fr in zip(found, free, strict=True) if fr)
    print(
        f"\nname/address-free sentences altered (any finding): {altered}/{sum(free)} = {altered / sum(free):.3f}"
    )
    print("Presidio's defaults have no Chinese name or address recognizer offline (recall 0).")
    name_curve(rows)


def name_curve(rows: list[dict]) -> None:  # type: ignore[type-arg]
    """CN_PERSON alone at several score thresholds: the recall / alteration trade-off."""
    texts = [r["text"] for r in rows]
    free = [not r["label"].get("name") for r in rows]
    print(
        "\nCN_PERSON alone, by score threshold (altered: share of name-free sentences with a CN_PERSON finding)\n"
    )
    print("| threshold | precision (exact) | recall (exact) | recall (overlap) | altered |")
    print("|---|---|---|---|---|")
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        scanner = PiiScanner(ScanConfig(entities=("CN_PERSON",), score_threshold=threshold))
        found = scanner.scan_texts(texts)
        tp = fp = fn = ov = 0
        for r, fs in zip(rows, found, strict=True):
            gold = {(s, e + 1) for spans in r["label"].get("name", {}).values() for s, e in spans}
            pred = {(f.start, f.end) for f in fs}
            tp += len(gold & pred)
            fp += len(pred - gold)
            fn += len(gold - pred)
            ov += sum(any(ps < ge and gs < pe for ps, pe in pred) for gs, ge in gold)
        altered = sum(bool(fs) for fs, fr in zip(found, free, strict=True) if fr)
        p, r_, _ = prf(tp, fp, fn)
        print(
            f"| {threshold} | {p:.3f} | {r_:.3f} | {ov / (tp + fn):.3f} | {altered / sum(free):.3f} |"
        )


def eval_generated(scanner: PiiScanner, sentences: list[str], per_entity: int) -> None:
    rng = random.Random(20240601)
    samples = [synth.embed(rng, sentences, e) for e in STRUCTURED for _ in range(per_entity)]
    clean = rng.sample(sentences, min(2000, len(sentences)))
    presidio = presidio_default()
    print(
        f"\n### Generated set: {per_entity} per type in CLUENER sentences, plus {len(clean)} unmodified sentences\n"
    )
    print("| entity | system | precision | recall | F1 |")
    print("|---|---|---|---|---|")
    ours = scanner.scan_texts([s.text for s in samples] + clean)
    theirs = []
    for s in [*(x.text for x in samples), *clean]:
        res = presidio.analyze(s, language="en")
        theirs.append(
            [(r.start, r.end, PRESIDIO_MAP.get(r.entity_type, r.entity_type)) for r in res]
        )
    gold_all = [set(s.spans) for s in samples] + [set() for _ in clean]
    for entity in STRUCTURED:
        for name, preds in (
            ("ours", [[(f.start, f.end, f.entity_type) for f in fs] for fs in ours]),
            ("presidio default", theirs),
        ):
            tp = fp = fn = 0
            for gold, pred in zip(gold_all, preds, strict=True):
                g = {x for x in gold if x[2] == entity}
                p = {x for x in pred if x[2] == entity}
                tp += len(g & p)
                fp += len(p - g)
                fn += len(g - p)
            p_, r_, f1 = prf(tp, fp, fn)
            print(f"| {entity} | {name} | {p_:.3f} | {r_:.3f} | {f1:.3f} |")
    print(
        "\nPresidio has no Chinese resident-ID recognizer; its PHONE_NUMBER counts as CN_MOBILE, CREDIT_CARD as BANK_CARD."
    )


def make_frame(rows: int, sentences: list[str]) -> tuple[pd.DataFrame, set[str]]:
    rng = random.Random(7)
    planted: set[str] = set()
    phone, email, remark, comment = [], [], [], []
    remarks = ["尽快发货", "周末送", "不要辣", "放门口", "谢谢", "请开发票", "", "ok"]
    for _ in range(rows):
        m = synth.mobile(rng, style="plain")
        phone.append(m)
        planted.add(m)
        e = synth.email(rng)
        email.append(e)
        planted.add(e)
        if rng.random() < 0.1:
            v = synth.mobile(rng, style="plain")
            planted.add(v)
            remark.append(f"收货电话{v}")
        else:
            remark.append(rng.choice(remarks))
        comment.append(rng.choice(sentences))
    return pd.DataFrame(
        {"phone": phone, "email": email, "remark": remark, "comment": comment}
    ), planted


def recall_of(df: pd.DataFrame, original: pd.DataFrame, planted: set[str]) -> float:
    hits = total = 0
    for col in ("phone", "email", "remark"):
        for before, after in zip(original[col], df[col], strict=True):
            vals = [
                p
                for p in (
                    [before]
                    if col != "remark"
                    else [before[4:]]
                    if before.startswith("收货电话")
                    else []
                )
                if p in planted
            ]
            for v in vals:
                total += 1
                hits += v not in str(after)
    return hits / total if total else 1.0


def throughput(rows: int, structured_rows: int | None, sentences: list[str]) -> None:
    df, planted = make_frame(rows, sentences)
    cells = df.size
    print(
        f"\n### Throughput: {cells:,} cells ({rows:,} rows x 4 columns: phone, email, remark, comment)\n"
    )
    print("| system | cells | seconds | cells/s | recall of planted identifiers |")
    print("|---|---|---|---|---|")
    ours: dict[int, float] = {}
    per_column: dict[int, dict[str, float]] = {}
    for processes in (1, 2):
        scanner = PiiScanner(ScanConfig(processes=processes))
        t0 = time.perf_counter()
        out = df.copy()
        per_column[processes] = {}
        for col in df.columns:
            tc = time.perf_counter()
            out[col] = scanner.redact_series(df[col]).series
            per_column[processes][col] = time.perf_counter() - tc
        dt = time.perf_counter() - t0
        ours[processes] = cells / dt
        print(
            f"| PiiScanner ({processes} process{'es' if processes > 1 else ''}) | {cells:,} | {dt:.1f} | {ours[processes]:,.0f} | {recall_of(out, df, planted):.3f} |"
        )
    from presidio_anonymizer.entities import OperatorConfig
    from presidio_structured import PandasAnalysisBuilder, StructuredEngine
    from presidio_structured.data import PandasDataProcessor

    n = structured_rows or rows
    sub = df.iloc[:n].reset_index(drop=True)
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    analysis = PandasAnalysisBuilder(analyzer=presidio_default()).generate_analysis(
        sub, n=len(sub), language="en"
    )
    engine = StructuredEngine(data_processor=PandasDataProcessor())
    ops = {
        e: OperatorConfig("replace", {"new_value": f"<{e}>"})
        for e in set(analysis.entity_mapping.values())
    }
    anonymized = engine.anonymize(sub, analysis, operators=ops)
    dt = time.perf_counter() - t0
    rate = sub.size / dt
    print(
        f"| presidio-structured (full analysis, default recognizers) | {sub.size:,} | {dt:.1f} | {rate:,.0f} | {recall_of(anonymized, sub, planted):.3f} |"
    )
    print(f"\ncolumn entities chosen by presidio-structured: {analysis.entity_mapping}")
    print(f"distinct texts per column: { {c: int(df[c].nunique()) for c in df.columns} }")
    for processes, secs in per_column.items():
        print(
            f"seconds per column, {processes} process(es): { {c: round(t, 2) for c, t in secs.items()} }"
        )
    for processes, ours_rate in ours.items():
        print(
            f"speed-up over presidio-structured's per-cell rate, {processes} process(es): {ours_rate / rate:.1f}x"
        )
    print(f"load averages (1, 5, 15 min) at the end: {os.getloadavg()}")


# -- side by side: names / addresses / phones, previous scanner vs new vs Presidio --------------
PHONE_TYPES = {"CN_MOBILE", "CN_LANDLINE", "PHONE_NUMBER"}
#: A surname (one or two characters) with a form of address and no given name.
TITLE_FORM = re.compile(
    "[\u4e00-\u9fff]{1,2}(?:先生|女士|小姐|老师|师傅|同学|经理|总|教授|博士|医生|主任|书记|局长"
    "|院长|阿姨|老板|律师|导|哥|姐)"
)
#: A CLUENER address span with a street-level part (road, number, building, estate, village)
#: counts as a postal address; the others are bare place names (北京, 台湾, 西山).
POSTAL = re.compile(
    r"[0-9０-９]|路|街|道|巷|弄|号|栋|幢|单元|室|楼|层|小区|花园|大厦|公寓|村|镇|乡"
)


def _d(rng: random.Random, n: int, first: str = "0123456789") -> str:
    return rng.choice(first) + "".join(rng.choice("0123456789") for _ in range(n - 1))


def phone_formats(rng: random.Random) -> list[tuple[str, str]]:
    """(format name, number) for every format of issue 16 item 3 (seeded, plausible)."""
    mob = rng.choice(["138", "139", "186", "150", "177", "199"]) + _d(rng, 8)
    loc8 = _d(rng, 8, "2345678")
    return [
        ("mobile plain", mob),
        ("mobile dashes", f"{mob[:3]}-{mob[3:7]}-{mob[7:]}"),
        ("mobile +86", f"+86 {mob}"),
        ("mobile +86 dashes", f"+86-{mob[:3]}-{mob[3:7]}-{mob[7:]}"),
        ("mobile 0086", f"0086{mob}"),
        ("mobile (+86)", f"(+86){mob}"),
        ("landline 010", f"010-{loc8}"),
        ("landline (0571)", f"(0571){loc8}"),
        ("landline spaces", f"0755 {loc8[:4]} {loc8[4:]}"),
        ("landline ext", f"021-{loc8}转{_d(rng, 3)}"),
        ("landline ext.", f"0755-{loc8[:4]}-{loc8[4:]} ext {_d(rng, 2)}"),
        ("landline +86", f"+86 10 {loc8[:4]} {loc8[4:]}"),
        ("local, context", f"电话：{loc8[:4]} {loc8[4:]}"),
        ("400", f"400-{_d(rng, 3)}-{_d(rng, 4)}"),
        ("800", f"800 {_d(rng, 3)} {_d(rng, 4)}"),
        ("+852 mobile", f"+852 {_d(rng, 4, '569')} {_d(rng, 4)}"),
        ("+852 landline", f"+852-{_d(rng, 4, '23')}-{_d(rng, 4)}"),
        ("(852)", f"(852) {_d(rng, 4, '69')} {_d(rng, 4)}"),
        ("+853", f"+853 {_d(rng, 4, '6')} {_d(rng, 4)}"),
        ("+886 mobile", f"+886 9{_d(rng, 2)} {_d(rng, 3)} {_d(rng, 3)}"),
        ("+886 landline", f"+886-2-{_d(rng, 4)}-{_d(rng, 4)}"),
        ("+65", f"+65 {_d(rng, 4, '689')} {_d(rng, 4)}"),
        ("+60 mobile", f"+60 1{_d(rng, 1, '2345679')}-{_d(rng, 3)} {_d(rng, 4)}"),
        ("+60 landline", f"+60 3-{_d(rng, 4)} {_d(rng, 4)}"),
        ("+81", f"+81 90-{_d(rng, 4)}-{_d(rng, 4)}"),
        ("+82", f"+82 10-{_d(rng, 4)}-{_d(rng, 4)}"),
        ("+61", f"+61 4{_d(rng, 2)} {_d(rng, 3)} {_d(rng, 3)}"),
        ("+1", f"+1 {_d(rng, 3, '2345')} 555 {_d(rng, 4)}"),
    ]


def phone_set(
    sentences: list[str], per_format: int
) -> tuple[list[str], list[set[tuple[int, int]]]]:
    """Every format ``per_format`` times in CLUENER train sentences, plus as many clean ones."""
    rng = random.Random(20261129)
    leads = ["", "", "电话", "联系方式：", "手机 ", "call ", "QQ/电话 ", "客服热线"]
    texts: list[str] = []
    gold: list[set[tuple[int, int]]] = []
    n_formats = len(phone_formats(rng))
    for k in range(n_formats * per_format):
        name, number = phone_formats(rng)[k % n_formats]
        sentence = rng.choice(sentences)
        cut = rng.randint(0, len(sentence))
        before, after = sentence[:cut], sentence[cut:]
        if before and before[-1].isascii() and before[-1].isalnum():
            before += " "
        if after and after[0].isascii() and after[0].isalnum():
            after = " " + after
        if name == "local, context":
            head = before
            number_start = len(head) + len("电话：")
            text = head + number + after
            gold.append({(number_start, len(head) + len(number))})
        else:
            head = before + rng.choice(leads)
            text = head + number + after
            gold.append({(len(head), len(head) + len(number))})
        texts.append(text)
    clean = rng.sample(sentences, n_formats * per_format)
    return texts + clean, gold + [set() for _ in clean]


def _span_scores(
    preds: list[set[tuple[int, int]]], gold: list[set[tuple[int, int]]]
) -> dict[str, float]:
    tp = fp = fn = ov = pov = npred = 0
    for p, g in zip(preds, gold, strict=True):
        tp += len(p & g)
        fp += len(p - g)
        fn += len(g - p)
        ov += sum(any(ps < ge and gs < pe for ps, pe in p) for gs, ge in g)
        pov += sum(any(ps < ge and gs < pe for gs, ge in g) for ps, pe in p)
        npred += len(p)
    pe, re_, fe = prf(tp, fp, fn)
    po = pov / npred if npred else 0.0
    ro = ov / (tp + fn) if tp + fn else 0.0
    fo = 2 * po * ro / (po + ro) if po + ro else 0.0
    return {
        "p_exact": pe,
        "r_exact": re_,
        "f1_exact": fe,
        "p_overlap": po,
        "r_overlap": ro,
        "f1_overlap": fo,
    }


def metrics(dev: list[dict], sentences: list[str], per_format: int) -> dict[str, object]:  # type: ignore[type-arg]
    """Accuracy and speed of whatever ``privacy_profile`` is importable (run in a subprocess
    with the previous checkout on the path for the side-by-side table)."""
    out: dict[str, object] = {}
    t0 = time.perf_counter()
    scanner = PiiScanner(ScanConfig())
    out["load_s"] = time.perf_counter() - t0
    texts = [r["text"] for r in dev]
    scanner.scan_texts(texts[:20])  # warm up (lazy tables)
    # one pass each (a second would hit the previous scanner's module-level jieba cache);
    # wall clock and this process's CPU time (less sensitive to the machine's load)
    t0, c0 = time.perf_counter(), time.process_time()
    found = scanner.scan_texts(texts)
    out["texts_per_s_all"] = len(texts) / (time.perf_counter() - t0)
    out["texts_per_cpu_s_all"] = len(texts) / (time.process_time() - c0)
    # two worker processes (each runs the name model on its own batches; fork)
    two = PiiScanner(ScanConfig(processes=2))
    two.scan_texts(texts[:20])
    t0 = time.perf_counter()
    two.scan_texts(texts)
    out["texts_per_s_all_2proc"] = len(texts) / (time.perf_counter() - t0)
    entities = scanner.entities
    structured = PiiScanner(
        ScanConfig(
            entities=tuple(e for e in entities if e not in ("CN_PERSON", "CN_ADDRESS", "CN_PLACE"))
        )
    )
    structured.scan_texts(texts[:20])
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(5):
        structured.scan_texts(texts)
    out["texts_per_s_structured"] = 5 * len(texts) / (time.perf_counter() - t0)
    out["texts_per_cpu_s_structured"] = 5 * len(texts) / (time.process_time() - c0)
    names_free = [not r["label"].get("name") for r in dev]
    addr_free = [not r["label"].get("address") for r in dev]
    for label, types in (
        ("name", {"CN_PERSON"}),
        ("address", {"CN_ADDRESS"}),
    ):
        gold = [
            {(s, e + 1) for sp in r["label"].get(label, {}).values() for s, e in sp} for r in dev
        ]
        preds = [{(f.start, f.end) for f in fs if f.entity_type in types} for fs in found]
        out[label] = _span_scores(preds, gold)
        free = names_free if label == "name" else addr_free
        out[label]["altered"] = sum(bool(p) for p, fr in zip(preds, free, strict=True) if fr) / sum(
            free
        )  # type: ignore[index]
    # name-free sentences whose only person findings are a surname with a form of address
    # (李先生, 王总): people CLUENER does not label as names (5 of its 3,661 train names)
    title_only = 0
    for fs, fr, r in zip(found, names_free, dev, strict=True):
        words = [r["text"][f.start : f.end] for f in fs if f.entity_type == "CN_PERSON"]
        title_only += fr and bool(words) and all(TITLE_FORM.fullmatch(w) for w in words)
    out["name_altered_title_only"] = title_only / sum(names_free)
    # the tuning split (CLUENER train): the name rules were chosen on it, dev is held out
    train = load_cluener("train.jsonl")
    pt = PiiScanner(ScanConfig(entities=("CN_PERSON",))).scan_texts([r["text"] for r in train])
    gold = [
        {(s, e + 1) for sp in r["label"].get("name", {}).values() for s, e in sp} for r in train
    ]
    preds = [{(f.start, f.end) for f in fs} for fs in pt]
    out["name (train, tuning split)"] = _span_scores(preds, gold)
    train_free = [not g for g in gold]
    out["name (train, tuning split)"]["altered"] = sum(  # type: ignore[index]
        bool(p) for p, fr in zip(preds, train_free, strict=True) if fr
    ) / sum(train_free)
    # CLUENER's address label is mostly bare places: recall on postal addresses apart
    postal = [
        {
            (s, e + 1)
            for k, sp in r["label"].get("address", {}).items()
            for s, e in sp
            if POSTAL.search(k)
        }
        for r in dev
    ]
    bare = [
        {
            (s, e + 1)
            for k, sp in r["label"].get("address", {}).items()
            for s, e in sp
            if not POSTAL.search(k)
        }
        for r in dev
    ]
    addr_pred = [{(f.start, f.end) for f in fs if f.entity_type == "CN_ADDRESS"} for fs in found]
    out["address_subsets"] = {
        "postal_spans": sum(map(len, postal)),
        "bare_spans": sum(map(len, bare)),
        "postal_recall_overlap": _span_scores(addr_pred, postal)["r_overlap"],
        "bare_recall_overlap": _span_scores(addr_pred, bare)["r_overlap"],
    }
    if "thresholds" in getattr(ScanConfig, "__dataclass_fields__", {}):
        for thr in (0.6, 0.7, 0.9):  # CN_PERSON alone at a higher threshold (policy: thresholds)
            cfg = ScanConfig(entities=("CN_PERSON",), thresholds={"CN_PERSON": thr})
            fs_thr = PiiScanner(cfg).scan_texts(texts)
            gold = [
                {(s, e + 1) for sp in r["label"].get("name", {}).values() for s, e in sp}
                for r in dev
            ]
            preds = [{(f.start, f.end) for f in fs} for fs in fs_thr]
            key = f"name (threshold {thr})"
            out[key] = _span_scores(preds, gold)
            out[key]["altered"] = sum(
                bool(p) for p, fr in zip(preds, names_free, strict=True) if fr
            ) / sum(names_free)  # type: ignore[index]
    try:
        places = PiiScanner(ScanConfig(entities=("CN_ADDRESS", "CN_PLACE"))).scan_texts(texts)
        gold = [
            {(s, e + 1) for sp in r["label"].get("address", {}).values() for s, e in sp}
            for r in dev
        ]
        preds = [{(f.start, f.end) for f in fs} for fs in places]
        out["address+place"] = _span_scores(preds, gold)
        out["address+place"]["altered"] = sum(
            bool(p) for p, fr in zip(preds, addr_free, strict=True) if fr
        ) / sum(addr_free)  # type: ignore[index]
        out["address_subsets"]["postal_recall_overlap_with_places"] = _span_scores(  # type: ignore[index]
            preds, postal
        )["r_overlap"]
        out["address_subsets"]["bare_recall_overlap_with_places"] = _span_scores(  # type: ignore[index]
            preds, bare
        )["r_overlap"]
    except Exception:  # the previous scanner has no CN_PLACE
        pass
    free_all = [not r["label"].get("name") and not r["label"].get("address") for r in dev]
    out["altered_any_free"] = sum(
        bool(fs) for fs, fr in zip(found, free_all, strict=True) if fr
    ) / sum(free_all)
    ptexts, pgold = phone_set(sentences, per_format)
    pfound = scanner.scan_texts(ptexts)
    preds = [{(f.start, f.end) for f in fs if f.entity_type in PHONE_TYPES} for fs in pfound]
    out["phone"] = _span_scores(preds, pgold)
    out["phone_as_qq"] = sum(f.entity_type == "QQ_NUMBER" for fs in pfound for f in fs)
    per: dict[str, list[int]] = {}
    names = [n for n, _ in phone_formats(random.Random(0))]
    for k, (p, g) in enumerate(zip(preds, pgold, strict=True)):
        if g:
            hit = per.setdefault(names[k % len(names)], [0, 0])
            hit[0] += bool(p & g)
            hit[1] += 1
    out["phone_per_format"] = {n: h[0] / h[1] for n, h in per.items()}
    return out


def presidio_metrics(dev: list[dict], sentences: list[str], per_format: int) -> dict[str, object]:  # type: ignore[type-arg]
    """Presidio's built-in recognizers (offline, no_op NLP engine; no Chinese names/addresses)."""
    analyzer = presidio_default()
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    out: dict[str, object] = {}
    ptexts, pgold = phone_set(sentences, per_format)
    t0 = time.perf_counter()
    res = [analyzer.analyze(t, language="en") for t in ptexts]
    out["texts_per_s_phones"] = len(ptexts) / (time.perf_counter() - t0)
    preds = [{(r.start, r.end) for r in rs if r.entity_type == "PHONE_NUMBER"} for rs in res]
    out["phone"] = _span_scores(preds, pgold)
    texts = [r["text"] for r in dev]
    t0, c0 = time.perf_counter(), time.process_time()
    for t in texts:
        analyzer.analyze(t, language="en")
    out["texts_per_s_all"] = len(texts) / (time.perf_counter() - t0)
    out["texts_per_cpu_s_all"] = len(texts) / (time.process_time() - c0)
    return out


def side_by_side(previous: Path | None, per_format: int) -> None:
    import subprocess

    dev = load_cluener("dev.jsonl")
    sentences = [r["text"] for r in load_cluener("train.jsonl")]
    runs: dict[str, dict] = {}  # type: ignore[type-arg]
    if previous is not None:
        env = {**os.environ, "PYTHONPATH": str(previous)}
        cmd = [
            sys.executable,
            "-W",
            "ignore",
            __file__,
            "--metrics-json",
            "--per-format",
            str(per_format),
        ]
        got = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        runs["previous scanner"] = json.loads(got.stdout.strip().splitlines()[-1])
    probe = (
        "import json, os, time\n"
        "def rss():\n"
        "    with open('/proc/self/statm') as fh:\n"
        "        return int(fh.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20\n"
        "from privacy_profile.pii.lac import LacTagger\n"
        "b = rss(); t = time.perf_counter(); tg = LacTagger(); s = time.perf_counter() - t\n"
        f"tg.tag([json.loads(x)['text'] for x in open({str(DATA / 'cluener2020' / 'dev.jsonl')!r})])\n"
        "print(f'LAC model alone (fresh process): load {s:.2f} s, resident memory +{rss() - b:.0f} MB "
        "after tagging CLUENER dev')\n"
    )
    model_note = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    runs["new scanner"] = metrics(dev, sentences, per_format)
    runs["Presidio built-ins"] = presidio_metrics(dev, sentences, per_format)
    print(
        f"\n### Side by side (CLUENER dev {len(dev)} sentences; phones: {per_format} per format x 28 formats + as many clean sentences)\n"
    )
    print(
        "| system | type | P exact | R exact | F1 exact | P overlap | R overlap | F1 overlap | altered |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for system, m in runs.items():
        for kind in (
            "name",
            "name (threshold 0.6)",
            "name (threshold 0.7)",
            "name (threshold 0.9)",
            "name (train, tuning split)",
            "address",
            "address+place",
            "phone",
        ):
            if kind not in m:
                continue
            v = m[kind]
            alt = f"{v['altered']:.3f}" if "altered" in v else "-"
            print(
                f"| {system} | {kind} | {v['p_exact']:.3f} | {v['r_exact']:.3f} | {v['f1_exact']:.3f} | {v['p_overlap']:.3f} | {v['r_overlap']:.3f} | {v['f1_overlap']:.3f} | {alt} |"
            )
    print(
        "\n| system | all entities, texts/s: wall / per CPU second | two processes: wall | structured only: wall / per CPU second | scanner build s |"
    )
    print("|---|---|---|---|---|")
    for system, m in runs.items():
        struct = (
            f"{m['texts_per_s_structured']:,.0f} / {m['texts_per_cpu_s_structured']:,.0f}"
            if "texts_per_s_structured" in m
            else "-"
        )
        build = f"{m['load_s']:.2f}" if "load_s" in m else "-"
        two = f"{m['texts_per_s_all_2proc']:,.0f}" if "texts_per_s_all_2proc" in m else "-"
        print(
            f"| {system} | {m['texts_per_s_all']:,.0f} / {m['texts_per_cpu_s_all']:,.0f} | {two} | {struct} | {build} |"
        )
    for system, m in runs.items():
        if "phone_per_format" in m:
            missed = {k: round(v, 2) for k, v in m["phone_per_format"].items() if v < 1}
            print(
                f"\n{system}: phone recall below 1 by format: {missed}; phones taken as QQ: {m['phone_as_qq']}; name/address-free sentences with any finding: {m['altered_any_free']:.3f}"
            )
    for system, m in runs.items():
        if "name_altered_title_only" in m:
            print(
                f"\n{system}: name-free dev sentences whose only CN_PERSON findings are a surname with a form of address (李先生, 王总): {m['name_altered_title_only']:.3f}"
            )
    for system, m in runs.items():
        if "address_subsets" in m:
            print(
                f"\n{system}: CLUENER dev address spans by kind (overlap recall): {m['address_subsets']}"
            )
    print(f"\n{model_note}")
    print(f"\nload averages (1, 5, 15 min): {os.getloadavg()}")


def speed_probe(dev: list[dict], reps: int) -> dict[str, float]:  # type: ignore[type-arg]
    """Texts per second of whatever ``privacy_profile`` is importable (fresh process):
    structured only (best of ``reps`` scans, this process's CPU time) and names + addresses
    (median of ``reps``: CPU time, wall with one and with two processes)."""
    texts = [r["text"] for r in dev]
    out: dict[str, float] = {}
    full = PiiScanner(ScanConfig())
    structured = PiiScanner(
        ScanConfig(
            entities=tuple(
                e for e in full.entities if e not in ("CN_PERSON", "CN_ADDRESS", "CN_PLACE")
            )
        )
    )
    structured.scan_texts(texts[:20])
    cpu = []
    for _ in range(reps):
        c0 = time.process_time()
        structured.scan_texts(texts)
        cpu.append(len(texts) / (time.process_time() - c0))
    out["structured_cpu_best"] = max(cpu)
    for processes in (1, 2):
        scanner = PiiScanner(ScanConfig(processes=processes))
        scanner.scan_texts(texts[:20])
        walls, cpus = [], []
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            scanner.scan_texts(texts)
            walls.append(len(texts) / (time.perf_counter() - t0))
            cpus.append(len(texts) / (time.process_time() - c0))
        out[f"all_wall_median_{processes}p"] = sorted(walls)[reps // 2]
        if processes == 1:
            out["all_cpu_median"] = sorted(cpus)[reps // 2]
    out["load_1min"] = os.getloadavg()[0]
    return out


def paired_speed(previous: Path, pairs: int, reps: int) -> None:
    """Previous and current scanner alternately, each in a fresh process (load drifts)."""
    import subprocess

    here = str(Path(__file__).resolve().parents[1])
    print(f"\n### Paired speed runs (CLUENER dev, {reps} scans per measure, {pairs} pairs)\n")
    print(
        "| pair | system | structured only, per CPU s (best) | names + addresses, per CPU s (median) | wall, 1 process | wall, 2 processes | load (1 min) |"
    )
    print("|---|---|---|---|---|---|---|")
    for k in range(pairs):
        for system, root in (("previous", str(previous)), ("new", here)):
            cmd = [sys.executable, "-W", "ignore", __file__, "--speed-json", "--reps", str(reps)]
            env = {**os.environ, "PYTHONPATH": root}
            got = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            m = json.loads(got.stdout.strip().splitlines()[-1])
            print(
                f"| {k + 1} | {system} | {m['structured_cpu_best']:,.0f} | {m['all_cpu_median']:,.0f} | {m['all_wall_median_1p']:,.0f} | {m['all_wall_median_2p']:,.0f} | {m['load_1min']:.1f} |"
            )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--side-by-side", action="store_true", help="previous vs new vs Presidio")
    ap.add_argument("--previous", type=Path, default=None, help="checkout of the previous scanner")
    ap.add_argument("--per-format", type=int, default=40)
    ap.add_argument("--metrics-json", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--speed-json", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--paired-speed", type=int, default=0, help="pairs of previous/new runs")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--per-entity", type=int, default=500)
    ap.add_argument("--rows", type=int, default=250_000)
    ap.add_argument("--structured-rows", type=int, default=None)
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--names-only", action="store_true", help="only the CLUENER dev tables")
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"shared data absent at {DATA}", file=sys.stderr)
        return 2
    if args.metrics_json:
        dev = load_cluener("dev.jsonl")
        sentences = [r["text"] for r in load_cluener("train.jsonl")]
        print(json.dumps(metrics(dev, sentences, args.per_format)))
        return 0
    if args.speed_json:
        print(json.dumps(speed_probe(load_cluener("dev.jsonl"), args.reps)))
        return 0
    if args.paired_speed:
        if args.previous is None:
            print("--paired-speed needs --previous", file=sys.stderr)
            return 2
        paired_speed(args.previous, args.paired_speed, args.reps)
        return 0
    if args.side_by_side:
        side_by_side(args.previous, args.per_format)
        return 0
    dev = load_cluener("dev.jsonl")
    sentences = [r["text"] for r in load_cluener("train.jsonl")]
    scanner = PiiScanner()
    print("## PII scanning benchmark\n")
    print(f"load averages (1, 5, 15 min) at the start: {os.getloadavg()}, {os.cpu_count()} CPUs")
    eval_cluener(scanner, dev)
    if args.names_only:
        return 0
    eval_generated(scanner, sentences, args.per_entity)
    if not args.skip_throughput:
        throughput(args.rows, args.structured_rows, sentences)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
