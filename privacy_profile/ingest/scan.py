"""Free-text scanning through an injected PII scanner (see :mod:`privacy_profile.pii`).

The ingest layer depends only on the small :class:`TextScanner` protocol. Without a scanner a
``scan`` column fails closed: it is dropped and the report says why; text never passes through
unscanned. Cells whose scan errored are blanked and counted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

__all__ = ["ColumnScan", "ScanOutcome", "ScanStageResult", "TextScanner", "scan_text_column"]


class ScanOutcome(Protocol):
    @property
    def series(self) -> pd.Series: ...
    @property
    def counts(self) -> Mapping[str, int]: ...
    @property
    def errored(self) -> pd.Index: ...


class ColumnScan(Protocol):
    def flags(self, threshold: float = ...) -> Sequence[str]: ...


class TextScanner(Protocol):
    """What ingest needs of a PII scanner (``privacy_profile.pii.PiiScanner`` fits)."""

    def redact_series(
        self, series: pd.Series, *, replace: Callable[[Any, str], str] | None = None
    ) -> ScanOutcome: ...

    def scan_column(self, series: pd.Series) -> ColumnScan: ...


@dataclass(frozen=True)
class ScanStageResult:
    series: pd.Series
    counts: dict[str, int]
    blanked: int


def scan_text_column(
    series: pd.Series,
    scanner: TextScanner,
    *,
    replace: Callable[[Any, str], str] | None = None,
) -> ScanStageResult:
    """Redact findings in ``series``; cells whose scan errored become missing (counted)."""
    result = scanner.redact_series(series, replace=replace)
    out = result.series.astype("string").reindex(series.index)
    errored = result.errored.intersection(series.index)
    blanked = int(series.loc[errored].notna().sum()) if len(errored) else 0
    if len(errored):
        out.loc[errored] = pd.NA
    # a cell that came back missing without being listed as errored is also counted
    lost = int((series.notna() & out.isna()).sum()) - blanked
    return ScanStageResult(out, {k: int(v) for k, v in result.counts.items()}, blanked + lost)
