"""Retention: rows older than the table's retention are excluded (and counted)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

__all__ = ["EXPIRED", "UNKNOWN", "RetentionParams", "retention_exclusions"]

EXPIRED = "retention_expired"
UNKNOWN = "retention_time_missing"


@dataclass(frozen=True)
class RetentionParams:
    days: int
    column: str | None
    now: dt.datetime


def retention_exclusions(frame: pd.DataFrame, params: RetentionParams) -> pd.Series:
    """Per row: ``retention_expired``, ``retention_time_missing`` or missing (kept)."""
    out = pd.Series(pd.NA, index=frame.index, dtype="string")
    if params.column is None:
        return out
    ts = frame[params.column]
    cutoff = pd.Timestamp(params.now) - pd.Timedelta(days=params.days)
    out[(ts < cutoff).fillna(False).to_numpy(dtype=bool)] = EXPIRED
    out[ts.isna().to_numpy(dtype=bool)] = UNKNOWN
    return out
