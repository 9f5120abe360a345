"""Profile one sampled column: inferred type, distinct-count estimate, null share, text shape.

A profile holds statistics only (counts, shares, lengths), never a value, so it can be shown
and written anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from privacy_profile.policy.model import ColumnType

__all__ = ["TIME_FORMATS", "ColumnProfile", "profile_column"]

TIME_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y-%m-%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日",
    "%Y%m%d",
)
"""strftime formats tried when values are not ISO 8601 (``2026/11/03 12:00``, ``2026年11月3日``)."""

_INT = re.compile(r"^[+-]?\d+$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_BOOL = frozenset({"true", "false", "t", "f", "yes", "no", "y", "n", "0", "1"})


@dataclass(frozen=True)
class ColumnProfile:
    """Statistics of a column's sample.

    ``distinct_estimate`` extrapolates the sample's distinct count to the file (bias-corrected
    Chao1: D + f1 (f1 - 1) / (2 (f2 + 1)), f1 and f2 the values seen once and twice); it equals
    the sample's count when the sample is the whole file, and is None when every sampled value
    is distinct (the column is likely unique: no estimate is meaningful).
    """

    name: str
    rows: int
    null_share: float
    distinct: int
    distinct_estimate: int | None
    type: ColumnType
    format: str | None
    mean_length: float
    unique_in_sample: bool

    @property
    def non_null(self) -> int:
        return round(self.rows * (1 - self.null_share))


def _is_ts(values: pd.Series, fmt: str | None) -> bool:
    parsed = pd.to_datetime(values, format=fmt or "ISO8601", errors="coerce")
    return bool(parsed.notna().all())


def infer_type(values: pd.Series) -> tuple[ColumnType, str | None]:
    """The narrowest type every non-null sampled value parses as (and a time format)."""
    v = values.dropna().astype(str).str.strip()
    v = v[v != ""]
    if v.empty:
        return ColumnType.STRING, None
    distinct = pd.Series(v.unique())
    low = distinct.str.lower()
    if low.isin(_BOOL).all() and len(distinct) <= 2:
        return ColumnType.BOOLEAN, None
    if distinct.str.match(_INT).all():
        return ColumnType.INTEGER, None
    if pd.to_numeric(distinct, errors="coerce").notna().all():
        return ColumnType.FLOAT, None
    probe = distinct.head(500)
    if probe.str.match(_ISO_DATE).all():
        return ColumnType.DATE, None
    if probe.str.match(r"^\d{4}").all():
        if _is_ts(probe, None):
            return ColumnType.TIMESTAMP, None
        for fmt in TIME_FORMATS:
            if _is_ts(probe, fmt):
                has_time = "%H" in fmt
                return (ColumnType.TIMESTAMP if has_time else ColumnType.DATE), fmt
    return ColumnType.STRING, None


def profile_column(series: pd.Series, *, complete: bool) -> ColumnProfile:
    """Profile ``series`` (a sampled column); ``complete``: the sample is the whole file."""
    rows = len(series)
    present = series.dropna().astype(str)
    counts = present.value_counts()
    distinct = len(counts)
    f1 = int((counts == 1).sum())
    f2 = int((counts == 2).sum())
    estimate: int | None
    if complete or distinct == 0:
        estimate = distinct
    elif f1 == distinct:
        estimate = None
    else:
        estimate = round(distinct + f1 * (f1 - 1) / (2 * (f2 + 1)))
    typ, fmt = infer_type(present)
    return ColumnProfile(
        name=str(series.name),
        rows=rows,
        null_share=(rows - len(present)) / rows if rows else 0.0,
        distinct=distinct,
        distinct_estimate=estimate,
        type=typ,
        format=fmt,
        mean_length=float(present.str.len().mean()) if len(present) else 0.0,
        unique_in_sample=bool(distinct == len(present) and distinct > 1),
    )
