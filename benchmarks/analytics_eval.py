"""Analytics benchmark: A/B lift coverage, funnel accuracy, Taobao side by side, 10M events.

    python benchmarks/analytics_eval.py [--ab-runs 100] [--funnel-runs 20] [--big-rows 10000000]
        [--skip ab funnel taobao big]

1. A/B coverage on the demo's campaign tables (``privacy_profile.demo.campaigns``; 12,000
   users, about the consenting share of the demo's 20,000): over seeded runs (new data and new
   noise each), how often each variant's 95% lift interval covers the generator's true lift, at
   the example policy's epsilon (wechat_shop.yaml: ab epsilon 1.0 over 2 experiments = 0.5).
2. Funnel accuracy at epsilon 1 on the demo's events (``generate_events_frame``, 200,000
   users, 2M events, view -> cart -> buy within 7 days): worst relative error of steps with at
   least 2,000 users, over runs.
3. Taobao UserBehavior sample (814 users; pv -> cart -> buy and pv -> fav -> buy within 1 day;
   daily retention cohorts): DP next to a non-private pandas truth computed independently.
4. The analytics stage (funnel + retention) on ``--big-rows`` events: wall time, peak RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

from privacy_profile.analytics import (
    ABParams,
    AnalysisPrivacy,
    FunnelParams,
    RetentionParams,
    dp_ab_readout,
    dp_funnel,
    dp_retention,
)
from privacy_profile.analytics.funnel import funnel_depths
from privacy_profile.demo import generate_events_frame
from privacy_profile.demo.campaigns import CAMPAIGNS, generate_campaign_tables
from privacy_profile.dp import Bounds, BudgetLedger, BudgetWindow, DPRandom, PrivacyLoss

TAOBAO = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "taobao_userbehavior"
)  # ../shared
NOW_S = int((dt.datetime(2026, 11, 30, 12) - dt.datetime(1970, 1, 1)).total_seconds())


def _ledger() -> BudgetLedger:
    return BudgetLedger.in_memory(
        dataset="bench", budget=PrivacyLoss(epsilon=1e6), window=BudgetWindow.lifetime()
    )


def _iso(s: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(np.asarray(s).astype("datetime64[s]"), unit="s")


def ab_coverage(runs: int, epsilon: float, users: int) -> None:
    openids = np.array([f"o{i:07d}" for i in range(users)])
    covered: dict[tuple[str, str], int] = {}
    widths: dict[tuple[str, str], list[float]] = {}
    led = _ledger()
    t0 = time.perf_counter()
    for seed in range(runs):
        c = generate_campaign_tables(seed, openids, now_s=NOW_S, iso=_iso)
        red = c.tables["redemptions"]
        red = red.assign(amount=red["amount"].astype(float))
        for design in CAMPAIGNS:
            params = ABParams(
                arm_column="arm", exposure_time_column="sent_at",
                outcome_time_column="redeemed_at", outcome_value_column="amount",
                arms=tuple(design.arms), control=design.control,
                window=dt.timedelta(days=14), revenue_bounds=Bounds(lower=0, upper=1000),
                campaign_column="campaign_id", campaign=design.campaign_id,
            )  # fmt: skip
            r = dp_ab_readout(
                c.tables["campaign_sends"], red, params=params,
                privacy=AnalysisPrivacy(unit_column="openid", loss=PrivacyLoss(epsilon=epsilon)),
                ledger=led, run_id=f"r{seed}", rng=DPRandom.for_testing(seed),
            )  # fmt: skip
            for _, row in r.comparisons.iterrows():
                key = (design.campaign_id, str(row["variant"]))
                lift = c.truth.lift(*key)
                ok = row["lift_low"] <= lift <= row["lift_high"]
                covered[key] = covered.get(key, 0) + int(ok)
                widths.setdefault(key, []).append(float(row["lift_high"] - row["lift_low"]))
    print(f"\n### A/B lift coverage ({runs} seeded runs, epsilon {epsilon} per experiment, "
          f"{users:,} users, {time.perf_counter() - t0:.1f} s)\n")  # fmt: skip
    print("| campaign | variant | true lift | covered | median interval width |")
    print("|---|---|---|---|---|")
    for (camp, arm), n in sorted(covered.items()):
        design = next(d for d in CAMPAIGNS if d.campaign_id == camp)
        lift = design.arms[arm] / design.arms[design.control] - 1
        w = statistics.median(widths[(camp, arm)])
        print(f"| {camp} | {arm} | {lift:+.0%} | {n}/{runs} | {w:.3f} |")


def funnel_accuracy(runs: int, users: int, rows: int) -> None:
    ev = generate_events_frame(rows, users, seed=7)
    params = FunnelParams(steps=("view", "cart", "buy"), event_column="event_type",
                          time_column="ts", window=dt.timedelta(days=7))  # fmt: skip
    depth, _ = funnel_depths(ev, params, "openid")
    truth = np.array([(depth >= k).sum() for k in (1, 2, 3)], dtype=float)
    led = _ledger()
    errs = []
    t0 = time.perf_counter()
    for seed in range(runs):
        r = dp_funnel(ev, params=params,
                      privacy=AnalysisPrivacy(unit_column="openid", loss=PrivacyLoss(epsilon=1.0)),
                      ledger=led, run_id="f", rng=DPRandom.for_testing(seed))  # fmt: skip
        errs.append(np.abs(r.table["users"].to_numpy() - truth) / truth)
    e = np.array(errs)
    print(f"\n### Funnel at epsilon 1 ({runs} runs, {users:,} users, {rows:,} events, "
          f"{(time.perf_counter() - t0) / runs:.2f} s per run)\n")  # fmt: skip
    print("| step | true users | mean rel. error | max rel. error |")
    print("|---|---|---|---|")
    for k, step in enumerate(params.steps):
        print(f"| {step} | {int(truth[k]):,} | {e[:, k].mean():.5f} | {e[:, k].max():.5f} |")


def _pandas_funnel(df: pd.DataFrame, steps: tuple[str, ...], window_s: int) -> list[int]:
    """Independent truth: per user, first step-1 time, then for each next step the earliest
    event at or after the previous step and within the window (merge + groupby)."""
    first = df[df["behavior_type"] == steps[0]].groupby("user_id")["timestamp"].min()
    cur = first.rename("prev").to_frame()
    cur["start"] = cur["prev"]
    counts = [len(cur)]
    for step in steps[1:]:
        e = df[df["behavior_type"] == step][["user_id", "timestamp"]]
        m = e.merge(cur, left_on="user_id", right_index=True)
        m = m[(m["timestamp"] >= m["prev"]) & (m["timestamp"] <= m["start"] + window_s)]
        nxt = m.groupby("user_id").agg(prev=("timestamp", "min"), start=("start", "first"))
        cur = nxt
        counts.append(len(cur))
    return counts


def taobao(runs: int, folder: Path) -> None:
    path = folder / "UserBehavior_head_814users.csv"
    if not path.is_file():
        print("\n(Taobao sample absent: skipped)")
        return
    raw = pd.read_csv(path)
    df = raw.assign(ts=pd.to_datetime(raw["timestamp"], unit="s", utc=True).dt.tz_convert(
        "Asia/Shanghai").dt.tz_localize(None), u=raw["user_id"].astype(str),
        e=raw["behavior_type"].astype(str))  # fmt: skip
    led = _ledger()
    print(f"\n### Taobao UserBehavior sample ({raw['user_id'].nunique()} users, {len(raw):,} "
          f"events), mean over {runs} runs\n")  # fmt: skip
    print("| funnel | step | pandas truth | DP (epsilon 1) | mean abs. error | mean rel. error |")
    print("|---|---|---|---|---|---|")
    local = raw.assign(timestamp=raw["timestamp"] + 8 * 3600)
    for steps in (("pv", "cart", "buy"), ("pv", "fav", "buy")):
        truth = _pandas_funnel(local, steps, 86_400)
        params = FunnelParams(steps=steps, event_column="e", time_column="ts",
                              window=dt.timedelta(days=1))  # fmt: skip
        outs = np.array([
            dp_funnel(df, params=params,
                      privacy=AnalysisPrivacy(unit_column="u", loss=PrivacyLoss(epsilon=1.0)),
                      ledger=led, run_id="t", rng=DPRandom.for_testing(s)).table["users"]
            for s in range(runs)
        ])  # fmt: skip
        for k, step in enumerate(steps):
            err = np.abs(outs[:, k] - truth[k])
            print(
                f"| {'→'.join(steps)} | {step} | {truth[k]} | {outs[:, k].mean():.1f} | "
                f"{err.mean():.2f} | {err.mean() / max(truth[k], 1):.4f} |"
            )
    # daily retention: cohorts by first activity day, offsets 0..5
    start = dt.date(2017, 11, 25)
    rp = RetentionParams(time_column="ts", period="day", start=start, cohorts=4, max_offset=5)
    day = (local["timestamp"] // 86_400) - (start - dt.date(1970, 1, 1)).days
    first = day.groupby(local["user_id"]).transform("min")
    cells = (pd.DataFrame({"u": local["user_id"], "c": first, "o": day - first})
             .query("0 <= c < 4 and 0 <= o <= 5").drop_duplicates()
             .groupby(["c", "o"]).size())  # fmt: skip
    outs = [
        dp_retention(df, params=rp,
                     privacy=AnalysisPrivacy(unit_column="u", loss=PrivacyLoss(epsilon=1.0)),
                     ledger=led, run_id="t", rng=DPRandom.for_testing(s)).table
        for s in range(runs)
    ]  # fmt: skip
    print("\nDaily retention cohorts (epsilon 1, sensitivity 6; threshold 0 here so every cell "
          "shows; cohort size = users first active that day):\n")  # fmt: skip
    print("| cohort | size (truth) | offset | pandas truth | DP mean | mean abs. error | "
          "truth retention | DP retention mean |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for c in range(4):
        size = int(cells.get((c, 0), 0))
        for o in range(6):
            t = int(cells.get((c, o), 0))
            idx = c * 6 + o
            dp = np.array([float(x["users"].iloc[idx]) for x in outs])
            ret = np.array([float(x["retention"].iloc[idx]) for x in outs])
            # a negative noisy count is released as suppressed (NaN): counted as 0 here
            dp = np.nan_to_num(dp, nan=0.0)
            print(f"| {start + dt.timedelta(days=c)} | {size} | {o} | {t} | {dp.mean():.1f} | "
                  f"{np.abs(dp - t).mean():.1f} | {t / size if size else float('nan'):.3f} | "
                  f"{np.nanmean(ret):.3f} |")  # fmt: skip


def big(rows: int, users: int) -> None:
    ev = generate_events_frame(rows, users, seed=3)
    led = _ledger()
    privacy = AnalysisPrivacy(unit_column="openid", loss=PrivacyLoss(epsilon=1.0), threshold=50)
    t0 = time.perf_counter()
    dp_funnel(ev, params=FunnelParams(steps=("view", "cart", "buy"), event_column="event_type",
                                      time_column="ts", window=dt.timedelta(days=7)),
              privacy=privacy, ledger=led, run_id="b")  # fmt: skip
    t1 = time.perf_counter()
    dp_retention(ev, params=RetentionParams(time_column="ts", period="week",
                                            start=dt.date(2026, 6, 1), cohorts=12, max_offset=8),
                 privacy=privacy, ledger=led, run_id="b")  # fmt: skip
    t2 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n### Analytics stage on {rows:,} events ({users:,} users)\n")
    print("| step | seconds |\n|---|---|")
    print(f"| funnel | {t1 - t0:.1f} |\n| retention | {t2 - t1:.1f} |\n| total | {t2 - t0:.1f} |")
    print(f"\npeak RSS of the process (data generation included): {rss:,.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ab-runs", type=int, default=100)
    ap.add_argument("--ab-users", type=int, default=12_000)
    ap.add_argument("--ab-epsilon", type=float, default=0.5)
    ap.add_argument("--funnel-runs", type=int, default=20)
    ap.add_argument("--taobao-runs", type=int, default=20)
    ap.add_argument("--big-rows", type=int, default=10_000_000)
    ap.add_argument("--taobao", type=Path, default=TAOBAO, help="the Taobao sample folder")
    ap.add_argument("--skip", nargs="*", default=[])
    a = ap.parse_args()
    if "ab" not in a.skip:
        ab_coverage(a.ab_runs, a.ab_epsilon, a.ab_users)
    if "funnel" not in a.skip:
        funnel_accuracy(a.funnel_runs, 200_000, 2_000_000)
    if "taobao" not in a.skip:
        taobao(a.taobao_runs, a.taobao)
    if "big" not in a.skip:
        big(a.big_rows, 500_000)


if __name__ == "__main__":
    main()
