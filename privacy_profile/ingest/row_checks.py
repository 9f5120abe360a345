"""Per-row checks of a sanitized table once every identifier of the run is indexed: a kept
cell holding a phone number or another user's identifier quarantines its row (one row never
refuses the run), a free-text cell still holding an indexed identifier is blanked, and rows of
subjects that k-anonymity suppressed in the subjects table are excluded from the other tables.
Redacted free text is re-scanned: a cell where PII remains outside the replacement tags is
blanked and counted (``rescan_cells_blanked``).

Every row ends accepted, excluded or quarantined with a reason, so the counts still reconcile;
the quarantine evidence of a checked row holds pseudonyms and keyed digests, never a raw value.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from privacy_profile.errors import ScanError
from privacy_profile.ingest.report import TableReportBuilder
from privacy_profile.ingest.scan import TextScanner
from privacy_profile.ingest.table_stage import (
    INPUT_IDENTIFIER,
    K_SUBJECT_SUPPRESSED,
    IngestRun,
    blank_indexed,
    quarantine_digest,
)
from privacy_profile.policy.model import ColumnType, Keep, Pseudonymize, Scan, Table, Tokenize
from privacy_profile.policy.rules import sensitive_columns

__all__ = [
    "KEPT_IDENTIFIER",
    "KEPT_PHONE",
    "check_rows",
    "exclude_subjects",
    "phone_cells",
    "rescan",
]

KEPT_IDENTIFIER = "kept_identifier"
"""A kept (or typed) cell equals or holds a direct identifier read from the input."""
KEPT_PHONE = "kept_phone_number"
"""A kept string cell holds a mobile phone number (whoever's it is)."""

_Finder = Callable[[Sequence[str]], npt.NDArray[np.bool_]]
_SEPARATORS = r"[\s\-().+]"
_MOBILE = r"^(?:0086|86)?1[3-9][0-9]{9}$"


def phone_cells(texts: Sequence[str]) -> npt.NDArray[np.bool_]:
    """True where a text holds a mainland mobile number (11 digits ``1[3-9]...``, an optional
    ``+86``/``0086``/``86`` prefix, separators ``space - ( ) . +`` between digits, full-width
    digits folded) as a whole run of digits not glued to an ASCII letter or to more digits,
    as the identifier index reads phone numbers."""
    out = np.zeros(len(texts), dtype=bool)
    if not len(texts):
        return out
    joined = pc.utf8_normalize(pa.array(list(texts), pa.string()), "NFKC")
    for _ in range(2):  # a match consumes its digits: two passes join "1 2 3"
        joined = pc.replace_substring_regex(joined, rf"([0-9]){_SEPARATORS}+([0-9])", r"\1\2")
    tokens = pc.split_pattern_regex(joined, r"[^0-9A-Za-z]+")
    parents = np.asarray(pc.list_parent_indices(tokens), dtype=np.int64)
    flat = pc.list_flatten(tokens)
    hit = np.asarray(pc.match_substring_regex(flat, _MOBILE).fill_null(False), dtype=bool)
    out[parents[hit]] = True
    return out


def _row_hits(s: pd.Series, find: _Finder) -> npt.NDArray[np.bool_]:
    """Rows of ``s`` whose text is flagged by ``find`` (called once on the distinct texts)."""
    present = s.dropna()
    if not len(present):
        return np.zeros(len(s), dtype=bool)
    text = present.astype("string")
    distinct = [str(v) for v in pd.unique(text)]
    flagged = find(distinct)
    bad = {v for v, f in zip(distinct, flagged, strict=True) if f}
    if not bad:
        return np.zeros(len(s), dtype=bool)
    hits: npt.NDArray[np.bool_] = s.astype("string").isin(bad).fillna(False).to_numpy(dtype=bool)
    return hits


def _indexed(run: IngestRun) -> _Finder:
    def find(texts: Sequence[str]) -> npt.NDArray[np.bool_]:
        found = run.identifiers.find(texts)
        if not found:
            return np.zeros(len(texts), dtype=bool)
        return np.asarray(np.logical_or.reduce(list(found.values())), dtype=bool)

    return find


_TAG = re.compile(r"<[^<>]*>")
RESCAN_ERROR = "SCAN_ERROR"


def rescan(scanner: TextScanner, text: pd.Series) -> tuple[pd.Series, Counter[str]]:
    """Re-scan redacted free text: a cell where the scanner still finds PII outside the
    replacement tags (``<PHONE_NUMBER>``, ``<CN_PHONE:3f2a...>``) is blanked. Returns the text
    and the blanked cells per entity type (the first residual finding of each cell); if the
    re-scan fails, every cell is blanked (``SCAN_ERROR``): fail closed."""
    present = text.dropna()
    if not len(present):
        return text, Counter()
    distinct = [str(v) for v in pd.unique(present.astype("string"))]
    try:
        found = scanner.scan_texts(distinct)
    except ScanError:
        n = int(text.notna().sum())
        return text.mask(text.notna()), Counter({RESCAN_ERROR: n})
    residual: dict[str, str] = {}
    for value, findings in zip(distinct, found, strict=True):
        tags = [m.span() for m in _TAG.finditer(value)]
        for f in findings:
            start, end = int(f.start), int(f.end)
            if not any(a <= start and end <= b for a, b in tags):
                residual[value] = str(f.entity_type)
                break
    if not residual:
        return text, Counter()
    as_text = text.astype("string")
    bad = as_text.isin(list(residual)).fillna(False).to_numpy(dtype=bool)
    counts = Counter(str(residual[str(v)]) for v in as_text[bad])
    return text.mask(bad), counts


def _evidence(run: IngestRun, name: str, spec: Table, rows: pd.DataFrame) -> pd.DataFrame:
    """Quarantine evidence of sanitized rows: pseudonyms kept; tokens, free text and sensitive
    values blanked; every other value (kept, typed, generalized) as a keyed digest."""
    q = rows.copy()
    sensitive = {c for t, c in sensitive_columns(run.policy) if t == name}
    for c in q.columns:
        col = spec.columns.get(c)
        t = None if col is None else col.treatment
        if isinstance(t, Pseudonymize):
            continue
        if isinstance(t, Tokenize | Scan) or c in sensitive:
            q[c] = pd.Series(pd.NA, index=q.index, dtype="string")
        else:
            q[c] = quarantine_digest(run, q[c])
    q.index = q.index.rename("_row")
    q = q.reset_index()
    q["_row"] = q["_row"].astype("int64")
    return q


def check_rows(
    run: IngestRun, name: str, spec: Table, frame: pd.DataFrame, rb: TableReportBuilder
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of ``frame`` that pass, and the quarantine evidence of those that do not.

    A kept or typed cell holding an identifier read anywhere in the run quarantines its row
    (``kept_identifier``); a kept string cell holding a mobile phone number quarantines its
    row (``kept_phone_number``): below the column scan's threshold such cells would otherwise
    pass into the sanitized tables. Scanned free-text cells still holding an indexed identifier
    are blanked (``INPUT_IDENTIFIER``). Pseudonym and token columns are not checked.
    """
    reason = pd.Series(pd.NA, index=frame.index, dtype="string")
    column = pd.Series(pd.NA, index=frame.index, dtype="string")
    indexed = _indexed(run)
    for c in frame.columns:
        col = spec.columns.get(c)
        if col is None or isinstance(col.treatment, Pseudonymize | Tokenize):
            continue
        s = frame[c]
        if isinstance(col.treatment, Scan):
            text, missed = blank_indexed(run.identifiers, s)
            if missed:
                rb.scan_findings.setdefault(c, Counter())[INPUT_IDENTIFIER] += missed
                rb.scan_cells_blanked[c] += missed
            if run.scanner is not None:
                text, residual = rescan(run.scanner, text)
                if residual:
                    rb.rescan_cells_blanked.setdefault(c, Counter()).update(residual)
            frame = frame.assign(**{c: text})
            continue
        if not (pd.api.types.is_string_dtype(s) or s.dtype == object):
            continue
        checks: list[tuple[str, _Finder]] = [(KEPT_IDENTIFIER, indexed)]
        if isinstance(col.treatment, Keep) and col.type is ColumnType.STRING:
            checks.append((KEPT_PHONE, phone_cells))
        for why, find in checks:
            hit = _row_hits(s, find) & reason.isna().to_numpy(dtype=bool)
            if hit.any():
                reason[hit] = why
                column[hit] = c
    bad = reason.notna().to_numpy(dtype=bool)
    if not bad.any():
        return frame, frame.iloc[:0]
    for why, n in reason[bad].value_counts().items():
        rb.quarantine(str(why), int(n))
    q = _evidence(run, name, spec, frame[bad])
    q["_reason"] = reason[bad].to_numpy()
    q["_column"] = column[bad].to_numpy()
    return frame[~bad], q


def exclude_subjects(
    frame: pd.DataFrame, subject_column: str, suppressed: Collection[str], rb: TableReportBuilder
) -> pd.DataFrame:
    """``frame`` without the rows of subjects k-anonymity suppressed in the subjects table
    (excluded as ``k_anonymity_subject_suppressed``, counted)."""
    if not suppressed or subject_column not in frame.columns or not len(frame):
        return frame
    gone = frame[subject_column].astype("string").isin(suppressed).fillna(False)
    gone_arr = gone.to_numpy(dtype=bool)
    rb.exclude(K_SUBJECT_SUPPRESSED, int(gone_arr.sum()))
    return frame[~gone_arr]
