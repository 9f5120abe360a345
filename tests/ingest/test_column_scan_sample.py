"""The column-level scan looks at every distinct value, or at a uniform sample of cells."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _ingest_helpers import NOW, PURPOSE, Shop, make_policy

from privacy_profile.errors import InputError
from privacy_profile.ingest import KeyRing, sanitize
from privacy_profile.ingest.scan import column_scan_cells


@dataclass
class _Report:
    share: float

    def flags(self, threshold: float = 0.1) -> tuple[str, ...]:
        return ("CN_MOBILE",) if self.share >= threshold else ()


class _ColumnScanner:
    """Flags cells starting with 139 (the run stops at the column scan, before any redaction)."""

    def redact_series(self, series: pd.Series, *, replace: object = None) -> object:
        raise AssertionError("the column scan refuses first")

    def scan_column(self, series: pd.Series) -> _Report:
        return _Report(_share(series.astype("string")))


def _share(cells: pd.Series) -> float:
    return float(cells.str.startswith("139").mean())


def test_few_distinct_values_are_scanned_whole() -> None:
    s = pd.Series(["13900001111", "shoes", None] * 50_000, dtype="string")
    cells = column_scan_cells(s, bound=100)
    assert len(cells) == 100_000 and cells.equals(s.dropna())


def test_many_distinct_values_give_a_uniform_sample_of_cells() -> None:
    n = 200_000
    ids = pd.Series([f"13900{i:06d}" if i % 10 == 0 else f"SKU{i:07d}" for i in range(n)])
    ids[5] = None
    cells = column_scan_cells(ids.astype("string"), bound=20_000, seed=7)
    assert len(cells) == 20_000 and cells.index.is_monotonic_increasing
    assert cells.notna().all() and cells.index.is_unique
    assert abs(_share(cells) - 0.1) < 0.006  # 10 % identifiers: 95 % within +-0.42 pp
    again = column_scan_cells(ids.astype("string"), bound=20_000, seed=7)
    assert again.index.equals(cells.index)  # the test hook reproduces a sample
    unseeded = column_scan_cells(ids.astype("string"), bound=20_000)
    assert not unseeded.index.equals(cells.index)  # by default: fresh entropy, unpredictable
    assert abs(_share(unseeded) - 0.1) < 0.006


def test_sampled_share_decides_within_the_documented_error() -> None:
    rng = np.random.default_rng(3)
    n, bound = 400_000, 20_000
    for true_share, flagged in ((0.056, True), (0.044, False)):
        is_id = rng.random(n) < true_share
        vals = np.where(is_id, "139", "SKU") + pd.Series(np.arange(n)).astype(str).str.zfill(8)
        cells = column_scan_cells(pd.Series(vals, dtype="string"), bound=bound)
        assert (_share(cells) >= 0.05) is flagged


def test_sanitize_flags_a_kept_column_with_many_distinct_identifiers(
    shop: Shop, keys: KeyRing, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sanitize_module = importlib.import_module("privacy_profile.ingest.table_stage")
    seen: list[int] = []

    def small(series: pd.Series) -> pd.Series:
        cells = column_scan_cells(series, bound=5)
        seen.append(len(cells))
        return cells

    monkeypatch.setattr(sanitize_module, "column_scan_cells", small)
    ev = pd.read_csv(shop.dir / "events.csv", dtype=str)
    ev["category"] = [f"1390000{i:04d}" for i in range(len(ev))]
    ev.to_csv(shop.dir / "events.csv", index=False)
    with pytest.raises(InputError, match=r"events\.category.*CN_MOBILE"):
        sanitize(shop.dir, make_policy(), PURPOSE, keys, now=NOW, scanner=_ColumnScanner())  # type: ignore[arg-type]
    assert 5 in seen
