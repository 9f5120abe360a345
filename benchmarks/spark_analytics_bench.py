"""The analytics' per-unit reductions on pandas vs Spark local[N]: ``funnel_depths``,
``ab_per_user`` (two experiments), ``retention_pairs`` and ``kpi_pairs`` against their Spark
versions (:mod:`privacy_profile.analytics.on_spark`) on generated sanitized tables (Parquet).

    .venv/bin/python benchmarks/spark_analytics_bench.py --users 50000 --events-per-user 20 \\
        --dir /tmp/analytics1m

Generates seeded tables shaped like the ingestion layer's output for the analytics section of
policies/wechat_shop.yaml (events, campaign_sends, campaign_events, redemptions; pseudonyms as
32 hex digits, money ``Float64``, times ``datetime64[us]``, which Spark reads as timestamps
without a zone, as it reads the staged files) once into ``--dir``, then runs each engine in a
fresh child process: ``pandas`` reads the Parquet files and runs the four reductions; ``spark``
starts a session on ``local[N]`` (reported apart), reads the same files with
``spark.read.parquet`` and runs the Spark reductions (only their unit-scale results reach the
driver). Prints the wall time of each reduction and peak resident memory (the child's own
``ru_maxrss``; for Spark also its largest child's ``VmHWM``, the JVM). The two engines'
results must be equal (checked: depths, per-user A/B figures, retention cells, KPI pairs in
order; money to 1e-9 relative).
"""

from __future__ import annotations

import argparse
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
NOW = dt.datetime(2026, 11, 30, 12)
TABLES = ("events", "campaign_sends", "campaign_events", "redemptions")
U = "openid"


def _generate(d: Path, users: int, per_user: float) -> int:
    stamp = d / ".bench.json"
    if stamp.is_file() and json.loads(stamp.read_text())[:2] == [users, per_user]:
        return int(json.loads(stamp.read_text())[2])
    d.mkdir(parents=True, exist_ok=True)
    g = np.random.default_rng(1)
    uid = np.array([f"{x:032x}" for x in g.integers(0, 1 << 62, users)], dtype=object)
    now = pd.Timestamp(NOW)

    def times(n: int, days: int) -> pd.Series:
        back = g.integers(0, days * 86_400, n)
        return pd.Series(now - pd.to_timedelta(back, unit="s")).astype("datetime64[us]")

    def strings(values: Any) -> pd.Series:
        return pd.Series(values, dtype="string")

    n_e = g.poisson(per_user, users)
    e_uid = np.repeat(uid, n_e)
    kinds = g.choice(["view", "cart", "fav", "buy"], e_uid.size, p=[0.85, 0.08, 0.03, 0.04])
    pd.DataFrame(
        {
            U: strings(e_uid),
            "event_type": strings(kinds),
            "item_id": strings([f"I{i % 5000:06d}" for i in range(e_uid.size)]),
            "ts": times(e_uid.size, 200),
        }
    ).to_parquet(d / "events.parquet", index=False)
    sends = []
    for camp, arms in (
        ("coupon2611", ["control", "coupon5", "coupon10"]),
        ("push2611", ["control", "push_a"]),
    ):
        who = uid[g.random(users) < 0.6]
        sends.append(
            pd.DataFrame(
                {
                    U: who,
                    "campaign_id": camp,
                    "channel": "coupon" if camp.startswith("coupon") else "push",
                    "arm": g.choice(arms, who.size),
                    "sent_at": (now - pd.Timedelta(days=40))
                    + pd.to_timedelta(g.integers(0, 86_400, who.size), unit="s"),
                }
            )
        )
    s = pd.concat(sends, ignore_index=True).sample(frac=1.0, random_state=2).reset_index(drop=True)
    s = s.astype({U: "string", "campaign_id": "string", "channel": "string", "arm": "string"})
    s["sent_at"] = s["sent_at"].astype("datetime64[us]")
    s.to_parquet(d / "campaign_sends.parquet", index=False)
    imp = s[g.random(len(s)) < 0.7]
    clk = imp[g.random(len(imp)) < 0.1]
    ev = pd.concat([imp.assign(event="impression"), clk.assign(event="click")], ignore_index=True)
    pd.DataFrame(
        {
            U: ev[U],
            "campaign_id": ev["campaign_id"],
            "event": strings(ev["event"].to_numpy()),
            "ts": (ev["sent_at"] + pd.Timedelta(hours=1)).astype("datetime64[us]"),
        }
    ).to_parquet(d / "campaign_events.parquet", index=False)
    red = s[g.random(len(s)) < 0.05]
    pd.DataFrame(
        {
            U: red[U].to_numpy(),
            "campaign_id": red["campaign_id"].to_numpy(),
            "order_id": strings([f"WX{i:012d}" for i in range(len(red))]),
            "amount": pd.array(np.round(g.lognormal(4.0, 0.8, len(red)), 2), dtype="Float64"),
            "redeemed_at": (
                red["sent_at"] + pd.to_timedelta(g.integers(0, 20 * 86_400, len(red)), unit="s")
            )
            .astype("datetime64[us]")
            .to_numpy(),
        }
    ).astype({U: "string", "campaign_id": "string"}).to_parquet(
        d / "redemptions.parquet", index=False
    )
    stamp.write_text(json.dumps([users, per_user, int(e_uid.size)]))
    return int(e_uid.size)


def _params() -> dict[str, Any]:
    from privacy_profile.analytics.ab import ABParams
    from privacy_profile.analytics.funnel import FunnelParams
    from privacy_profile.analytics.kpi import KpiParams
    from privacy_profile.analytics.retention import RetentionParams
    from privacy_profile.dp.model import Bounds

    def ab(camp: str, arms: tuple[str, ...]) -> ABParams:
        return ABParams(
            arm_column="arm", exposure_time_column="sent_at", outcome_time_column="redeemed_at",
            outcome_value_column="amount", arms=arms, control="control",
            window=dt.timedelta(days=14), revenue_bounds=Bounds(lower=0.0, upper=1000.0),
            campaign_column="campaign_id", campaign=camp,
        )  # fmt: skip

    return {
        "funnel": FunnelParams(
            steps=("view", "cart", "buy"),
            event_column="event_type",
            time_column="ts",
            window=dt.timedelta(days=7),
        ),
        "ab": [
            ab("coupon2611", ("control", "coupon5", "coupon10")),
            ab("push2611", ("control", "push_a")),
        ],
        "retention": RetentionParams(
            time_column="ts", period="month", start=dt.date(2026, 5, 1), cohorts=6, max_offset=3
        ),
        "kpi": KpiParams(
            campaign_column="campaign_id",
            interaction_column="event",
            impression_value="impression",
            click_value="click",
            conversion_value_column="amount",
            costs={"coupon2611": 18000.0, "push2611": 4000.0},
            revenue_bounds=Bounds(lower=0.0, upper=600.0),
            max_campaigns=2,
            max_orders=3,
        ),
    }


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


def _run(engine: str, d: Path, master: str) -> dict[str, Any]:
    p = _params()
    timings: dict[str, float] = {}
    out: dict[str, Any] = {}
    if engine == "pandas":
        from privacy_profile.analytics.ab import ab_per_user
        from privacy_profile.analytics.funnel import funnel_depths
        from privacy_profile.analytics.kpi import kpi_pairs
        from privacy_profile.analytics.retention import retention_pairs

        t0 = time.perf_counter()
        t = {n: pd.read_parquet(d / f"{n}.parquet") for n in TABLES}
        timings["read"] = time.perf_counter() - t0
        fns = {
            "funnel": lambda: funnel_depths(t["events"], p["funnel"], U),
            "ab": lambda: [
                ab_per_user(t["campaign_sends"], t["redemptions"], a, U) for a in p["ab"]
            ],
            "retention": lambda: retention_pairs(t["events"], p["retention"], U),
            "kpi": lambda: kpi_pairs(
                t["campaign_sends"], t["campaign_events"], t["redemptions"], p["kpi"], U
            ),
        }
    else:
        from privacy_profile.analytics.on_spark import (
            ab_per_user_spark,
            funnel_depths_spark,
            kpi_pairs_spark,
            retention_pairs_spark,
        )
        from privacy_profile.spark import spark_session

        t0 = time.perf_counter()
        spark = spark_session(master, app_name="spark_analytics_bench")
        timings["session"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        t = {n: spark.read.parquet(str(d / f"{n}.parquet")) for n in TABLES}
        timings["read"] = time.perf_counter() - t0
        fns = {
            "funnel": lambda: funnel_depths_spark(t["events"], p["funnel"], U),
            "ab": lambda: [
                ab_per_user_spark(t["campaign_sends"], t["redemptions"], a, U) for a in p["ab"]
            ],
            "retention": lambda: retention_pairs_spark(t["events"], p["retention"], U),
            "kpi": lambda: kpi_pairs_spark(
                t["campaign_sends"], t["campaign_events"], t["redemptions"], p["kpi"], U
            ),
        }
    for name, fn in fns.items():
        t0 = time.perf_counter()
        out[name] = fn()
        timings[name] = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    jvm = _children_peak_mib() if engine == "spark" else 0
    return {"timings": timings, "rss_mib": rss, "jvm_mib": jvm, "out": out}


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    def depths(x: Any) -> pd.Series:
        return pd.Series(x[0], index=pd.Index(x[1]).astype(str)).sort_index()

    pd.testing.assert_series_equal(depths(a["funnel"]), depths(b["funnel"]))
    for ua, ub in zip(a["ab"], b["ab"], strict=True):
        fa, fb = (
            pd.DataFrame({"arm": u.arm, "c": u.converted, "r": u.revenue})
            .sort_values(["arm", "c", "r"])
            .reset_index(drop=True)
            for u in (ua, ub)
        )
        pd.testing.assert_frame_equal(fa, fb, check_exact=False, rtol=1e-9)

    def cells(x: pd.DataFrame) -> pd.DataFrame:
        x = x.astype({U: str})
        return x.sort_values(list(x.columns)).reset_index(drop=True)

    pd.testing.assert_frame_equal(cells(a["retention"]), cells(b["retention"]))
    ka, kb = (
        k.astype({U: str, "campaign_id": str}).reset_index(drop=True) for k in (a["kpi"], b["kpi"])
    )
    pd.testing.assert_frame_equal(ka, kb, check_exact=False, rtol=1e-9)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=50_000)
    ap.add_argument("--events-per-user", type=float, default=20.0)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/spark_analytics_bench"))
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--child", choices=["pandas", "spark"])
    args = ap.parse_args()
    if args.child:
        res = _run(args.child, args.dir, args.master)
        (args.dir / f"{args.child}.pkl").write_bytes(pickle.dumps(res))
        return
    events = _generate(args.dir, args.users, args.events_per_user)
    print(f"{args.users} users, {events} events in {args.dir}")
    results = {}
    for engine in ("pandas", "spark"):
        cmd = [
            sys.executable,
            __file__,
            "--child",
            engine,
            "--dir",
            str(args.dir),
            "--master",
            args.master,
        ]
        subprocess.run(cmd, check=True)
        results[engine] = pickle.loads((args.dir / f"{engine}.pkl").read_bytes())
    _same(results["pandas"]["out"], results["spark"]["out"])
    print("results equal")
    for engine, r in results.items():
        t = ", ".join(f"{k} {v:.1f}s" for k, v in r["timings"].items())
        jvm = f", JVM peak {r['jvm_mib']:.0f} MiB" if r["jvm_mib"] else ""
        print(f"{engine}: {t}; Python peak RSS {r['rss_mib']:.0f} MiB{jvm}")


if __name__ == "__main__":
    main()
