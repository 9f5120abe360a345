"""Per-unit segment features on pandas vs Spark local[N]: ``compute_features`` against
``spark_compute_features`` on generated sanitized tables (Parquet).

    .venv/bin/python benchmarks/spark_features_bench.py --users 100000 --events-per-user 10 \\
        --dir /tmp/features1m

Generates seeded tables shaped like the ingestion layer's output for policies/wechat_shop.yaml
(users, orders, events; pseudonyms as 32 hex digits, money ``Float64``, times
``datetime64[us]``) once into ``--dir``, then runs each engine in a fresh child process:
``pandas`` reads the Parquet files and runs ``compute_features``; ``spark`` starts a session on
``local[N]`` (reported apart), reads the same files with ``spark.read.parquet`` and runs
``spark_compute_features``. Prints wall time of the feature step and peak resident memory
(the child's own ``ru_maxrss``; for Spark also its largest child's ``VmHWM``, the JVM). On
Spark the feature step ends with the per-unit table cached on Spark (never collected); the
rows the driver received in that step are counted, and the table is then collected apart
(``to_pandas``, timed apart) only to check that the two results are equal (table,
categories, dropped counts, as in tests/spark/test_spark_features.py; Spark sends no activity
rows). ``--previous-days N`` sets ``activity_before_days`` (the lifecycle's window: the
``PREVIOUS_ACTIVE_DAY`` column).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import pickle
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
POLICY = REPO / "policies" / "wechat_shop.yaml"
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
TABLES = ("users", "orders", "events")


def _generate(d: Path, users: int, per_user: float) -> int:
    stamp = d / ".bench.json"
    if stamp.is_file() and json.loads(stamp.read_text())[:2] == [users, per_user]:
        return int(json.loads(stamp.read_text())[2])
    d.mkdir(parents=True, exist_ok=True)
    g = np.random.default_rng(1)
    uid = np.array([f"{x:032x}" for x in g.integers(0, 1 << 62, users)], dtype=object)
    now = pd.Timestamp(NOW.replace(tzinfo=None))
    cats = np.array(["女装", "数码", "家居", "运动", "图书", "美妆"], dtype=object)

    def times(n: int, days: int) -> pd.Series:
        back = g.integers(0, days * 86_400, n)
        return pd.Series(now - pd.to_timedelta(back, unit="s")).astype("datetime64[us]")

    def strings(values: Any) -> pd.Series:
        return pd.Series(values, dtype="string")

    pd.DataFrame(
        {
            "openid": strings(uid),
            "birthdate": strings(g.choice(["18-24", "25-34", "35-44", "45-54", "55+"], users)),
            "gender": strings(g.choice(["female", "male"], users)),
            "city": strings(g.choice(["浙江省", "上海市", "江苏省", "广东省"], users)),
            "registered_at": times(users, 900),
            "channel": strings(g.choice(["search", "share", "ad"], users)),
        }
    ).to_parquet(d / "users.parquet", index=False)
    n_o = g.poisson(3, users)
    o_uid = np.repeat(uid, n_o)
    pd.DataFrame(
        {
            "order_id": strings([f"WX{i:012d}" for i in range(o_uid.size)]),
            "openid": strings(o_uid),
            "amount": pd.array(np.round(g.lognormal(4.5, 1.0, o_uid.size), 2), dtype="Float64"),
            "status": strings(g.choice(["paid", "cancelled", "returned"], o_uid.size)),
            "category": strings(g.choice(cats, o_uid.size)),
            "coupon_used": pd.array(g.random(o_uid.size) < 0.3, dtype="boolean"),
            "ordered_at": times(o_uid.size, 400).dt.floor("D"),
        }
    ).to_parquet(d / "orders.parquet", index=False)
    n_e = g.poisson(per_user, users)
    e_uid = np.repeat(uid, n_e)
    pd.DataFrame(
        {
            "openid": strings(e_uid),
            "event_type": strings(g.choice(["view", "cart", "fav", "buy"], e_uid.size)),
            "category": strings(g.choice(cats, e_uid.size)),
            "ts": times(e_uid.size, 400),
        }
    ).to_parquet(d / "events.parquet", index=False)
    stamp.write_text(json.dumps([users, per_user, int(e_uid.size)]))
    return int(e_uid.size)


def _params(previous_days: int | None) -> Any:
    from privacy_profile.policy import load_policy_file
    from privacy_profile.segments.columns import feature_columns, unit_column
    from privacy_profile.segments.features import FeatureParams

    policy = load_policy_file(POLICY).policy
    return FeatureParams(
        unit_column=unit_column(policy),
        now=NOW,
        columns=feature_columns(policy),
        lookback_days=365,
        spending_bands=(0.0, 100.0, 500.0, 2000.0),
        max_categories_per_user=3,
        order_amount_upper=5000.0,
        activity_before_days=previous_days,
    )


def _children_peak_mib() -> int:
    """The largest peak resident set (VmHWM) of this process's live children (the JVM)."""
    peak = 0
    for task in Path("/proc/self/task").iterdir():
        for pid in (task / "children").read_text().split():
            status = Path(f"/proc/{pid}/status")
            for line in status.read_text().splitlines() if status.exists() else []:
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) // 1024)
    return peak


def _child(engine: str, d: Path, master: str, previous_days: int | None) -> dict[str, Any]:
    params, start_s, collect_s, driver_rows = _params(previous_days), 0.0, 0.0, 0
    if engine == "pandas":
        from privacy_profile.segments.features import compute_features

        tables = {t: pd.read_parquet(d / f"{t}.parquet") for t in TABLES}
        t0 = time.perf_counter()
        feats = compute_features(tables, params)
        seconds = time.perf_counter() - t0
    else:
        from privacy_profile.spark import spark_session
        from privacy_profile.spark.features import spark_compute_features

        t0 = time.perf_counter()
        spark = spark_session(master, app_name="features-bench")
        start_s = time.perf_counter() - t0
        sdfs = {t: spark.read.parquet(str(d / f"{t}.parquet")) for t in TABLES}
        frame_type = type(sdfs["events"])
        to_arrow, collect = frame_type.toArrow, frame_type.collect
        received: list[int] = []

        def spy_to_arrow(self: Any) -> Any:
            out = to_arrow(self)
            received.append(out.num_rows)
            return out

        def spy_collect(self: Any) -> Any:
            out = collect(self)
            received.append(len(out))
            return out

        frame_type.toArrow, frame_type.collect = spy_to_arrow, spy_collect
        t0 = time.perf_counter()
        feats = spark_compute_features(sdfs, params)
        seconds = time.perf_counter() - t0
        frame_type.toArrow, frame_type.collect = to_arrow, collect
        driver_rows = sum(received)
        t0 = time.perf_counter()
        table = feats.table.to_pandas()  # for the check only
        collect_s = time.perf_counter() - t0
        feats.close()
        feats = dataclasses.replace(feats, table=table, on_close=None)
    jvm_mib = _children_peak_mib()
    if engine == "spark":
        spark.stop()
    with (d / f"result-{engine}.pickle").open("wb") as f:
        pickle.dump(feats, f)
    return {
        "engine": engine,
        "seconds": round(seconds, 2),
        "session_start_s": round(start_s, 2),
        "check_collect_s": round(collect_s, 2),
        "units": len(feats.table),
        "activity_rows": len(feats.activity),
        "driver_rows_in_step": driver_rows,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_child_rss_mib": jvm_mib,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--events-per-user", type=float, default=10.0)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/features-bench"))
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--previous-days", type=int, default=None)
    ap.add_argument("--child", choices=["pandas", "spark"])
    a = ap.parse_args()
    if a.child:
        print(json.dumps(_child(a.child, a.dir, a.master, a.previous_days)))
        return
    events = _generate(a.dir, a.users, a.events_per_user)
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"{a.users} users, {events} events in {a.dir}; load before: {load}", flush=True)
    for engine in ("pandas", "spark"):
        cmd = [sys.executable, __file__, "--child", engine, "--dir", str(a.dir)]
        if a.previous_days is not None:
            cmd += ["--previous-days", str(a.previous_days)]
        out = subprocess.run(
            [*cmd, "--master", a.master], check=True, capture_output=True, text=True
        )
        print(out.stdout.strip().splitlines()[-1], flush=True)
    results = []
    for engine in ("pandas", "spark"):
        with (a.dir / f"result-{engine}.pickle").open("rb") as f:
            results.append(pickle.load(f))
    want, got = results
    pd.testing.assert_frame_equal(want.table, got.table, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(want.categories, got.categories)
    assert got.activity.empty  # Spark sends no activity rows
    assert want.dropped == got.dropped
    print("same result on both engines (table, categories, dropped)")
    print(f"load after: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
