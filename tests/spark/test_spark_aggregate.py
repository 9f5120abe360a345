"""DP aggregation on Spark: the same pre-noise aggregates as pandas when no unit exceeds the
caps; bounding with secure random keys respects the caps; missing units are refused before any
charge; the ledger is charged before Spark aggregates; with a huge epsilon the released values
are the pandas path's. Under zCDP: the same pre-noise aggregates, ledger rows (rho, labels) and,
with a huge rho, released values as pandas; spies on every mechanism's rho, L2 sensitivity and
sigma; refusals charge nothing and draw no noise."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from privacy_profile.dp import (
    Aggregation,
    Bounds,
    BudgetLedger,
    BudgetWindow,
    DPRandom,
    Mechanism,
    MetricSpec,
    PrivacyLoss,
    PrivacyUnit,
    PrivateSelection,
    PublicGroups,
    ZcdpLoss,
    dp_aggregate,
)
from privacy_profile.dp import aggregate as pandas_aggregate
from privacy_profile.dp import mechanisms as mech
from privacy_profile.errors import BudgetExceededError, InputError, PrivacyParameterError
from privacy_profile.spark import aggregate as spark_aggregate
from privacy_profile.spark.aggregate import _bounded_statistics, spark_dp_aggregate

pytestmark = pytest.mark.slow

B = Bounds(lower=0.0, upper=100.0)
METRICS = [
    MetricSpec(aggregation=Aggregation.PRIVACY_ID_COUNT),
    MetricSpec(aggregation=Aggregation.COUNT),
    MetricSpec(aggregation=Aggregation.SUM, column="amount", bounds=B),
    MetricSpec(aggregation=Aggregation.MEAN, column="amount", bounds=B),
]
GROUPS = PublicGroups.of([(s, c) for s in "ab" for c in "xyz"] + [("c", "x")])


def _orders(seed: int = 7, users: int = 200, max_orders: int = 11) -> pd.DataFrame:
    gen = np.random.default_rng(seed)
    n_orders = gen.integers(1, max_orders + 1, size=users)
    user = np.repeat(np.arange(users), n_orders)
    n = user.size
    return pd.DataFrame(
        {
            "user": user.astype(np.int64),
            "seg": np.where(gen.random(n) < 0.5, "a", "b"),
            "city": gen.choice(["x", "y", "z"], size=n),
            "amount": gen.uniform(-50, 150, size=n),
        }
    )


def _ledger(eps: float = 1e9) -> BudgetLedger:
    return BudgetLedger.in_memory(
        dataset="t", budget=PrivacyLoss(epsilon=eps, delta=0.5), window=BudgetWindow.lifetime()
    )


def _plan_parts() -> Any:
    from privacy_profile.dp.aggregate import plan_budget

    big = PrivacyUnit(column="user", max_groups_contributed=10, max_rows_per_group=100)
    return big, plan_budget(unit=big, metrics=METRICS, loss=PrivacyLoss(epsilon=1.0), groups=GROUPS)


def test_pre_noise_aggregates_equal_pandas_when_caps_do_not_bind(spark: Any) -> None:
    df = _orders()
    unit, plan = _plan_parts()
    stats = _bounded_statistics(spark.createDataFrame(df), unit, ["seg", "city"], plan.parts)
    got = stats.set_index(["seg", "city"]).sort_index()
    from privacy_profile.dp.mechanisms import to_grid

    (sum_part,) = [p for p in plan.parts if p.name == "sum:amount"]
    assert sum_part.step is not None and sum_part.bounds is not None
    units = to_grid(df.amount.clip(0, 100).to_numpy() - 50.0, sum_part.step, 50.0)
    a = df.assign(a=units).groupby(["seg", "city"])
    want = a.agg(users=("user", "nunique"), rows=("a", "size"), s=("a", "sum")).sort_index()
    assert len(got) == len(want) == 6
    np.testing.assert_array_equal(got["privacy_id_count"].to_numpy(), want["users"].to_numpy())
    np.testing.assert_array_equal(got["count"].to_numpy(), want["rows"].to_numpy())
    np.testing.assert_array_equal(got["sum:amount"].to_numpy(), want["s"].to_numpy())


def test_bounding_respects_the_caps(spark: Any) -> None:
    from pyspark.sql import functions as F

    df = _orders()
    unit = PrivacyUnit(column="user", max_groups_contributed=2, max_rows_per_group=1)
    _, plan = _plan_parts()
    stats = _bounded_statistics(spark.createDataFrame(df), unit, ["seg", "city"], plan.parts)
    users = df.user.nunique()
    # each unit keeps at most 2 groups and 1 row in each: 2 * users pairs and rows at most
    assert int(stats["privacy_id_count"].sum()) <= 2 * users
    assert (stats["count"] == stats["privacy_id_count"]).all()
    # and every unit with at least 2 groups keeps exactly 2 (random, not "the first")
    groups_per_user = df.groupby("user")[["seg", "city"]].apply(lambda g: len(g.drop_duplicates()))
    assert int(stats["privacy_id_count"].sum()) == int(np.minimum(groups_per_user, 2).sum())
    assert spark.createDataFrame(df).where(F.col("user").isNull()).count() == 0


def test_charged_before_spark_and_refused_when_spent(spark: Any) -> None:
    ledger = _ledger(eps=0.5)
    unit = PrivacyUnit(column="user", max_groups_contributed=2, max_rows_per_group=3)
    with pytest.raises(BudgetExceededError):
        spark_dp_aggregate(
            spark.createDataFrame(_orders()),
            unit=unit,
            by=["seg", "city"],
            metrics=METRICS,
            loss=PrivacyLoss(epsilon=1.0, delta=1e-6),
            ledger=ledger,
            run_id="r",
            groups=GROUPS,
            threshold=0,
            rng=DPRandom.for_testing(1),
        )
    assert ledger.charges_for_run("r") == []


def test_missing_units_are_refused_before_any_charge(spark: Any) -> None:
    ledger = _ledger()
    df = _orders().astype({"user": "float64"})
    df.loc[df.index[:3], "user"] = None
    with pytest.raises(InputError, match="has missing values"):
        spark_dp_aggregate(
            spark.createDataFrame(df),
            unit=PrivacyUnit(column="user", max_groups_contributed=2, max_rows_per_group=3),
            by=["seg", "city"],
            metrics=METRICS,
            loss=PrivacyLoss(epsilon=1.0, delta=1e-6),
            ledger=ledger,
            run_id="r",
            groups=GROUPS,
            threshold=0,
            rng=DPRandom.for_testing(1),
        )
    assert ledger.charges_for_run("r") == []


def test_missing_values_are_refused_before_any_charge_where_pandas_refuses_them(
    spark: Any,
) -> None:
    """A NaN (not only a null) in a read row is refused with nothing charged; rows the pandas
    path does not read (outside the public groups, no group key) are not refused, as on pandas
    (the NaN was clamped to the upper bound before)."""
    from pyspark.sql import functions as F

    df = _orders(max_orders=3)
    sdf = spark.createDataFrame(df)
    nan = float("nan")
    args: dict[str, Any] = {
        "unit": PrivacyUnit(column="user", max_groups_contributed=3, max_rows_per_group=3),
        "by": ["seg", "city"],
        "metrics": METRICS,
        "loss": PrivacyLoss(epsilon=1.0),
        "run_id": "r",
        "groups": GROUPS,
        "threshold": 0,
        "rng": DPRandom.for_testing(1),
    }
    ledger = _ledger()
    bad = sdf.withColumn(
        "amount", F.when(F.col("user") == 0, F.lit(nan)).otherwise(F.col("amount"))
    )
    with pytest.raises(InputError, match="'amount' has missing values"):
        spark_dp_aggregate(bad, ledger=ledger, **args)
    assert ledger.charges_for_run("r") == []
    unread = [(9998, "q", "w", nan), (9999, None, "x", nan)]
    spark_dp_aggregate(
        sdf.unionByName(spark.createDataFrame(unread, schema=sdf.schema)), ledger=ledger, **args
    )
    with_unread = pd.concat([df, pd.DataFrame(unread, columns=df.columns)], ignore_index=True)
    dp_aggregate(with_unread, ledger=ledger, **(args | {"run_id": "p"}))
    assert len(ledger.charges_for_run("r")) == len(ledger.charges_for_run("p")) == 3


def test_huge_epsilon_releases_the_pandas_values(spark: Any) -> None:
    df = _orders(seed=3)
    unit = PrivacyUnit(column="user", max_groups_contributed=10, max_rows_per_group=100)
    args: dict[str, Any] = {
        "unit": unit,
        "by": ["seg", "city"],
        "metrics": METRICS,
        "loss": PrivacyLoss(epsilon=1e8, delta=1e-6),
        "run_id": "r",
        "groups": GROUPS,
        "threshold": 0,
    }
    a = dp_aggregate(df, ledger=_ledger(), rng=DPRandom.for_testing(2), **args).table
    b = spark_dp_aggregate(
        spark.createDataFrame(df), ledger=_ledger(), rng=DPRandom.for_testing(2), **args
    ).table
    a = a.sort_values(["seg", "city"]).reset_index(drop=True)
    b = b.sort_values(["seg", "city"]).reset_index(drop=True)
    assert list(a.columns) == list(b.columns) and len(a) == len(b) == 7
    for col in ("privacy_id_count", "count"):
        np.testing.assert_array_equal(a[col].to_numpy(), b[col].to_numpy())
    for col in ("sum_amount", "mean_amount"):
        np.testing.assert_allclose(a[col].to_numpy(), b[col].to_numpy(), atol=1e-3)


# -- zCDP ------------------------------------------------------------------------------------

Z_UNIT = PrivacyUnit(column="user", max_groups_contributed=3, max_rows_per_group=3)


def _zcdp_args(rho: float) -> dict[str, Any]:
    return {
        "unit": Z_UNIT,
        "by": ["seg", "city"],
        "metrics": METRICS,
        "loss": ZcdpLoss(rho=rho),
        "run_id": "r",
        "groups": GROUPS,
        "threshold": 0,
        "label": "z",
    }


def test_zcdp_matches_pandas_pre_noise_ledger_mechanisms_and_released_values(
    spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One run per engine under a huge rho (3e6, 1e6 per part) on data where the caps do not
    bind (at most 3 orders per user): the same true statistics reach the release, the same
    rho-denominated ledger rows, the discrete Gaussian with sigma = L2 / sqrt(2 rho) on both,
    and the same released values (counts exactly: their sigma is below 0.004; sums and means
    within 5 sd of the difference of two independent noises, a false-positive rate below
    1e-5 over the 14 values)."""
    df = _orders(seed=5, max_orders=3)
    assert df.groupby("user").size().max() <= 3
    seen: dict[str, list[Any]] = {"pandas": [], "spark": []}

    def spy_release(engine: str, real: Any) -> Any:
        def spy(plan: Any, metrics: Any, true_stats: Any, keys_out: Any, *a: Any, **kw: Any) -> Any:
            seen[engine].append((plan, {k: np.asarray(v) for k, v in true_stats.items()}, keys_out))
            return real(plan, metrics, true_stats, keys_out, *a, **kw)

        return spy

    monkeypatch.setattr(
        pandas_aggregate,
        "release_aggregates",
        spy_release("pandas", pandas_aggregate.release_aggregates),
    )
    monkeypatch.setattr(
        spark_aggregate,
        "release_aggregates",
        spy_release("spark", spark_aggregate.release_aggregates),
    )
    scales: list[tuple[Mechanism, float, float]] = []
    noises: list[tuple[Mechanism, float]] = []
    real_scale, real_noise = mech.zcdp_scale, mech.add_noise

    def scale_spy(mechanism: Mechanism, *, rho: float, l2_sensitivity: float) -> float:
        scales.append((mechanism, rho, l2_sensitivity))
        return real_scale(mechanism, rho=rho, l2_sensitivity=l2_sensitivity)

    def noise_spy(values: Any, mechanism: Mechanism, scale: float, rng: Any, **kw: Any) -> Any:
        noises.append((mechanism, scale))
        return real_noise(values, mechanism, scale, rng, **kw)

    monkeypatch.setattr(mech, "zcdp_scale", scale_spy)
    monkeypatch.setattr(mech, "add_noise", noise_spy)

    args = _zcdp_args(rho=3e6)
    pl, sl = _ledger(), _ledger()
    a = dp_aggregate(df, ledger=pl, rng=DPRandom.for_testing(2), **args)
    b = spark_dp_aggregate(
        spark.createDataFrame(df), ledger=sl, rng=DPRandom.for_testing(2), **args
    )

    # the mechanisms: rho per part, L2 sensitivity from k = 3, m = 3, sigma = l2 / sqrt(2 rho)
    step = mech.grid_step(B.half_width)
    l2 = [
        math.sqrt(3),
        math.sqrt(3) * 3,
        math.sqrt(3) * 3 * mech.grid_units(B.half_width, step) * step,
    ]
    kinds = [
        Mechanism.DISCRETE_GAUSSIAN,
        Mechanism.DISCRETE_GAUSSIAN,
        Mechanism.DISCRETE_GAUSSIAN_GRID,
    ]
    assert len(scales) == len(noises) == 6  # three parts, planned and noised once per engine
    for engine in (0, 1):
        run_scales, run_noises = (
            scales[3 * engine : 3 * engine + 3],
            noises[3 * engine : 3 * engine + 3],
        )
        assert [s[0] for s in run_scales] == kinds == [n[0] for n in run_noises]
        assert [s[1] for s in run_scales] == pytest.approx([1e6] * 3)
        assert [s[2] for s in run_scales] == pytest.approx(l2)
        assert [n[1] for n in run_noises] == pytest.approx([x / math.sqrt(2e6) for x in l2])

    # the ledger: the same rows, in rho (no epsilon or delta), labelled per part
    def rows(ledger: BudgetLedger) -> list[tuple[str, str, float, float, float, float]]:
        return [
            (c.label, c.mechanism, c.rho, c.epsilon, c.delta, c.sensitivity)
            for c in ledger.charges_for_run("r")
        ]

    assert rows(pl) == rows(sl)
    assert [r[0] for r in rows(sl)] == ["z/privacy_id_count", "z/count", "z/sum:amount"]
    assert [r[2] for r in rows(sl)] == pytest.approx([1e6] * 3)
    assert all(r[3] == 0.0 and r[4] == 0.0 for r in rows(sl))
    assert sl.spent_rho() == pytest.approx(3e6) and [c.rho for c in b.charges] == [
        r[2] for r in rows(sl)
    ]
    assert [r.rho for r in b.records] == [r.rho for r in a.records]

    # the same true bounded statistics reached the (shared) release code
    (p_plan, p_true, p_keys), (s_plan, s_true, s_keys) = seen["pandas"][0], seen["spark"][0]
    assert p_plan == s_plan and list(p_keys) == list(s_keys) and p_true.keys() == s_true.keys()
    for name, values in p_true.items():
        np.testing.assert_array_equal(values, s_true[name], err_msg=name)
    assert int(p_true["privacy_id_count"].sum()) > 0

    # the released values
    a = a.table.sort_values(["seg", "city"]).reset_index(drop=True)
    b = b.table.sort_values(["seg", "city"]).reset_index(drop=True)
    assert list(a.columns) == list(b.columns) and len(a) == len(b) == 7
    for col in ("privacy_id_count", "count"):
        np.testing.assert_array_equal(a[col].to_numpy(), b[col].to_numpy())
    for col in ("sum_amount", "mean_amount"):
        sd = b[f"{col}_noise_sd"].to_numpy()
        np.testing.assert_array_equal(a[f"{col}_noise_sd"].to_numpy(), sd)
        assert (np.abs(a[col].to_numpy() - b[col].to_numpy()) <= 5 * math.sqrt(2) * sd).all()


def test_zcdp_over_budget_is_refused_with_nothing_charged_and_no_noise(
    spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("ran after a refusal")

    monkeypatch.setattr(spark_aggregate, "_bounded_statistics", never)
    monkeypatch.setattr(mech, "add_noise", never)
    # rho = 1 converts to epsilon 1 + 2 sqrt(ln 1e6) ~ 8.4 > 1 at delta 1e-6
    ledger = BudgetLedger.in_memory(
        dataset="t", budget=PrivacyLoss(epsilon=1.0, delta=1e-6), window=BudgetWindow.lifetime()
    )
    with pytest.raises(BudgetExceededError, match="rho=1"):
        spark_dp_aggregate(
            spark.createDataFrame(_orders(max_orders=3)),
            ledger=ledger,
            rng=DPRandom.for_testing(1),
            **_zcdp_args(rho=1.0),
        )
    assert ledger.charges_for_run("r") == [] and ledger.spent_rho() == 0.0


class _ColumnsOnly:
    """A frame with column names and nothing else: any Spark job on it fails."""

    columns = ("user", "seg", "city", "amount")


def test_zcdp_private_selection_is_refused_before_any_spark_job(spark: Any) -> None:
    ledger = _ledger()
    args = _zcdp_args(rho=1.0) | {"groups": PrivateSelection()}
    with pytest.raises(PrivacyParameterError, match="not available under zCDP"):
        spark_dp_aggregate(_ColumnsOnly(), ledger=ledger, rng=DPRandom.for_testing(1), **args)
    assert ledger.charges_for_run("r") == []
