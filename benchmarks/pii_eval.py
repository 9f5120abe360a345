# ruff: noqa: E501  (markdown table rows are printed on one line each)
"""PII scanner evaluation: accuracy on CLUENER dev and a generated set, and throughput.

Prints markdown tables. Usage::

    .venv/bin/python benchmarks/pii_eval.py [--per-entity 500] [--rows 250000] [--structured-rows N]

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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-entity", type=int, default=500)
    ap.add_argument("--rows", type=int, default=250_000)
    ap.add_argument("--structured-rows", type=int, default=None)
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--names-only", action="store_true", help="only the CLUENER dev tables")
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"shared data absent at {DATA}", file=sys.stderr)
        return 2
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
