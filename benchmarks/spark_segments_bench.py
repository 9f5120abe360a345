"""The segment stage's pre-flight on pandas vs Spark local[N]: ``preflight`` over a
``TableMap`` whose orders and events are pandas frames, or Spark tables (exact Spark counts).

    .venv/bin/python benchmarks/spark_segments_bench.py --users 100000 --events-per-user 10 \\
        --dir /tmp/features1m

Uses the tables of ``benchmarks/spark_features_bench.py`` (generated into ``--dir`` when
absent; the same seeded users, orders and events, Parquet) and runs each engine in a fresh
child process: ``pandas`` reads the Parquet files and runs ``preflight``; ``spark`` starts a
session (reported apart), wraps the orders and events read with ``spark.read.parquet`` as
Spark tables (the subjects table stays pandas, as on a Spark run) and runs ``preflight``.
Prints the pre-flight's wall time, peak resident memory of the Python process (and for Spark
its largest child's, the JVM), and checks that both results are equal and that the Spark run
collected no table.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location(
    "spark_features_bench", HERE / "spark_features_bench.py"
)
assert _spec is not None and _spec.loader is not None
features_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(features_bench)


def _report() -> Any:
    from privacy_profile.ingest.report import IngestReport

    return IngestReport(
        policy="bench",
        purpose="marketing.advertising.profiling",
        pseudonymization_domain="bench",
        run_time="",
        tables={},
        keys=(),
        development_keys=True,
    )


def _child(engine: str, d: Path, master: str) -> dict[str, Any]:
    from privacy_profile.ingest.tables import TableMap
    from privacy_profile.policy import load_policy_file
    from privacy_profile.segments.columns import feature_columns, unit_column
    from privacy_profile.segments.preflight import preflight

    policy = load_policy_file(features_bench.POLICY).policy
    users = pd.read_parquet(d / "users.parquet")
    start_s = 0.0
    if engine == "pandas":
        data = {t: pd.read_parquet(d / f"{t}.parquet") for t in ("orders", "events")}
        tables = TableMap({"users": users, **data})
    else:
        from privacy_profile.spark import spark_session
        from privacy_profile.spark.tables import SparkTable

        t0 = time.perf_counter()
        spark = spark_session(master, app_name="segments-bench")
        start_s = time.perf_counter() - t0
        remote = {
            t: SparkTable.of(spark.read.parquet(str(d / f"{t}.parquet")))
            for t in ("orders", "events")
        }
        tables = TableMap({"users": users}, remote)
    t0 = time.perf_counter()
    result = preflight(policy, _report(), {}, tables, feature_columns(policy), unit_column(policy))
    seconds = time.perf_counter() - t0
    jvm_mib = features_bench._children_peak_mib()
    if engine == "spark":
        spark.stop()
    return {
        "engine": engine,
        "seconds": round(seconds, 2),
        "session_start_s": round(start_s, 2),
        "issues": result.as_tuples(),
        "collected": list(tables.collected),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_child_rss_mib": jvm_mib,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--events-per-user", type=float, default=10.0)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/features-bench"))
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--child", choices=["pandas", "spark"])
    a = ap.parse_args()
    if a.child:
        print(json.dumps(_child(a.child, a.dir, a.master)))
        return
    events = features_bench._generate(a.dir, a.users, a.events_per_user)
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"{a.users} users, {events} events in {a.dir}; load before: {load}", flush=True)
    results = []
    for engine in ("pandas", "spark"):
        cmd = [sys.executable, __file__, "--child", engine, "--dir", str(a.dir)]
        out = subprocess.run(
            [*cmd, "--master", a.master], check=True, capture_output=True, text=True
        )
        line = out.stdout.strip().splitlines()[-1]
        print(line, flush=True)
        results.append(json.loads(line))
    want, got = results
    assert want["issues"] == got["issues"], (want["issues"], got["issues"])
    assert got["collected"] == []
    print("same pre-flight result on both engines; no table collected")
    print(f"load after: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
