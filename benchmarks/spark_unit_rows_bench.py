"""The segment families on many units: per-unit rows kept by Spark (``SparkUnitRows``) vs the
same rows collected to the driver first (what a Spark run did before the families read
``UnitRows``). Wall time and the driver's peak Python memory for RFM, lifecycle and DP k-means.

    .venv/bin/python benchmarks/spark_unit_rows_bench.py --units 0.2,2,8 --dir /tmp/unit-rows

For each size (millions of units) a per-unit table is generated on Spark (``spark.range``:
unit id, recency, frequency, monetary, first / last seen and previous active day, public
bounds) and written as Parquet once. Then each mode runs in a fresh child process with its own
local Spark session (``--master``, default ``local[2]``, 1 GiB driver heap):

- ``rows``: the families read ``SparkUnitRows`` over the Parquet files;
- ``collect``: the rows are collected (``to_pandas()``) and the families read them in the
  driver process (``LocalUnitRows``).

Reported per mode: the families' seconds (collection included for ``collect``), the driver
Python process's peak resident memory (``ru_maxrss``: the JVM and the Python workers are other
processes and not counted), and the released RFM class sizes (both modes must release the same
thing; the script checks it with a seeded DP random stream).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


def generate(spark: Any, n: int, path: Path) -> None:
    """``n`` units' per-unit features as Parquet (deterministic in the unit id)."""
    from pyspark.sql import functions as F

    day0 = F.lit(dt.datetime(2026, 11, 30)).cast("timestamp_ntz")
    df = spark.range(n).select(
        F.format_string("u%09d", F.col("id")).alias("u"),
        (F.rand(1) * 730).alias("recency_days"),
        (F.floor(F.rand(2) * 29) + 1).cast("long").alias("frequency"),
        F.exp(F.randn(3) * 1.2 + 5).alias("monetary"),
        F.floor(F.rand(4) * 900).cast("int").alias("_first"),
        F.floor(F.rand(5) * 200).cast("int").alias("_last"),
        F.floor(F.rand(6) * 400).cast("int").alias("_prev"),
    )
    df = df.select(
        "u",
        "recency_days",
        "frequency",
        "monetary",
        (day0 - F.make_interval(days=F.col("_first") + F.col("_last"))).alias("first_seen"),
        (day0 - F.make_interval(days=F.col("_last"))).alias("last_seen"),
        F.when(
            F.col("_prev") < 300,
            day0 - F.make_interval(days=F.col("_last") + 30 + F.col("_prev")),
        ).alias("_pp_previous_active_day"),
    )
    df.write.mode("overwrite").parquet(str(path))


def child(mode: str, path: Path, master: str) -> dict[str, Any]:
    from privacy_profile.dp import Bounds, BudgetLedger, BudgetWindow, DPRandom, PrivacyLoss
    from privacy_profile.segments._common import ReleaseContext
    from privacy_profile.segments.kmeans import (
        KMeansFeatureParams,
        KMeansParams,
        release_kmeans,
    )
    from privacy_profile.segments.lifecycle import LifecycleParams, release_lifecycle
    from privacy_profile.segments.rfm import RfmParams, release_rfm
    from privacy_profile.segments.units import LocalUnitRows
    from privacy_profile.spark import spark_session
    from privacy_profile.spark.units import SparkUnitRows

    spark = spark_session(master, app_name=f"unit-rows-{mode}")
    rows = SparkUnitRows(spark.read.parquet(str(path)))
    ctx = ReleaseContext(
        ledger=BudgetLedger.in_memory(
            dataset="bench", budget=PrivacyLoss(epsilon=10.0), window=BudgetWindow.lifetime()
        ),
        run_id="bench",
        rng=DPRandom.for_testing(7),
        unit_column="u",
        threshold=20,
    )
    t0 = time.perf_counter()
    # collect: the same rows in this process (the whole frame one batch: LocalUnitRows)
    features: Any = rows if mode == "rows" else LocalUnitRows(rows.to_pandas())
    collect_s = time.perf_counter() - t0
    rfm = release_rfm(
        features,
        RfmParams(
            recency_bounds=Bounds(lower=0, upper=730),
            frequency_bounds=Bounds(lower=0, upper=50),
            monetary_bounds=Bounds(lower=0, upper=20000),
        ),
        loss=PrivacyLoss(epsilon=1.0),
        ctx=ctx,
    )
    life, _, _ = release_lifecycle(
        features,
        None,
        LifecycleParams(
            new_within_days=30, active_within_days=30, returning_gap_days=60, churned_after_days=180
        ),
        now=NOW,
        loss=PrivacyLoss(epsilon=1.0),
        ctx=ctx,
    )
    km = release_kmeans(
        features,
        KMeansParams(
            k=4,
            features=(
                KMeansFeatureParams(name="recency_days", bounds=Bounds(lower=0, upper=730)),
                KMeansFeatureParams(name="frequency", bounds=Bounds(lower=0, upper=50), log1p=True),
                KMeansFeatureParams(
                    name="monetary", bounds=Bounds(lower=0, upper=20000), log1p=True
                ),
            ),
            iterations=3,
        ),
        loss=PrivacyLoss(epsilon=1.0),
        ctx=ctx,
    )
    seconds = time.perf_counter() - t0
    spark.stop()
    return {
        "mode": mode,
        "families_s": round(seconds, 1),
        "collect_s": round(collect_s, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rfm_sizes": rfm.table["dp_size"].fillna(-1).astype(int).tolist(),
        "lifecycle_sizes": life["dp_size"].fillna(-1).astype(int).tolist(),
        "kmeans_sizes": km.table["dp_size"].fillna(-1).astype(int).tolist(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--units", default="1", help="millions of units, comma-separated")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/unit-rows"))
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--child", choices=("rows", "collect"), help=argparse.SUPPRESS)
    ap.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child, a.path, a.master)))
        return
    from privacy_profile.spark import spark_session

    print("| units | mode | families s | of which collecting s | driver Python peak RSS MiB |")
    print("|---|---|---|---|---|")
    for size in [float(x) for x in a.units.split(",")]:
        n = int(size * 1_000_000)
        path = a.dir / f"{size:g}m.parquet"
        if not path.exists():
            spark = spark_session(a.master, app_name="unit-rows-generate")
            generate(spark, n, path)
            spark.stop()
        got = {}
        for mode in ("rows", "collect"):
            cmd = [sys.executable, __file__, "--child", mode, "--path", str(path)]
            out = subprocess.run([*cmd, "--master", a.master], capture_output=True, text=True)
            if out.returncode != 0:
                print(f"| {n:,} | {mode} | failed: {out.stderr.strip().splitlines()[-1:]} | | |")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            got[mode] = r
            row = f"| {n:,} | {mode} | {r['families_s']} | {r['collect_s']} |"
            print(f"{row} {r['peak_rss_mib']:,} |", flush=True)
        if len(got) == 2:
            same = all(
                got["rows"][k] == got["collect"][k] for k in got["rows"] if k.endswith("_sizes")
            )
            print(f"<!-- {n:,} units: same seeded release on both modes: {same} -->")


if __name__ == "__main__":
    main()
