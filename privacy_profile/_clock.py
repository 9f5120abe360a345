"""The one clock of the library: an injectable ``Clock`` type, the UTC now, and naive-UTC
normalisation (stages compare naive UTC datetimes read from input files)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

__all__ = ["Clock", "utc_naive", "utcnow"]

Clock = Callable[[], dt.datetime]
"""Returns the current instant, timezone-aware (tests inject a fixed one)."""


def utcnow() -> dt.datetime:
    """The current instant in UTC, timezone-aware."""
    return dt.datetime.now(dt.UTC)


def utc_naive(t: dt.datetime | None = None) -> dt.datetime:
    """``t`` (default: now) as a naive UTC datetime; a naive ``t`` is taken as UTC already."""
    if t is None:
        return utcnow().replace(tzinfo=None)
    if t.tzinfo is None:
        return t
    return t.astimezone(dt.UTC).replace(tzinfo=None)
