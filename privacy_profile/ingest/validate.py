"""Check a chunk against the policy: columns present, undeclared columns, value types.

A row whose value does not parse as the declared type, or that is missing a non-nullable value,
goes to quarantine with its record number, reason and column; it never disappears silently.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from privacy_profile.errors import InputError
from privacy_profile.ingest.locations import InputLocation
from privacy_profile.ingest.readers import MALFORMED, RawChunk
from privacy_profile.policy.model import (
    Column,
    ColumnType,
    Table,
    UndeclaredColumns,
    UnknownValues,
)

__all__ = [
    "FUTURE",
    "QUARANTINE_COLUMNS",
    "UNKNOWN_VALUE",
    "TableSchema",
    "Validated",
    "apply_value_map",
    "check_columns",
    "parse_column",
    "validate_chunk",
]

QUARANTINE_COLUMNS = ("_row", "_reason", "_column")
FUTURE = "future_timestamp"
_TIMES = frozenset({ColumnType.TIMESTAMP, ColumnType.DATE, ColumnType.UNIX_SECONDS})
UNKNOWN_VALUE = "unknown_value"

_TRUE = frozenset({"true", "t", "1", "yes", "y"})
_FALSE = frozenset({"false", "f", "0", "no", "n"})


@dataclass(frozen=True)
class TableSchema:
    """What validation needs of one table: its name, spec and file (for messages), and the
    run time (naive UTC) future dates are measured against (None: no future check)."""

    name: str
    spec: Table
    path: Path | InputLocation
    now: dt.datetime | None = None


@dataclass
class Validated:
    frame: pd.DataFrame  # declared columns only, typed; index = record number
    quarantine: pd.DataFrame  # raw string values + _reason + _column; index = record number
    reasons: Counter[str]
    unknown_values: Counter[str] = field(default_factory=Counter)  # per column (value maps)


def check_columns(columns: tuple[str, ...], schema: TableSchema) -> list[str]:
    """Raise on missing declared columns (or undeclared ones the policy refuses); return the
    undeclared columns to drop."""
    spec = schema.spec
    missing = [c for c in spec.columns if c not in columns]
    if missing:
        raise InputError(
            f"{schema.path}: table {schema.name!r} lacks declared column(s) "
            f"{', '.join(missing)} (found: {', '.join(columns) or 'none'})",
            hint="fix the file's header or the policy's column names",
        )
    undeclared = [c for c in columns if c not in spec.columns]
    if undeclared and spec.undeclared_columns is UndeclaredColumns.REFUSE:
        raise InputError(
            f"{schema.path}: table {schema.name!r} has undeclared column(s) "
            f"{', '.join(undeclared)} and the policy refuses undeclared columns",
            hint=f"declare them under tables.{schema.name}.columns (with a treatment) "
            "or remove them from the file",
        )
    return undeclared


def _datetime(s: pd.Series, fmt: str | None) -> pd.Series:
    parsed = pd.to_datetime(s, format=fmt or "ISO8601", errors="coerce", utc=True)
    return parsed.dt.tz_convert(None).astype("datetime64[us]")


def parse_column(s: pd.Series, col: Column) -> tuple[pd.Series, pd.Series]:
    """Parse a string series as ``col.type``: (parsed values, mask of unparsable cells)."""
    present = s.notna()
    t = col.type
    if t is ColumnType.STRING:
        return s.astype("string"), pd.Series(False, index=s.index)
    if t in (ColumnType.INTEGER, ColumnType.FLOAT, ColumnType.UNIX_SECONDS):
        num = pd.to_numeric(s.str.strip(), errors="coerce").astype("Float64")
        # inf, -inf and NaN are not numbers a row can be accepted with (NaN parses as NA)
        infinite = np.isinf(num.to_numpy(dtype="float64", na_value=np.nan))
        num = num.mask(infinite)
        bad = present & num.isna()
        if t is ColumnType.INTEGER:
            frac = (num % 1 != 0).fillna(False)
            bad = bad | frac
            return num.mask(bad).round().astype("Int64"), bad
        if t is ColumnType.FLOAT:
            return num.astype("Float64"), bad
        ts = pd.to_datetime(num.astype("float64"), unit="s", errors="coerce")
        return ts.astype("datetime64[us]"), bad | (present & ts.isna())
    if t is ColumnType.BOOLEAN:
        low = s.str.strip().str.lower()
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        out[low.isin(_TRUE).fillna(False)] = True
        out[low.isin(_FALSE).fillna(False)] = False
        return out, present & out.isna()
    ts = _datetime(s, col.format)
    if t is ColumnType.DATE:
        ts = ts.dt.normalize()
    return ts, present & ts.isna()


def apply_value_map(s: pd.Series, values: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    """Map raw values (stripped) to their declared meanings: (mapped values, mask of present
    cells whose value the map does not list). Maps each distinct value once."""
    codes, uniques = pd.factorize(s.astype("string").str.strip(), use_na_sentinel=True)
    meaning = np.asarray([values.get(str(u)) for u in uniques] + [None], dtype=object)
    mapped = meaning[codes]  # code -1 (missing) picks the trailing None
    unknown = (codes >= 0) & pd.isna(mapped)
    return (
        pd.Series(mapped, index=s.index, dtype="string"),
        pd.Series(unknown, index=s.index, dtype=bool),
    )


def validate_chunk(chunk: RawChunk, schema: TableSchema) -> Validated:
    """Type-check one chunk; rows failing a check go to quarantine (first reason wins)."""
    spec = schema.spec
    raw = chunk.frame[[c for c in spec.columns]]
    n = len(raw)
    reason = np.full(n, None, dtype=object)
    column = np.full(n, None, dtype=object)
    parsed: dict[str, pd.Series] = {}
    unknown_counts: Counter[str] = Counter()
    for name, col in spec.columns.items():
        cell = raw[name]
        unknown_mask = None
        if col.values is not None:
            cell, unknown = apply_value_map(cell, col.values)
            if unknown.any():
                unknown_counts[name] += int(unknown.sum())
                if col.unknown_values is UnknownValues.QUARANTINE:
                    unknown_mask = unknown.to_numpy(dtype=bool)
        values, bad = parse_column(cell, col)
        parsed[name] = values
        checks = [(bad.to_numpy(dtype=bool), f"bad_{col.type.value}")]
        if schema.now is not None and col.type in _TIMES:
            limit = schema.now + dt.timedelta(days=spec.future_tolerance_days)
            future = (values > pd.Timestamp(limit)).fillna(False).to_numpy(dtype=bool)
            checks.append((future, FUTURE))
        if unknown_mask is not None:
            checks.insert(0, (unknown_mask, UNKNOWN_VALUE))
        if not col.nullable:
            checks.insert(0, (raw[name].isna().to_numpy(dtype=bool), "missing_value"))
        for mask, why in checks:
            new = mask & (reason == None)  # noqa: E711 (numpy elementwise)
            reason[new] = why
            column[new] = name
    is_bad = reason != None  # noqa: E711
    frame = pd.DataFrame(parsed, index=raw.index)[~is_bad]
    quarantine = raw[is_bad].copy()
    quarantine["_reason"] = pd.array(reason[is_bad], dtype="string")
    quarantine["_column"] = pd.array(column[is_bad], dtype="string")
    reasons: Counter[str] = Counter(quarantine["_reason"].tolist())
    if chunk.malformed:
        mal = pd.DataFrame(
            {c: pd.Series([None] * len(chunk.malformed), dtype="string") for c in spec.columns}
        )
        mal.index = pd.Index([r for r, _ in chunk.malformed], dtype=np.int64, name="_row")
        mal["_reason"] = pd.array([MALFORMED] * len(mal), dtype="string")
        mal["_column"] = pd.array([None] * len(mal), dtype="string")
        quarantine = pd.concat([quarantine, mal]) if len(quarantine) else mal
        reasons[MALFORMED] += len(mal)
    return Validated(frame, quarantine, reasons, unknown_counts)
