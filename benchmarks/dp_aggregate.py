"""DP aggregation benchmark: privacy_profile vs PipelineDP (local) vs OpenDP, plus pandas.

Task: 200k users, ~2.5M order rows (orders per user: truncated Zipf on 1..200), 8 segments x 30
cities; per group a DP distinct-user count, sum and mean of amount; epsilon 1 in total, delta
1e-6 for private group selection; at most 3 groups per user and 3 rows per user and group;
amount clipped to [0, 1000]. Median wall time of 3 runs; data in memory.

Two data profiles (see ``make_data``), each run in full: segment and home city are drawn once
per user; each order goes to the home city, except a share ``away`` (A: 25%, B: 5%) drawn again
from the city distribution. The bounding bias on user counts depends mostly on that share.

    .venv/bin/python benchmarks/dp_aggregate.py [--users 200000] [--rows 2500000] [--runs 3]
        [--profile A B] [--skip PipelineDP ...]

Errors are relative to the true (unbounded, non-private) values: over the groups each library
released, and over the groups every private library released in every run. "Bounding alone"
is the error of the bounded statistics without noise, over all groups.
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
Bias = tuple[float, float, float]
LO, HI = 0.0, 1000.0
EPS, DELTA, K, M = 1.0, 1e-6, 3, 3


def make_data(n_users: int, n_rows: int, away: float, seed: int = 0) -> pd.DataFrame:
    """Orders with user attributes segment and home city; ``away`` of the orders go to a city
    drawn from the city distribution (which may be the home city again)."""
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
    elsewhere = gen.random(n) < away
    city = np.where(elsewhere, gen.choice(30, size=n, p=city_p), ucity[user])
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
        threshold=0,
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
    import pipeline_dp  # type: ignore[import-untyped]

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


def _opendp_frame(df: pd.DataFrame) -> Any:
    """One group column for OpenDP: ``<hash of the key>|segment|city``.

    OpenDP 0.16's own ``truncate_num_groups(keep="sample")`` builds
    ``pl.struct(struct.hash(), struct)``, whose two fields get the same name under polars 1.36
    ("multiple fields with name ... found"), and its matcher accepts no other struct or hash
    expression. Its "sample" is not per-user random anyway: it ranks groups by the hash of the
    key, the same order for every user. Prefixing the key with its (public, data-independent)
    hash and ranking that single column reproduces exactly that order with an expression the
    matcher accepts. Amounts go in as integer cents (exact: they have two decimals): OpenDP's
    float sum adds a rounding term that grows with the partition length (scale 7x larger here
    with a 10M-row margin); its integer sum has the plain L1 sensitivity.
    """
    import polars as pl

    key = pl.concat_str(pl.col("segment"), pl.col("city"), separator="|")
    return (
        pl.from_pandas(df[["user_id", "segment", "city", "amount"]])
        .lazy()
        .with_columns(
            grp=key.hash(seed=0).cast(pl.String).str.zfill(20) + "|" + key,
            cents=(pl.col("amount") * 100).round(0).cast(pl.Int64),
        )
        .drop("segment", "city", "amount")
    )


def _opendp_groups(lf: Any, keep_k: bool) -> Any:
    """The ``truncate_num_groups`` filter: dense rank of the group key per user.

    OpenDP's matcher reads ``rank < t`` as "t groups", but polars' dense rank starts at 1, so
    ``truncate_num_groups(K)`` (= ``rank < K``) keeps K-1 groups while charging for K.
    ``keep_k=True`` writes ``rank <= K``: K groups kept, and OpenDP charges for K+1.
    """
    import polars as pl

    rank = pl.col("grp").rank("dense").over("user_id")
    return lf.filter(rank <= K) if keep_k else lf.filter(rank < K)


def run_opendp(df: pd.DataFrame, keep_k: bool = False) -> pd.DataFrame:
    """OpenDP 0.16 polars Context API, user-level privacy unit, private key release.

    Unit: ``contributions=1`` with ``identifier="user_id"`` (the documented form: one user is
    one identifier); the bounds come from truncation, not from claims in the unit. Two queries,
    half the budget each (epsilon 0.5, delta 5e-7): distinct users per group (one row per user
    and group), then rows and sum per group (at most M rows per user and group); mean = sum /
    rows, clamped (post-processing). Released groups: those both queries released. The margin
    states public facts only: at most 240 groups (8 segments x 30 cities) and at most 10M
    rows per group.
    """
    import opendp.prelude
    import polars as pl

    dp: Any = opendp.prelude  # its polars plugin (``.dp`` on expressions) is untyped
    dp.enable_features("contrib")
    by = ["grp"]
    context = dp.Context.compositor(
        data=_opendp_frame(df),
        privacy_unit=dp.unit_of(contributions=1, identifier="user_id"),
        privacy_loss=dp.loss_of(epsilon=EPS, delta=DELTA),
        split_evenly_over=2,
        margins=[dp.polars.Margin(by=by, max_groups=240, max_length=10_000_000)],
    )
    cents: Any = pl.col("cents").fill_null(0)
    users = (
        _opendp_groups(context.query().truncate_per_group(1, by=by), keep_k)
        .group_by(by)
        .agg(dp.len(signed=False).alias("users"))
        .release()
        .collect()
    )
    values = (
        _opendp_groups(context.query().truncate_per_group(M, by=by), keep_k)
        .group_by(by)
        .agg(
            dp.len(signed=False).alias("rows"),
            cents.dp.sum((int(LO * 100), int(HI * 100))).alias("total"),
        )
        .release()
        .collect()
    )
    out = users.join(values, on=by, how="inner").to_pandas()
    out["total"] = out.total / 100.0
    out["mean"] = (out.total / out.rows.clip(lower=1)).clip(LO, HI)
    key = out.grp.str.split("|", expand=True)
    out["segment"], out["city"] = key[1], key[2]
    return out[["segment", "city", "users", "total", "mean"]]


def run_opendp_keep_k(df: pd.DataFrame) -> pd.DataFrame:
    return run_opendp(df, keep_k=True)


def opendp_bounding_bias(df: pd.DataFrame, true: pd.DataFrame, keep_k: bool) -> Bias:
    """OpenDP's truncation (hash-ordered groups, K-1 or K of them) without noise."""
    import polars as pl

    lf = _opendp_frame(df)
    rows = lf.filter(pl.int_range(pl.len()).shuffle(seed=1).over("user_id", "grp") < M)
    rows = _opendp_groups(rows, keep_k)
    g = (
        rows.group_by("grp")
        .agg(
            users=pl.col("user_id").n_unique(),
            total=pl.col("cents").clip(LO * 100, HI * 100).sum() / 100,
            mean=pl.col("cents").clip(LO * 100, HI * 100).mean() / 100,
        )
        .collect()
        .to_pandas()
    )
    key = g.grp.str.split("|", expand=True)
    g["segment"], g["city"] = key[1], key[2]
    return _bias_of(g.set_index(BY)[["users", "total", "mean"]], true)


def _bias_of(bounded: pd.DataFrame, true: pd.DataFrame) -> Bias:
    t = true.loc[bounded.index]
    u, tot, mean = (
        float(np.median(np.abs(bounded[c] / t[c] - 1))) for c in ("users", "total", "mean")
    )
    return u, tot, mean


def bounding_bias(df: pd.DataFrame, true: pd.DataFrame) -> Bias:
    """Median relative error of the bounded (noise-free) user count, sum and mean, with
    privacy_profile's bounding (uniformly random groups and rows per user, as PipelineDP)."""
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
    return _bias_of(bounded[users > 0], true)


def score(
    out: pd.DataFrame, true: pd.DataFrame, only: pd.MultiIndex | None = None
) -> dict[str, float]:
    """Groups released and median relative errors (over ``only`` if given, else over the
    groups ``out`` released)."""
    m = out.merge(true.reset_index(), on=BY, suffixes=("", "_true"))
    released = len(out) / len(true)
    if only is not None:
        m = m[pd.MultiIndex.from_frame(m[BY]).isin(only)]
    return {
        "released": released,
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


PROFILES = {
    "A: 25% of orders in a random city": 0.25,
    "B: segment and city user attributes, 5% of orders elsewhere": 0.05,
}


def run_profile(name: str, away: float, args: argparse.Namespace) -> None:
    df = make_data(args.users, args.rows, away=away)
    true = truth(df)
    pairs = df[["user_id", *BY]].drop_duplicates()
    per_user = pairs.groupby("user_id").size()
    print(
        f"\n### Profile {name}\n\nrows={len(df)} users={df.user_id.nunique()} "
        f"groups={len(true)}; groups per user: median {per_user.median():.0f}, "
        f"mean {per_user.mean():.2f}, share of users above {K}: {(per_user > K).mean():.1%}; "
        f"(user, group) pairs dropped by the cap of {K}: "
        f"{1 - np.minimum(per_user, K).sum() / per_user.sum():.1%}"
    )
    libs: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
        "pandas groupby (not private)": run_pandas,
        "privacy_profile (private selection)": run_privacy_profile,
        "PipelineDP 0.3.1 local (private selection)": run_pipeline_dp,
        "OpenDP 0.16 polars, truncate_num_groups(3) (keeps 2)": run_opendp,
        "OpenDP 0.16 polars, rank <= 3 (keeps 3, charged as 4)": run_opendp_keep_k,
    }
    rows: list[tuple[str, Any]] = []
    outputs: dict[str, tuple[float, list[pd.DataFrame]]] = {}
    for lib, fn in libs.items():
        if any(s in lib for s in args.skip):
            continue
        try:
            outputs[lib] = timed(fn, df, args.runs)
        except Exception as exc:  # report and go on: a peer's API error is a result too
            msg = str(exc).strip().splitlines()[0][:120]
            rows.append((lib, f"failed: {type(exc).__name__}: {msg}"))
    # groups every private library released in every run: errors on the same groups
    common = true.index
    for lib, (_, outs) in outputs.items():
        if "pandas" not in lib:
            for o in outs:
                common = common.intersection(pd.MultiIndex.from_frame(o[BY]))
    for lib, (t, outs) in outputs.items():
        own = [score(o, true) for o in outs]
        same = [score(o, true, only=common) for o in outs]
        med = {k: statistics.median(s[k] for s in own) for k in own[0]}
        med_same = {k: statistics.median(s[k] for s in same) for k in same[0]}
        rows.append((lib, (t, med, med_same)))
    print(
        f"\n| library | time (median of {args.runs}) | groups released | user-count error "
        f"| sum error | mean error | on the {len(common)} groups all released: users / sum / mean |"
    )
    print("|---|---|---|---|---|---|---|")
    for lib, r in rows:
        if isinstance(r, str):
            print(f"| {lib} | {r} | | | | | |")
            continue
        t, s, c = r
        print(
            f"| {lib} | {t:.2f} s | {s['released']:.0%} | {s['users']:.1%} "
            f"| {s['total']:.1%} | {s['mean']:.1%} "
            f"| {c['users']:.1%} / {c['total']:.1%} / {c['mean']:.1%} |"
        )
    biases = [
        ("random groups and rows per user: privacy_profile, PipelineDP", bounding_bias(df, true))
    ]
    if not any(s in "OpenDP 0.16 polars" for s in args.skip):
        biases += [
            ("OpenDP, 2 hash-ordered groups", opendp_bounding_bias(df, true, keep_k=False)),
            ("OpenDP, 3 hash-ordered groups", opendp_bounding_bias(df, true, keep_k=True)),
        ]
    for label, b in biases:
        print(
            f"| bounding alone, no noise ({label}), all groups | | | {b[0]:.1%} | {b[1]:.1%} "
            f"| {b[2]:.1%} | |"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=200_000)
    ap.add_argument("--rows", type=int, default=2_500_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip", nargs="*", default=[])
    ap.add_argument("--profile", choices=["A", "B"], nargs="*", default=["A", "B"])
    args = ap.parse_args()
    for name, away in PROFILES.items():
        if name[0] in args.profile:
            run_profile(name, away, args)


if __name__ == "__main__":
    main()
