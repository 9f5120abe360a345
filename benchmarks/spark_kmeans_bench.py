"""DP k-means (``release_kmeans``, method lloyd) on a pandas frame vs on ``SparkUnitRows``
(local[N]): wall time of the release on each engine, per-iteration fold time on Spark, and a
check that a seeded run releases the same centroids, DP sizes and ledger charges on both.

    .venv/bin/python benchmarks/spark_kmeans_bench.py --units 200000 --iterations 3

The per-unit table (three features, public bounds) is generated in memory and put on Spark
with ``SparkUnitRows.of_pandas`` (cached, counted once before timing: the timing is the
k-means, not the conversion). Spark's session start is not timed.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import pandas as pd

from privacy_profile.dp import Bounds, BudgetLedger, BudgetWindow, DPRandom, PrivacyLoss
from privacy_profile.segments._common import ReleaseContext
from privacy_profile.segments.kmeans import KMeansFeatureParams, KMeansParams, release_kmeans
from privacy_profile.segments.units import as_series
from privacy_profile.spark.units import SparkUnitRows

FEATURES = (
    KMeansFeatureParams(name="recency_days", bounds=Bounds(lower=0.0, upper=730.0)),
    KMeansFeatureParams(name="frequency", bounds=Bounds(lower=0.0, upper=50.0), log1p=True),
    KMeansFeatureParams(name="monetary", bounds=Bounds(lower=0.0, upper=20000.0), log1p=True),
)


def units(n: int, seed: int = 0) -> pd.DataFrame:
    g = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "u": [f"u{i:08d}" for i in range(n)],
            "recency_days": g.uniform(0, 730, n),
            "frequency": g.integers(1, 30, n).astype(np.int64),
            "monetary": g.lognormal(5, 1.2, n),
        }
    )


def ctx(seed: int) -> ReleaseContext:
    return ReleaseContext(
        ledger=BudgetLedger.in_memory(
            dataset="bench", budget=PrivacyLoss(epsilon=10.0), window=BudgetWindow.lifetime()
        ),
        run_id="bench",
        rng=DPRandom.for_testing(seed),
        unit_column="u",
        threshold=20,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=200_000)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--partitions", type=int, default=4)
    args = ap.parse_args()
    params = KMeansParams(k=args.k, features=FEATURES, iterations=args.iterations)
    frame = units(args.units)

    a = ctx(7)
    t0 = time.perf_counter()
    want = release_kmeans(frame, params, loss=PrivacyLoss(epsilon=1.0), ctx=a)
    pandas_s = time.perf_counter() - t0

    from privacy_profile.spark import spark_session

    spark = spark_session(args.master, app_name="kmeans-bench")
    rows = SparkUnitRows.of_pandas(spark, frame)
    rows = SparkUnitRows(rows.frame.repartition(args.partitions).cache())
    rows.count()
    folds: list[float] = []
    orig = SparkUnitRows.fold

    def timed(self: SparkUnitRows, fn: Any, shape: tuple[int, ...]) -> Any:
        s = time.perf_counter()
        out = orig(self, fn, shape)
        folds.append(time.perf_counter() - s)
        return out

    sizes: list[float] = []
    orig_agg = SparkUnitRows.dp_aggregate

    def timed_agg(self: SparkUnitRows, **kw: Any) -> Any:
        s = time.perf_counter()
        out = orig_agg(self, **kw)
        sizes.append(time.perf_counter() - s)
        return out

    SparkUnitRows.fold = timed  # type: ignore[method-assign]
    SparkUnitRows.dp_aggregate = timed_agg  # type: ignore[method-assign]
    b = ctx(7)
    t0 = time.perf_counter()
    got = release_kmeans(rows, params, loss=PrivacyLoss(epsilon=1.0), ctx=b)
    spark_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    labels = as_series(got.assignment)
    collect_s = time.perf_counter() - t0
    spark.stop()

    same = (
        np.array_equal(got.centroids_scaled, want.centroids_scaled)
        and got.table.equals(want.table)
        and [(c.label, c.epsilon) for c in a.ledger.charges_for_run("bench")]
        == [(c.label, c.epsilon) for c in b.ledger.charges_for_run("bench")]
        and labels.astype(object).tolist() == as_series(want.assignment).tolist()
    )
    d = len(FEATURES)
    print(f"units {args.units}, k {args.k}, d {d}, iterations {args.iterations}, {args.master}")
    print(f"pandas release: {pandas_s:.2f} s")
    print(f"spark release:  {spark_s:.2f} s (labels collected after: {collect_s:.2f} s)")
    print("spark folds s (missing check, iterations): " + ", ".join(f"{x:.2f}" for x in folds))
    print(f"spark DP sizes (assignment column + dp_aggregate): {sum(sizes):.2f} s")
    print(f"per iteration to the driver: {args.k * (d + 1)} numbers x {args.partitions} partitions")
    print(f"same release on both engines: {same}")


if __name__ == "__main__":
    main()
