"""DP aggregation benchmark: privacy_profile vs PipelineDP (local) vs OpenDP, plus pandas.

Task: 200k users, ~2.5M order rows (orders per user: truncated Zipf on 1..200), 8 segments x 30
cities; per group a DP distinct-user count, sum and mean of amount; epsilon 1 in total, delta
1e-6 for private group selection; at most 3 groups per user and 3 rows per user and group;
amount clipped to [0, 1000]. Median wall time of 3 runs; data in memory.

    .venv/bin/python benchmarks/dp_aggregate.py [--users 200000] [--rows 2500000] [--runs 3]

Errors are relative to the true (unbounded, non-private) values of each released group;
"bounding bias" is the error of the bounded statistics without noise.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from privacy_profile.dp import (
    Aggregation,
    Bounds,
    BudgetLedger,
    BudgetWindow,
    DPRandom,
    MetricSpec,
    PrivacyLoss,
    PrivacyUnit,
    PrivateSelection,
    bound_contributions,
    dp_aggregate,
)

BY = ["segment", "city"]
LO, HI = 0.0, 1000.0
EPS, DELTA, K, M = 1.0, 1e-6, 3, 3


def make_data(n_users: int, n_rows: int, seed: int = 0) -> pd.DataFrame:
    gen = np.random.default_rng(seed)
    k = np.arange(1, 201)
    s = 0.5
    for s in np.linspace(0.5, 2.5, 401):  # Zipf exponent giving the wanted mean
        p = k**-s / (k**-s).sum()
        if (p * k).sum() <= n_rows / n_users:
            break
    orders = gen.choice(k, size=n_users, p=k**-s / (k**-s).sum())
    seg_p = np.array([0.3, 0.2, 0.15, 0.12, 0.09, 0.07, 0.05, 0.02])
    city_p = 1 / np.arange(1, 31) ** 1.1
    city_p /= city_p.sum()
    useg = gen.choice(8, size=n_users, p=seg_p)
    ucity = gen.choice(30, size=n_users, p=city_p)
    umean = gen.lognormal(4.5, 0.7, size=n_users)  # per-user spending level
    user = np.repeat(np.arange(n_users), orders)
    n = user.size
    away = gen.random(n) < 0.25  # a quarter of orders outside the home city
    city = np.where(away, gen.choice(30, size=n, p=city_p), ucity[user])
    df = pd.DataFrame(
        {
            "user_id": user + 10_000_000,
            "segment": np.array([f"seg{i}" for i in range(8)])[useg[user]],
            "city": np.array([f"city{i:02d}" for i in range(30)])[city],
            "amount": np.round(umean[user] * gen.lognormal(0, 0.6, size=n), 2),
        }
    )
    return df.sample(frac=1, random_state=seed).reset_index(drop=True)


def truth(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby(BY).agg(
        users=("user_id", "nunique"), total=("amount", "sum"), mean=("amount", "mean")
    )
    return g


def run_pandas(df: pd.DataFrame) -> pd.DataFrame:
    return truth(df).reset_index()


def run_privacy_profile(df: pd.DataFrame) -> pd.DataFrame:
    b = Bounds(lower=LO, upper=HI)
    ledger = BudgetLedger.in_memory(
        dataset="bench",
        budget=PrivacyLoss(epsilon=EPS, delta=DELTA),
        window=BudgetWindow.lifetime(),
    )
    res = dp_aggregate(
        df,
        unit=PrivacyUnit(column="user_id", max_groups_contributed=K, max_rows_per_group=M),
        by=BY,
        metrics=[
            MetricSpec(aggregation=Aggregation.PRIVACY_ID_COUNT),
            MetricSpec(aggregation=Aggregation.SUM, column="amount", bounds=b, name="total"),
            MetricSpec(aggregation=Aggregation.MEAN, column="amount", bounds=b, name="mean"),
        ],
        loss=PrivacyLoss(epsilon=EPS, delta=DELTA),
        ledger=ledger,
        run_id="bench",
        groups=PrivateSelection(),
    )
    t = res.table
    return pd.DataFrame(
        {
            "segment": t.segment,
            "city": t.city,
            "users": t.privacy_id_count,
            "total": t.total,
            "mean": t["mean"],
        }
    )


def run_pipeline_dp(df: pd.DataFrame) -> pd.DataFrame:
    import pipeline_dp

    accountant = pipeline_dp.NaiveBudgetAccountant(total_epsilon=EPS, total_delta=DELTA)
    engine = pipeline_dp.DPEngine(accountant, pipeline_dp.LocalBackend())
    params = pipeline_dp.AggregateParams(
        noise_kind=pipeline_dp.NoiseKind.LAPLACE,
        metrics=[
            pipeline_dp.Metrics.PRIVACY_ID_COUNT,
            pipeline_dp.Metrics.SUM,
            pipeline_dp.Metrics.MEAN,
        ],
        max_partitions_contributed=K,
        max_contributions_per_partition=M,
        min_value=LO,
        max_value=HI,
    )
    rows = zip(
        df.user_id.tolist(), df.segment.tolist(), df.city.tolist(), df.amount.tolist(), strict=True
    )
    extractors = pipeline_dp.DataExtractors(
        privacy_id_extractor=lambda r: r[0],
        partition_extractor=lambda r: (r[1], r[2]),
        value_extractor=lambda r: r[3],
    )
    out = engine.aggregate(rows, params, extractors)
    accountant.compute_budgets()
    recs = [(key[0], key[1], m.privacy_id_count, m.sum, m.mean) for key, m in out]
    return pd.DataFrame(recs, columns=["segment", "city", "users", "total", "mean"])


def run_opendp(df: pd.DataFrame) -> pd.DataFrame:
    import opendp.prelude as dp
    import polars as pl

    dp.enable_features("contrib")
    # OpenDP 0.16 fails on truncate_num_groups over two columns ("multiple fields with name
    # 'segment'"), so the two keys are joined into one column for it.
    lf = (
        pl.from_pandas(df)
        .with_columns(grp=pl.col("segment") + "|" + pl.col("city"))
        .drop("segment", "city")
        .lazy()
    )
    by = ["grp"]
    context = dp.Context.compositor(
        data=lf,
        privacy_unit=dp.unit_of(
            contributions=[
                dp.polars.Bound(per_group=M),
                dp.polars.Bound(by=by, num_groups=K),
            ],
            identifier="user_id",
        ),
        privacy_loss=dp.loss_of(epsilon=EPS, delta=DELTA),
        split_evenly_over=2,
    )
    amount = pl.col("amount").fill_null(0.0)
    # query 1 (half the budget): one row per user and group, so len() counts distinct users
    users = (
        context.query()
        .truncate_per_group(1)
        .truncate_num_groups(K, by=by)
        .group_by(by)
        .agg(dp.len().alias("users"))
        .release()
        .collect()
    )
    # query 2 (other half): sum and mean with the row caps
    values = (
        context.query()
        .truncate_per_group(M)
        .truncate_num_groups(K, by=by)
        .group_by(by)
        .agg(amount.dp.sum((LO, HI)).alias("total"), amount.dp.mean((LO, HI)).alias("mean"))
        .release()
        .collect()
    )
    out = users.join(values, on=by, how="inner").to_pandas()
    out[["segment", "city"]] = out.grp.str.split("|", expand=True)
    return out[["segment", "city", "users", "total", "mean"]]


def bounding_bias(df: pd.DataFrame, true: pd.DataFrame) -> tuple[float, float, float]:
    """Median relative error of the bounded (noise-free) user count, sum and mean."""
    unit = PrivacyUnit(column="user_id", max_groups_contributed=K, max_rows_per_group=M)
    ucodes, uniq = pd.factorize(df.user_id)
    gcodes, gkeys = pd.MultiIndex.from_frame(df[BY]).factorize()
    b = bound_contributions(
        np.asarray(ucodes, dtype=np.int64),
        np.asarray(gcodes, dtype=np.int64),
        len(uniq),
        len(gkeys),
        unit=unit,
        rng=DPRandom.for_testing(1),
    )
    users = np.bincount(b.pair_group, minlength=len(gkeys))
    amt = df.amount.clip(LO, HI).to_numpy()[b.rows]
    total = np.bincount(b.row_group, weights=amt, minlength=len(gkeys))
    rows = np.bincount(b.row_group, minlength=len(gkeys))
    idx = pd.MultiIndex.from_tuples(list(gkeys), names=BY)
    bounded = pd.DataFrame(
        {"users": users, "total": total, "mean": total / np.maximum(rows, 1)}, index=idx
    )
    t = true.loc[bounded.index]
    return tuple(
        float(np.median(np.abs(bounded[c] / t[c] - 1))) for c in ("users", "total", "mean")
    )  # type: ignore[return-value]


def score(out: pd.DataFrame, true: pd.DataFrame) -> dict[str, float]:
    m = out.merge(true.reset_index(), on=BY, suffixes=("", "_true"))
    return {
        "released": len(out) / len(true),
        "users": float(np.median(np.abs(m.users / m.users_true - 1))),
        "total": float(np.median(np.abs(m.total / m.total_true - 1))),
        "mean": float(np.median(np.abs(m["mean"] / m.mean_true - 1))),
    }


def timed(
    fn: Callable[[pd.DataFrame], pd.DataFrame], df: pd.DataFrame, runs: int
) -> tuple[float, list[pd.DataFrame]]:
    times, outs = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        outs.append(fn(df))
        times.append(time.perf_counter() - t0)
    return statistics.median(times), outs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=200_000)
    ap.add_argument("--rows", type=int, default=2_500_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip", nargs="*", default=[])
    args = ap.parse_args()
    df = make_data(args.users, args.rows)
    true = truth(df)
    print(f"rows={len(df)} users={df.user_id.nunique()} groups={len(true)}")
    bias = bounding_bias(df, true)
    libs: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
        "pandas groupby (not private)": run_pandas,
        "privacy_profile": run_privacy_profile,
        "PipelineDP 0.3.1 local": run_pipeline_dp,
        "OpenDP 0.16 polars": run_opendp,
    }
    rows: list[tuple[str, Any]] = []
    for name, fn in libs.items():
        if any(s in name for s in args.skip):
            continue
        try:
            t, outs = timed(fn, df, args.runs)
        except Exception as exc:  # report and go on: a peer's API error is a result too
            rows.append((name, f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"))
            continue
        scores = [score(o, true) for o in outs]
        med = {k: statistics.median(s[k] for s in scores) for k in scores[0]}
        rows.append((name, (t, med)))
    print(
        f"\n| library | time (median of {args.runs}) | groups released | user-count error "
        "| sum error | mean error |"
    )
    print("|---|---|---|---|---|---|")
    for name, r in rows:
        if isinstance(r, str):
            print(f"| {name} | {r} | | | | |")
            continue
        t, s = r
        print(
            f"| {name} | {t:.2f} s | {s['released']:.0%} | {s['users']:.1%} "
            f"| {s['total']:.1%} | {s['mean']:.1%} |"
        )
    print(f"| bounding alone (no noise) | | 100% | {bias[0]:.1%} | {bias[1]:.1%} | {bias[2]:.1%} |")


if __name__ == "__main__":
    main()
