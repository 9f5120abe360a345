"""Free-text scanning through an injected PII scanner (see :mod:`privacy_profile.pii`).

The ingest layer depends only on the small :class:`TextScanner` protocol. Without a scanner a
``scan`` column fails closed: it is dropped and the report says why; text never passes through
unscanned. Cells whose scan errored are blanked and counted.

The column-level scan of ``keep`` string columns flags a column when the share of its cells
holding an identifier type reaches ``pii_scan.column_flag_share``. :func:`column_scan_cells`
chooses the cells to scan: all non-missing cells when they hold at most ``bound`` (20,000)
distinct values (the scanner scans each distinct value once and weighs it by its count, so the
share is exact), else a uniform random sample of ``bound`` cells drawn without replacement.
The sample is of cells, not of distinct values, because the rule is a share of cells: the
sampled share is then a plain proportion, within +-1.96 * sqrt(p(1-p)/n) of the column's share
at 95 % (n = 20,000, p = 5 %: +-0.30 percentage points), so a column at 5.3 % or more is
flagged with probability >= 97.5 % and one at 4.7 % or less with probability <= 2.5 %.
The sample is drawn with a generator seeded from the operating system's entropy, so that
nobody who controls the input can predict which cells are scanned and hide identifiers in the
others (fail closed); tests pass an explicit ``seed``. Two runs on a column whose share is
within the error band of the threshold may therefore decide differently.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

__all__ = [
    "COLUMN_SCAN_BOUND",
    "ColumnScan",
    "ScanOutcome",
    "ScanStageResult",
    "TextScanner",
    "column_scan_cells",
    "scan_text_column",
]

COLUMN_SCAN_BOUND = 20_000


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
    """The one PII-scanner protocol of the library: what ingestion, the engine and the release
    guard need of a scanner (``privacy_profile.pii.PiiScanner`` fits)."""

    def scan_texts(self, texts: Sequence[str | None]) -> Sequence[Sequence[Any]]: ...

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


def column_scan_cells(
    series: pd.Series, *, bound: int = COLUMN_SCAN_BOUND, seed: int | None = None
) -> pd.Series:
    """The non-missing cells of ``series`` to give the column scan: all of them when they hold
    at most ``bound`` distinct values, else ``bound`` cells drawn uniformly at random without
    replacement (in their original order). ``seed`` is a test hook: by default the sample is
    drawn from fresh OS entropy and cannot be predicted from the input."""
    values = series.dropna()
    if len(values) <= bound or values.nunique() <= bound:
        return values
    entropy = secrets.randbits(128) if seed is None else seed
    pick = np.random.default_rng(entropy).choice(len(values), size=bound, replace=False)
    return values.iloc[np.sort(pick)]
