"""Correction requests: which cells a subject may have corrected, checked against the policy.

A correction names ``table.column`` cells the policy lists under ``rights.correctable_columns``;
each value is type-checked as the column declares, so a later run never quarantines the
corrected row. The register keeps the values keyed by the subject's digest (never the raw id)
and every later run merges them into the raw rows before validation (see
:class:`privacy_profile.ingest.suppress.SubjectFilter`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from privacy_profile.errors import InputError
from privacy_profile.ingest.validate import parse_column
from privacy_profile.policy.model import ColumnRole, Policy

__all__ = ["Correction", "parse_corrections"]


@dataclass(frozen=True)
class Correction:
    """One corrected cell: the subject's rows of ``table`` get ``value`` in ``column``."""

    table: str
    column: str
    value: str


def parse_corrections(values: Mapping[str, str], policy: Policy) -> tuple[Correction, ...]:
    """Check ``{"table.column": value}`` against the policy; raise :class:`InputError` with the
    fix when a column is not correctable or a value does not parse as the column's type."""
    if not values:
        raise InputError(
            "a correction request needs at least one corrected value",
            hint="give --set TABLE.COLUMN=VALUE (a column listed in rights.correctable_columns)",
        )
    allowed = set(policy.rights.correctable_columns)
    out = []
    for key, value in sorted(values.items()):
        table, _, column = key.partition(".")
        spec = policy.tables.get(table)
        col = spec.columns.get(column) if spec is not None else None
        if key not in allowed or spec is None or col is None:
            shown = ", ".join(sorted(allowed)) or "none"
            raise InputError(
                f"column {key!r} cannot be corrected (correctable: {shown})",
                hint="list it under rights.correctable_columns in the policy",
            )
        if col.role is ColumnRole.DIRECT_IDENTIFIER or column == spec.subject_column:
            raise InputError(
                f"column {key!r} is an identifier and cannot be corrected through a request",
                hint="remove it from rights.correctable_columns",
            )
        _, bad = parse_column(pd.Series([value], dtype="string"), col)
        if bool(bad.iloc[0]) or not str(value).strip():
            raise InputError(
                f"corrected value for {key!r} is not a valid {col.type.value}",
                hint="give the value as the input files write it",
            )
        out.append(Correction(table=table, column=column, value=str(value)))
    return tuple(out)
