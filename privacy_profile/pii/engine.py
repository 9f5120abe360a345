"""The offline analyzer and the PII scanner used by sanitize.

:func:`build_analyzer` returns a presidio :class:`AnalyzerEngine` that never downloads: the
``no_op`` NLP engine (no tokens, no lemmas) with our recognizers registered for ``zh`` (cells
holding Han characters) and ``en`` (all other cells). Our recognizers look for context words
themselves in a character window, so they need no NLP artifacts (see ``recognizers/_base``).

:class:`PiiScanner` wraps it for columns: a vectorized pre-filter (cells without a digit,
``@``, Han character, IPv6 colon or id-like token cannot hold a finding and skip the
analyzer), de-duplication of repeated texts, batches, and two worker processes when enough
distinct texts remain. A cell whose scan raises is dropped and counted (fail closed).
"""

from __future__ import annotations

import multiprocessing
import re
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from privacy_profile.errors import ScanError
from privacy_profile.pii._presidio import (
    AnalyzerEngine,
    RecognizerResult,
)
from privacy_profile.pii.analyzer import HAN_SCRIPT, build_analyzer, default_tag, route
from privacy_profile.pii.fold import fold, fold_candidates, map_span
from privacy_profile.pii.lac import LacTagger
from privacy_profile.pii.recognizers import (
    RECOGNIZERS,
    ContextPatternRecognizer,
    default_entities,
)
from privacy_profile.pii.recognizers._base import Match
from privacy_profile.pii.spans import (
    Raw,
    apply_replacements,
    remove_duplicates,
    resolve_overlaps,
)
from privacy_profile.pii.types import ColumnScanReport, Finding, Language, ScanConfig, ScanResult

__all__ = [
    "PREFILTER_PATTERN",
    "PiiScanner",
    "build_analyzer",
    "default_tag",
    "route",
]

#: A cell that matches none of these cannot hold a finding of our recognizers.
PREFILTER_PATTERN = (
    r"[0-9０-９@＠\u3400-\u9fff\uf900-\ufaff\u2460-\u249b]"
    r"|[0-9A-Fa-f]*::?[0-9A-Fa-f]*:"
    r"|(?i:wechat|weixin|wxid|vx|wx|qq)"
    r"|o[A-Za-z_\-]{27}"
    r"|(?i:[ (\[]at[ )\]])"  # "zhang at qq dot com" (folded before matching)
)
_PREFILTER = re.compile(PREFILTER_PATTERN)
_RE2_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")  # RE2 has no \uXXXX: use the character
_CAPITALIZED = r"|[A-Z][a-z]"  # English name candidates, only with a spaCy model


#: A Han text costs about this many non-Han texts (name model, jieba): the weight of Han
#: texts when deciding whether two processes pay off (``ScanConfig.parallel_min_texts``).
HAN_TEXT_WEIGHT = 20


def _arrow_mask(arr: pa.Array, pattern: str) -> np.ndarray:
    """Which strings of ``arr`` the RE2 ``pattern`` matches somewhere (a numpy bool array)."""
    rx = _RE2_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), pattern)
    hit = pc.match_substring_regex(arr, pattern=rx)
    return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)


# Worker-process state (fork start method: the parent's scanner is inherited).
_WORKER: PiiScanner | None = None


def _worker_scan(batch: list[str]) -> list[list[Finding] | None]:
    """One batch in a worker: the name model over the batch, then each text."""
    assert _WORKER is not None
    return _WORKER._scan_primed(batch)


class PiiScanner:
    """Scan and redact text cells with the offline analyzer (see the module docstring)."""

    def __init__(self, config: ScanConfig | None = None, *, analyzer: AnalyzerEngine | None = None):
        self.config = config or ScanConfig()
        self.entities: tuple[str, ...] = self.config.entities or (
            (*default_entities(), "PERSON") if self.config.english_model else default_entities()
        )
        cfg = self.config
        self._threshold = {e: cfg.threshold(e) for e in RECOGNIZERS}
        self.analyzer = analyzer or build_analyzer(
            self.entities,
            english_model=cfg.english_model,
            score_threshold=min([cfg.score_threshold, *cfg.thresholds.values()]),
            names=cfg.names,
        )
        #: The LAC tagger the analyzer's recognizers share (None: no model recognizer). It
        #: holds tags only while a batch is scanned (primed, then cleared).
        taggers = [getattr(r, "tagger", None) for r in self.analyzer.registry.recognizers]
        self.tagger: LacTagger | None = next((t for t in taggers if isinstance(t, LacTagger)), None)
        by_lang: dict[Language, list[str]] = {lang: [] for lang in Language}
        for e in self.entities:
            for lang in RECOGNIZERS[e].LANGUAGES:
                by_lang[Language(lang)].append(e)
        self._entities_by_lang = by_lang
        pattern = PREFILTER_PATTERN + (_CAPITALIZED if "PERSON" in self.entities else "")
        self._prefilter_pattern = pattern
        self._prefilter = re.compile(pattern)
        self._fast = self._fast_recognizers()
        self._families = self._whole_cell_families()
        self._finding_cache: dict[Raw, Finding] = {}

    def _fast_recognizers(
        self,
    ) -> dict[Language, list[tuple[ContextPatternRecognizer, re.Pattern[str] | None]]] | None:
        """The analyzer's recognizers per language with their pre-filters, for the fast path.

        None (use ``AnalyzerEngine.analyze``) when the analyzer holds a recognizer that is not
        one of ours: only ours are known to ignore NLP artifacts and score their own context.
        """
        recognizers = list(self.analyzer.registry.recognizers)
        if not all(isinstance(r, ContextPatternRecognizer) for r in recognizers):
            return None
        fast: dict[Language, list[tuple[ContextPatternRecognizer, re.Pattern[str] | None]]] = {}
        for lang in Language:
            wanted = set(self._entities_by_lang[lang])
            fast[lang] = [
                (r, r.prefilter())
                for r in recognizers
                if isinstance(r, ContextPatternRecognizer)
                and r.supported_language == lang.value
                and r.ENTITY in wanted
            ]
        return fast

    def _whole_cell_families(self) -> list[tuple[ContextPatternRecognizer, str]]:
        """Recognizers with a whole-cell form, each with the other recognizers' pre-filters.

        A cell that fully matches a recognizer's ``WHOLE_CELL`` and is ASCII (so routed to
        ``en``), and that none of the other ``en`` recognizers' pre-filters matches, can only
        hold that recognizer's findings (a pre-filter is implied by every finding: tested), so
        a column's such cells are scored together by ``whole_cells`` instead of one by one.
        Empty when a recognizer without a pre-filter is present (it could fire anywhere).
        """
        if self._fast is None:
            return []
        en = self._fast[Language.EN]
        if any(pre is None for _, pre in en):
            return []
        families = []
        for rec, _ in en:
            if rec.WHOLE_CELL is None:
                continue
            others = [pre.pattern for r, pre in en if r is not rec and pre is not None]
            families.append((rec, "|".join(f"(?:{o})" for o in others)))
        return families

    # -- one text --------------------------------------------------------------------------
    def _scan_one(self, text: str, may_fold: bool = True) -> list[Finding]:
        """Findings of one text, evasive forms folded first (spans in ``text``); ``may_fold``
        False: the caller knows folding leaves it unchanged (:func:`fold_candidates`)."""
        if self.config.normalize and may_fold:
            folded, index = fold(text)
            if index is not None:
                return [
                    Finding(f.entity_type, *map_span(index, f.start, f.end), f.score, f.recognizer)
                    for f in self._scan_plain(folded)
                ]
        return self._scan_plain(text)

    def _scan_plain(self, text: str) -> list[Finding]:
        """Findings of one text: the fast path when available, else the presidio path."""
        if self._fast is None or self.config.engine == "presidio":
            return self._scan_one_presidio(text)
        return self._scan_one_fast(text)

    def _scan_one_fast(self, text: str) -> list[Finding]:
        """Our recognizers called directly, each only when its pre-filter matches.

        Same results as :meth:`_scan_one_presidio` (tested): ``AnalyzerEngine.analyze`` adds
        nothing for our recognizers but the threshold filter and ``remove_duplicates``
        (replayed on plain tuples here), and costs ~0.3 ms per call (registry look-up, NLP
        artifacts, context enhancer, tracing, result objects).
        """
        assert self._fast is not None
        raw: list[Raw] = []
        for rec, pre in self._fast[route(text)]:
            if pre is not None and pre.search(text) is None:
                continue
            name = type(rec).__name__
            threshold = self._threshold[rec.ENTITY]
            raw.extend(
                (rec.ENTITY, s, e, score, name)
                for s, e, score, _ in rec.matches(text)
                if score >= threshold
            )
        return self._post(raw)

    def _post(self, raw: list[Raw]) -> list[Finding]:
        """Findings from raw matches: presidio's de-duplication, then overlap resolution."""
        if not raw:
            return []
        if len(raw) > 1:
            raw = remove_duplicates(raw)
        cache = self._finding_cache
        findings = []
        for r in raw:
            f = cache.get(r)
            if f is None:
                f = cache[r] = Finding(
                    entity_type=r[0], start=r[1], end=r[2], score=float(r[3]), recognizer=r[4]
                )
            findings.append(f)
        return resolve_overlaps(findings) if len(findings) > 1 else findings

    def _scan_one_presidio(self, text: str) -> list[Finding]:
        """The reference path: ``AnalyzerEngine.analyze`` with our registry."""
        lang = route(text)
        wanted = self._entities_by_lang[lang]
        if not wanted:
            return []
        results = self.analyzer.analyze(
            text=text,
            language=lang.value,
            entities=wanted,
            score_threshold=min(self._threshold[e] for e in wanted),
        )
        threshold = self._threshold
        return self._findings([r for r in results if r.score >= threshold[r.entity_type]])

    @staticmethod
    def _findings(results: list[RecognizerResult]) -> list[Finding]:
        findings = [
            Finding(
                entity_type=r.entity_type,
                start=r.start,
                end=r.end,
                score=float(r.score),
                recognizer=str((r.recognition_metadata or {}).get("recognizer_name", "")),
            )
            for r in results
        ]
        return resolve_overlaps(findings)

    def _scan_one_safe(self, text: str, may_fold: bool = True) -> list[Finding] | None:
        try:
            return self._scan_one(text, may_fold)
        except Exception:  # fail closed: the caller drops and counts the cell
            return None

    def may_hold_pii(self, text: str) -> bool:
        """The pre-filter for one text (the vectorized form is used on series)."""
        return self._prefilter.search(text) is not None

    # -- many texts ------------------------------------------------------------------------
    def _scan_whole_cells(
        self, texts: np.ndarray, out: list[list[Finding] | None], done: np.ndarray
    ) -> None:
        """Score the cells that are one identifier and nothing else, family by family.

        ``texts`` are distinct; results go to ``out`` and ``done`` at the same positions.
        The shape and pre-filter tests run column-wide in Arrow (RE2; on ASCII cells it
        agrees with Python's ``re`` for these patterns: tested), the scoring per family.
        A family that raises leaves its cells to the per-text path (which fails closed).
        """
        arr = pa.array(texts, type=pa.large_string())
        ascii_ = np.asarray(pc.string_is_ascii(arr).to_numpy(zero_copy_only=False), dtype=bool)
        for rec, others in self._families:
            try:
                assert rec.WHOLE_CELL is not None
                shaped = _arrow_mask(arr, f"^(?:{rec.WHOLE_CELL})$")
                candidate = shaped & ascii_ & ~done
                pos = np.flatnonzero(candidate)
                if not len(pos):
                    continue
                sub = arr.take(pa.array(pos))
                pos = pos[~_arrow_mask(sub, others)] if others else pos
                cells = [str(texts[i]) for i in pos]
                name = type(rec).__name__
                entity = rec.ENTITY
                threshold = self._threshold[entity]
                memo: dict[tuple[Match, ...], list[Finding]] = {}
                results = []
                for ms in rec.whole_cells(cells):
                    key = tuple(ms)
                    r = memo.get(key)
                    if r is None:
                        raw = [(entity, s, e, sc, name) for s, e, sc, _ in ms if sc >= threshold]
                        r = memo[key] = self._post(raw)
                    results.append(r)
            except Exception:  # fail closed: the per-text path takes these cells
                continue
            for i, r in zip(pos, results, strict=True):
                out[i] = r
            done[pos] = True

    def _scan_distinct(self, texts: np.ndarray) -> list[list[Finding] | None]:
        """Findings of distinct, pre-filtered texts (None where the scan failed).

        Whole-cell identifiers are scored per family; the rest one text at a time, in one
        process or, when ``processes=2`` and the work is large enough, two forked workers.
        """
        n = len(texts)
        out: list[list[Finding] | None] = [None] * n
        done = np.zeros(n, dtype=bool)
        if n and self._families:
            self._scan_whole_cells(texts, out, done)
        rest_pos = np.flatnonzero(~done)
        rest = [str(texts[i]) for i in rest_pos]
        for i, r in zip(rest_pos, self._scan_list(rest), strict=True):
            out[i] = r
        return out

    def _scan_primed(self, texts: list[str]) -> list[list[Finding] | None]:
        """Scan ``texts`` one at a time after one batched name-model pass over them (the
        model's tags are dropped afterwards: no state outlives the call)."""
        may_fold = fold_candidates(texts) if self.config.normalize else [False] * len(texts)
        try:
            self._prime(texts, may_fold)
            return [self._scan_one_safe(t, f) for t, f in zip(texts, may_fold, strict=True)]
        finally:
            if self.tagger is not None:
                self.tagger.clear()

    def _prime(self, texts: list[str], may_fold: list[bool]) -> None:
        """Run the name model on the Han texts of ``texts`` in batches (before the per-text
        scan reads its tags). A failure here leaves the texts unprimed: each then runs the
        model alone and fails closed on its own."""
        if self.tagger is None:
            return
        try:
            self.tagger.prime(
                fold(t)[0] if f else t
                for t, f in zip(texts, may_fold, strict=True)
                if HAN_SCRIPT.search(t)
            )
        except Exception:
            self.tagger.clear()

    def _work(self, texts: list[str]) -> int:
        """The work in ``texts`` counted in non-Han texts (a Han text is ``HAN_TEXT_WEIGHT``)."""
        n_han = sum(1 for t in texts if HAN_SCRIPT.search(t))
        return len(texts) + (HAN_TEXT_WEIGHT - 1) * n_han

    def _scan_list(self, texts: list[str]) -> list[list[Finding] | None]:
        """Scan texts one at a time, in 1 or 2 processes (fail closed per text).

        With two processes each worker runs the name model on its own batches, so the
        model (most of the cost of Han text) runs on both cores too.
        """
        use_pool = (
            self.config.processes == 2
            and len(texts) > 1
            and "fork" in multiprocessing.get_all_start_methods()
            and self._work(texts) >= self.config.parallel_min_texts
        )
        if not use_pool:
            return self._scan_primed(texts)
        # Chunks small enough to keep both workers busy to the end (Han texts vary ~10x in
        # cost), large enough for the model's batches (texts of one length share a call).
        size = max(1, min(self.config.batch_size, -(-len(texts) // 8)))
        batches = [texts[i : i + size] for i in range(0, len(texts), size)]
        global _WORKER
        _WORKER = self
        try:
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(2) as pool:
                return [r for res in pool.imap(_worker_scan, batches) for r in res]
        finally:
            _WORKER = None

    def _factorized(
        self, values: pd.Series
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[list[Finding] | None]]:
        """(codes, distinct texts, candidate mask, findings per distinct text).

        ``values`` are texts (no missing values); findings are ``[]`` for non-candidates
        (one shared empty list: read-only).
        """
        codes, uniques = pd.factorize(values)
        distinct = np.asarray(uniques, dtype=object)
        if not len(distinct):
            return codes, distinct, np.zeros(0, dtype=bool), []
        prefilter = self._prefilter.search
        cand = np.fromiter(
            (prefilter(t) is not None for t in distinct), dtype=bool, count=len(distinct)
        )
        none: list[Finding] = []
        found: list[list[Finding] | None] = [none] * len(distinct)
        cand_pos = np.flatnonzero(cand)
        for i, r in zip(cand_pos, self._scan_distinct(distinct[cand_pos]), strict=True):
            found[i] = r
        return codes, distinct, cand, found

    def scan_texts(self, texts: Sequence[str | None]) -> list[list[Finding]]:
        """Findings for each text (empty for None). Raises :class:`ScanError` if one fails."""
        present = [i for i, t in enumerate(texts) if t is not None]
        values = pd.Series([str(texts[i]) for i in present], dtype=object)
        codes, _, _, found = self._factorized(values)
        failed = [present[k] for k, c in enumerate(codes) if found[c] is None]
        if failed:
            raise ScanError(
                f"the scan failed on {len(failed)} text(s) (positions {failed[:5]})",
                hint="use redact_series, which drops and counts cells whose scan fails",
            )
        out: list[list[Finding]] = [[] for _ in texts]
        for k, c in enumerate(codes):
            out[present[k]] = list(found[c] or [])
        return out

    def redact_series(
        self,
        series: pd.Series,
        *,
        replace: Callable[[Finding, str], str] | None = None,
    ) -> ScanResult:
        """Replace every finding; cells whose scan errored become None and are listed.

        ``replace(finding, matched_text)`` returns the replacement (default: ``<TYPE>``);
        the ingestion layer passes one that returns a domain pseudonym.
        """
        replace = replace or default_tag
        notna = series.notna().to_numpy(dtype=bool)
        text_pos = np.flatnonzero(notna)  # positional throughout: labels may repeat
        as_text = series[notna].astype(str)
        codes, distinct, cand, found = self._factorized(as_text)
        n_distinct = len(distinct)
        errored_u = np.fromiter((fs is None for fs in found), dtype=bool, count=n_distinct)
        hit_u = np.fromiter((bool(fs) for fs in found), dtype=bool, count=n_distinct)
        # Counts per cell: a distinct text's findings times the number of cells holding it.
        mult = np.bincount(codes, minlength=n_distinct)
        by_types: Counter[tuple[str, ...]] = Counter()
        for u in np.flatnonzero(hit_u):
            fs = found[u]
            assert fs is not None
            by_types[tuple(f.entity_type for f in fs)] += int(mult[u])
        counts: Counter[str] = Counter()
        for types, n in by_types.items():
            for t in types:
                counts[t] += n
        values = series.to_numpy(dtype=object, copy=True)
        cell_hit = hit_u[codes] if len(codes) else np.zeros(0, dtype=bool)
        if replace is default_tag:
            new_u = np.empty(n_distinct, dtype=object)
            for u in np.flatnonzero(hit_u):
                new_u[u] = apply_replacements(distinct[u], found[u] or [], replace)
            values[text_pos[cell_hit]] = new_u[codes[cell_hit]]
        else:  # the caller's replace (a pseudonymizer) is called once per cell
            for k in np.flatnonzero(cell_hit):
                u = codes[k]
                values[text_pos[k]] = apply_replacements(distinct[u], found[u] or [], replace)
        cell_err = errored_u[codes] if len(codes) else np.zeros(0, dtype=bool)
        err_pos = text_pos[cell_err]
        values[err_pos] = None
        out = pd.Series(values, index=series.index, name=series.name, dtype=object)
        scanned = int(cand[codes].sum()) if len(codes) else 0
        return ScanResult(
            series=out,
            counts=dict(counts),
            errored=pd.Index(series.index[err_pos]),
            cells_scanned=scanned,
            cells_skipped=int(notna.sum()) - scanned,
        )

    def scan_column(self, series: pd.Series, *, max_cells: int | None = None) -> ColumnScanReport:
        """Share of cells holding each identifier type (for flagging undeclared columns).

        ``max_cells`` scans that many evenly spaced non-missing cells instead of all.
        """
        values = series.dropna().astype(str)
        if max_cells is not None and len(values) > max_cells:
            step = len(values) / max_cells
            values = values.iloc[[int(i * step) for i in range(max_cells)]]
        codes, _, _, found = self._factorized(values)
        mult = np.bincount(codes, minlength=len(found))
        cells_with: Counter[str] = Counter()
        errored = 0
        for u, findings in enumerate(found):
            if findings is None:
                errored += int(mult[u])
                continue
            for e in {f.entity_type for f in findings}:
                cells_with[e] += int(mult[u])
        name = None if series.name is None else str(series.name)
        return ColumnScanReport(
            column=name, cells=len(values), cells_with=dict(cells_with), errored=errored
        )
