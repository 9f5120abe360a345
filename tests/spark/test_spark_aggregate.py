"""DP aggregation on Spark: the same pre-noise aggregates as pandas when no unit exceeds the
caps; bounding with secure random keys respects the caps; missing units are refused before any
charge; the ledger is charged before Spark aggregates; with a huge epsilon the released values
are the pandas path's."""

from __future__ import annotations

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
    MetricSpec,
    PrivacyLoss,
    PrivacyUnit,
    PublicGroups,
    dp_aggregate,
)
from privacy_profile.errors import BudgetExceededError, InputError
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


def _orders(seed: int = 7, users: int = 200) -> pd.DataFrame:
    gen = np.random.default_rng(seed)
    n_orders = gen.integers(1, 12, size=users)
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
