"""DP k-means on SparkUnitRows: each Lloyd iteration is one fold on the cluster (k x (d+1)
numbers per partition back), the ledger charge, noise and centre update on the driver. A
seeded release on Spark is the pandas release: same centroids, DP sizes, records and ledger
charges; each iteration is charged before its fold and noise; a huge epsilon gives plain
Lloyd; diffprivlib and missing values are refused before any charge. Small frames and two
iterations keep the file to seconds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from privacy_profile.dp import Bounds, BudgetLedger, BudgetWindow, DPRandom, PrivacyLoss
from privacy_profile.errors import InputError, PolicyError
from privacy_profile.segments._common import ReleaseContext
from privacy_profile.segments.kmeans import (
    KMeansFeatureParams,
    KMeansMethod,
    KMeansParams,
    KMeansPopulation,
    nearest,
    release_kmeans,
    scale_features,
)
from privacy_profile.segments.units import UnitLabels, as_series
from privacy_profile.spark.units import SparkUnitRows

pytestmark = pytest.mark.slow

FEATURES = (
    KMeansFeatureParams(name="a", bounds=Bounds(lower=0.0, upper=1.0)),
    KMeansFeatureParams(name="b", bounds=Bounds(lower=0.0, upper=10.0)),
    KMeansFeatureParams(name="c", bounds=Bounds(lower=0.0, upper=1000.0), log1p=True),
)
STARTS = np.array([[0.3, 0.3, 0.3], [0.7, 0.4, 0.5], [0.5, 0.7, 0.7]])
KEEP = KMeansPopulation(("a", "b", "c"), paid_only=True)


def ctx(seed: int = 5) -> ReleaseContext:
    return ReleaseContext(
        ledger=BudgetLedger.in_memory(
            dataset="k", budget=PrivacyLoss(epsilon=2e9), window=BudgetWindow.lifetime()
        ),
        run_id="r",
        rng=DPRandom.for_testing(seed),
        unit_column="u",
        threshold=5,
    )


def params(iterations: int = 3, method: KMeansMethod = KMeansMethod.LLOYD) -> KMeansParams:
    return KMeansParams(k=3, features=FEATURES, iterations=iterations, method=method)


def features(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Three blobs in original units, one row per unit; some units without an order
    (frequency 0) or without ``c`` (outside the k-means population)."""
    g = np.random.default_rng(seed)
    means = np.array([[0.2, 0.2, 0.2], [0.8, 0.3, 0.6], [0.4, 0.8, 0.8]])
    x = np.clip(means[g.integers(0, 3, n)] + g.normal(0, 0.05, (n, 3)), 0, 1)
    c = np.expm1(x[:, 2] * np.log1p(1000.0))
    c[g.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "u": [f"u{i:05d}" for i in range(n)],
            "a": x[:, 0],
            "b": x[:, 1] * 10.0,
            "c": c,
            "frequency": g.integers(0, 4, n).astype(np.int64),
        }
    )


def on_spark(spark: Any, frame: pd.DataFrame) -> SparkUnitRows:
    # three partitions: each iteration sums three per-partition arrays
    rows = SparkUnitRows.of_pandas(spark, frame)
    return SparkUnitRows(rows.frame.repartition(3))


def charges(c: ReleaseContext) -> list[tuple[str, float, float]]:
    return [(x.label, x.epsilon, x.sensitivity) for x in c.ledger.charges_for_run("r")]


def test_seeded_release_on_spark_is_the_pandas_release(
    spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random starts (drawn from the DP stream first), two iterations; a spy on the Spark run
    records that each iteration's fold and noise come after its charge."""
    f = features()
    pop = f.loc[KEEP(f)]  # as the k-means runner filters a pandas table
    assert 0 < len(pop) < len(f)
    a, b = ctx(seed=13), ctx(seed=13)
    want = release_kmeans(pop, params(iterations=2), loss=PrivacyLoss(epsilon=3.0), ctx=a)

    seen: list[tuple[str, float]] = []
    orig_noise = DPRandom.discrete_laplace
    orig_fold = SparkUnitRows.fold

    def noise(self: DPRandom, scale: float, size: int) -> Any:
        seen.append((f"noise{size}", b.ledger.spent().epsilon))
        return orig_noise(self, scale, size)

    def fold(self: SparkUnitRows, fn: Any, shape: tuple[int, ...]) -> Any:
        seen.append((f"fold{shape}", b.ledger.spent().epsilon))
        return orig_fold(self, fn, shape)

    monkeypatch.setattr(DPRandom, "discrete_laplace", noise)
    monkeypatch.setattr(SparkUnitRows, "fold", fold)
    rows = on_spark(spark, f).where(KEEP)  # ... and rows kept by Spark
    got = release_kmeans(rows, params(iterations=2), loss=PrivacyLoss(epsilon=3.0), ctx=b)
    monkeypatch.undo()

    assert np.array_equal(got.centroids_scaled, want.centroids_scaled)
    pd.testing.assert_frame_equal(got.table, want.table)
    assert not got.table["suppressed"].all()
    assert got.records == want.records
    assert charges(b) == charges(a)
    assert [lab for lab, _, _ in charges(b)] == [
        *(f"kmeans/fit:iter{i}:{p}" for i in (1, 2) for p in ("counts", "sums")),
        "kmeans/sizes/privacy_id_count",
    ]
    assert isinstance(got.assignment, UnitLabels) and isinstance(want.assignment, pd.Series)
    labels = as_series(got.assignment)
    assert labels.index.tolist() == want.assignment.index.tolist()
    assert labels.astype(object).tolist() == want.assignment.tolist()

    per = 3.0 * 0.8 / 2  # size_share 0.2 of the release goes to the sizes
    assert seen[:7] == [
        ("fold(3,)", 0.0),  # the missing-value check: nothing charged yet
        ("fold(3, 4)", pytest.approx(per)),
        ("noise3", pytest.approx(per)),
        ("noise9", pytest.approx(per)),
        ("fold(3, 4)", pytest.approx(2 * per)),
        ("noise3", pytest.approx(2 * per)),
        ("noise9", pytest.approx(2 * per)),
    ]
    # then the sizes: their noise after the whole release is charged
    assert seen[7:] and [s for _, s in seen[7:]] == pytest.approx([3.0] * len(seen[7:]))


def test_huge_epsilon_is_plain_lloyd_on_spark(spark: Any) -> None:
    f = features(300, 2)
    pop = f.loc[KEEP(f)]
    got = release_kmeans(
        on_spark(spark, pop),
        params(iterations=2),
        loss=PrivacyLoss(epsilon=1e9),
        ctx=ctx(),
        init_centers=STARTS,
    )
    x, c = scale_features(pop, params()), STARTS.copy()
    for _ in range(2):
        lab = nearest(x, c)
        c = np.array([x[lab == j].mean(axis=0) for j in range(3)])
    assert got.centroids_scaled == pytest.approx(c, abs=1e-4)
    sizes = np.bincount(nearest(x, c), minlength=3)
    assert got.table["dp_size"].to_numpy() == pytest.approx(sizes, abs=1)


def test_refusals_on_spark_spend_nothing(spark: Any) -> None:
    f = features(100, 3)
    c = ctx()
    with pytest.raises(PolicyError, match=r"method: lloyd"):
        release_kmeans(
            on_spark(spark, f.loc[KEEP(f)]),
            params(method=KMeansMethod.DIFFPRIVLIB),
            loss=PrivacyLoss(epsilon=1.0),
            ctx=c,
        )
    # rows not filtered to the population: a unit without `c` fails closed on the cluster
    with pytest.raises(InputError, match="'c' has missing values"):
        release_kmeans(on_spark(spark, f), params(), loss=PrivacyLoss(epsilon=1.0), ctx=c)
    assert charges(c) == []
