"""RFM, lifecycle and rule segments on per-unit rows: the pandas table vs the same rows kept by
Spark local[N] (``SparkUnitRows``), through the families' runners with one seed each.

    .venv/bin/python benchmarks/spark_families_bench.py --units 100000

Builds a seeded synthetic per-unit features table (the columns these three families read:
recency, frequency, monetary, first / last seen, the previous active day, province, gender),
puts it on Spark with ``SparkUnitRows.of_pandas`` (reported apart), runs the ``rfm``,
``lifecycle`` and ``rule`` runners of the shop policy on each engine, checks that both release
the same tables and ledger charges, and prints each family's wall time and what reached the
driver per unit (RFM: its three split features, 8 bytes a unit each).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from privacy_profile.dp import BudgetLedger, BudgetWindow, DPRandom, PrivacyLoss
from privacy_profile.policy import load_policy_file
from privacy_profile.policy.releases import ReleaseId, SegmentFamily
from privacy_profile.segments import families
from privacy_profile.segments._common import ReleaseContext
from privacy_profile.segments.features import PREVIOUS_ACTIVE_DAY, UnitFeatures
from privacy_profile.segments.registry import BuildState

POLICY = Path(__file__).resolve().parents[1] / "policies" / "wechat_shop.yaml"
NOW = pd.Timestamp("2026-11-30 12:00")


def features(n: int, seed: int = 1) -> pd.DataFrame:
    g = np.random.default_rng(seed)
    run_day = NOW.normalize()
    freq = g.poisson(1.5, n).astype(np.int64)
    first_ago = g.integers(0, 730, n)
    last_ago = (first_ago * g.random(n)).astype(np.int64)
    prev_ago = np.where(last_ago >= 30, last_ago, 30 + (g.random(n) * 400).astype(np.int64))
    prev_ago = np.where(prev_ago <= first_ago, prev_ago, -1)
    day = pd.to_timedelta(1, "D")
    recency = pd.array(np.where(freq > 0, last_ago, 0), dtype="Float64")
    recency[freq == 0] = pd.NA
    return pd.DataFrame(
        {
            "openid": [f"p_{i:08x}" for i in range(n)],
            "frequency": freq,
            "monetary": np.where(freq > 0, np.round(g.lognormal(4.5, 1.0, n) * freq, 2), 0.0),
            "recency_days": recency,
            "first_seen": run_day - first_ago * day,
            "last_seen": run_day - last_ago * day,
            PREVIOUS_ACTIVE_DAY: pd.Series(run_day - prev_ago * day).where(prev_ago >= 0),
            "province": pd.array(g.choice(["浙江省", "上海市", "广东省", "四川省"], n), "string"),
            "gender": pd.array(g.choice(["female", "male"], n), "string"),
        }
    )


def _run(table: Any, activity: pd.DataFrame, name: str) -> tuple[float, BuildState]:
    spec = load_policy_file(POLICY).policy.segmentation
    assert spec is not None
    ledger = BudgetLedger.in_memory(
        dataset="b", budget=PrivacyLoss(epsilon=100.0), window=BudgetWindow.lifetime()
    )
    st = BuildState(
        features=UnitFeatures(
            table=table, categories=pd.DataFrame(), activity=activity, dropped={}
        ),
        spec=spec,
        ctx=ReleaseContext(
            ledger=ledger,
            run_id="b",
            rng=DPRandom.for_testing(3),
            unit_column="openid",
            threshold=50,
        ),
        now=NOW.to_pydatetime(),
        unit_column="openid",
        max_categories_per_user=3,
        domains={},
    )
    if name == "rule":
        releases = {ReleaseId(SegmentFamily.RULE, r.name): 0.5 for r in spec.rules}
        run = families._rules
    else:
        releases = {ReleaseId(SegmentFamily(name)): 1.0}
        run = families._rfm if name == "rfm" else families._lifecycle
    t = time.perf_counter()
    run(st, releases)
    return time.perf_counter() - t, st


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=100_000)
    ap.add_argument("--master", default="local[2]")
    a = ap.parse_args()
    from privacy_profile.spark import spark_session
    from privacy_profile.spark.units import SparkUnitRows

    table = features(a.units)
    activity = table[["openid", PREVIOUS_ACTIVE_DAY]].rename(columns={PREVIOUS_ACTIVE_DAY: "_day"})
    activity = activity.dropna().reset_index(drop=True)
    t = time.perf_counter()
    spark = spark_session(a.master, app_name="families-bench")
    start = time.perf_counter() - t
    t = time.perf_counter()
    rows = SparkUnitRows.of_pandas(spark, table)
    rows.frame.cache().count()
    put = time.perf_counter() - t
    print(f"{a.units} units; session start {start:.1f} s; of_pandas + cache {put:.1f} s")
    paid = int((table["frequency"] > 0).sum())
    collected = {"rfm": f"{3 * 8 * paid / 1e6:.2f} MB (3 x 8 bytes x {paid} units)"}
    for name in ("lifecycle", "rule", "rfm"):  # rfm last: its Python workers are warm
        t_pd, local = _run(table, activity, name)
        t_sp, remote = _run(rows, activity.iloc[0:0], name)
        for x, y in zip(local.tables, remote.tables, strict=True):
            pd.testing.assert_frame_equal(x, y, check_exact=False, rtol=1e-12)
        same = [(c.label, c.epsilon) for c in local.ctx.ledger.charges_for_run("b")] == [
            (c.label, c.epsilon) for c in remote.ctx.ledger.charges_for_run("b")
        ]
        assert same, name
        print(
            f"{name:9s} pandas {t_pd:6.2f} s   spark {t_sp:6.2f} s   same release: yes   "
            f"per-unit values on the driver: {collected.get(name, 'none')}"
        )
    spark.stop()


if __name__ == "__main__":
    main()
