"""Aggregation tests: spies, huge-epsilon convergence, neighbouring data sets, refusal."""

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
    MetricSpec,
    PrivacyLoss,
    PrivacyUnit,
    PrivateSelection,
    PublicGroups,
    dp_aggregate,
    dp_count,
    dp_histogram,
    dp_mean,
    dp_sum,
    dp_top_k,
)
from privacy_profile.dp import mechanisms as mech
from privacy_profile.errors import BudgetExceededError, InputError, PrivacyParameterError

UNIT = PrivacyUnit(column="user", max_groups_contributed=2, max_rows_per_group=3)
B = Bounds(lower=0.0, upper=100.0)
METRICS = [
    MetricSpec(aggregation=Aggregation.PRIVACY_ID_COUNT),
    MetricSpec(aggregation=Aggregation.COUNT),
    MetricSpec(aggregation=Aggregation.SUM, column="amount", bounds=B),
    MetricSpec(aggregation=Aggregation.MEAN, column="amount", bounds=B),
]
GROUPS = PublicGroups.of([(s, c) for s in "ab" for c in "xyz"] + [("c", "x")])


def _run(df: pd.DataFrame, ledger: BudgetLedger, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "unit": UNIT,
        "by": ["seg", "city"],
        "metrics": METRICS,
        "loss": PrivacyLoss(epsilon=1.0, delta=1e-6),
        "ledger": ledger,
        "run_id": "run-1",
        "groups": GROUPS,
        "threshold": 0,
        "rng": DPRandom.for_testing(0),
    }
    args.update(kw)
    return dp_aggregate(df, **args)


def _bounded_truth(df: pd.DataFrame) -> pd.DataFrame:
    """The statistics bounding keeps, when no unit exceeds the caps (used with big caps)."""
    g = df.assign(a=df.amount.clip(0, 100)).groupby(["seg", "city"])
    return g.agg(users=("user", "nunique"), rows=("a", "size"), s=("a", "sum"), m=("a", "mean"))


def test_spy_each_mechanism_gets_its_epsilon_and_sensitivity(
    orders: pd.DataFrame, ledger: BudgetLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, float, float]] = []
    real = mech.noise_scale

    def spy(m: Any, *, loss: PrivacyLoss, sensitivity: float) -> float:
        calls.append((m.value, loss.epsilon, sensitivity))
        return real(m, loss=loss, sensitivity=sensitivity)

    monkeypatch.setattr(mech, "noise_scale", spy)
    res = _run(orders, ledger, weights={"privacy_id_count": 1, "count": 1, "sum:amount": 2})
    assert calls == [
        ("discrete_laplace", pytest.approx(0.25), 2.0),
        ("discrete_laplace", pytest.approx(0.25), 6.0),
        ("discrete_laplace_grid", pytest.approx(0.5), 6.0 * 50.0),
    ]
    assert [(r.epsilon, r.sensitivity, r.scale) for r in res.records] == [
        (pytest.approx(0.25), 2.0, pytest.approx(8.0)),
        (pytest.approx(0.25), 6.0, pytest.approx(24.0)),
        (pytest.approx(0.5), 300.0, pytest.approx(600.0)),
    ]
    assert math.fsum(c.epsilon for c in ledger.charges_for_run("run-1")) == pytest.approx(1.0)
    assert all(
        isinstance(v, str | float | int | None) for r in res.records for v in r.to_dict().values()
    )


def test_add_noise_spy_sees_the_planned_scales(
    orders: pd.DataFrame, ledger: BudgetLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, float, int]] = []
    real = mech.add_noise

    def spy(values: Any, m: Any, scale: float, rng: DPRandom, **kw: Any) -> Any:
        seen.append((m.value, scale, len(values)))
        return real(values, m, scale, rng, **kw)

    monkeypatch.setattr(mech, "add_noise", spy)
    _run(orders, ledger)
    assert seen == [
        ("discrete_laplace", pytest.approx(2 / (1 / 3)), 7),
        ("discrete_laplace", pytest.approx(6 / (1 / 3)), 7),
        ("discrete_laplace_grid", pytest.approx(300 / (1 / 3)), 7),
    ]


def test_huge_epsilon_converges_to_the_bounded_truth(
    orders: pd.DataFrame, ledger: BudgetLedger
) -> None:
    unit = PrivacyUnit(column="user", max_groups_contributed=6, max_rows_per_group=50)
    res = _run(orders, ledger, unit=unit, loss=PrivacyLoss(epsilon=1e7))
    truth = _bounded_truth(orders)
    got = res.table.set_index(["seg", "city"])
    assert got.loc[("c", "x"), "privacy_id_count"] == 0  # public, empty group
    got = got.loc[truth.index]
    assert np.array_equal(got.privacy_id_count, truth.users)
    assert np.array_equal(got["count"], truth.rows)
    np.testing.assert_allclose(got.sum_amount, truth.s, rtol=1e-3)
    np.testing.assert_allclose(got.mean_amount, truth.m, rtol=1e-3)
    assert (got.sum_amount_low <= truth.s).all() and (truth.s <= got.sum_amount_high).all()


def test_caps_are_applied(orders: pd.DataFrame, ledger: BudgetLedger) -> None:
    res = _run(orders, ledger, loss=PrivacyLoss(epsilon=1e7))
    users = orders.user.nunique()
    assert res.table.privacy_id_count.sum() <= 2 * users
    assert res.table["count"].sum() <= 6 * users
    assert (res.table["count"] <= 3 * res.table.privacy_id_count).all()


def test_intervals_cover_at_the_stated_rate(ledger: BudgetLedger) -> None:
    # 400 repetitions; coverage of a 95% interval: binomial, P(< 0.92) ~ 2e-4 at n=400
    df = pd.DataFrame({"user": np.arange(200), "g": 0, "amount": np.linspace(0, 100, 200)})
    unit = PrivacyUnit.one_row_per_unit("user")
    rng = DPRandom.for_testing(5)
    hit = np.zeros(3)
    for _ in range(400):
        res = dp_aggregate(
            df,
            unit=unit,
            by=["g"],
            metrics=METRICS[1:],
            loss=PrivacyLoss(epsilon=0.5),
            ledger=ledger,
            run_id="cov",
            groups=PublicGroups.of([0]),
            threshold=0,
            rng=rng,
        )
        row = res.table.iloc[0]
        for i, (name, true) in enumerate(
            [("count", 200), ("sum_amount", 10_000), ("mean_amount", 50)]
        ):
            hit[i] += row[f"{name}_low"] <= true <= row[f"{name}_high"]
    assert (hit / 400 >= 0.92).all()


def test_neighbouring_data_sets_inequality(ledger: BudgetLedger) -> None:
    """P[M(D) in S] <= e^eps P[M(D') in S] + slack, estimated over 1500 seeds.

    S = {noisy distinct count >= 5}; D' = D plus one unit. Slack is 4 binomial standard errors,
    so a correct mechanism fails with probability well below 1e-4."""
    eps = 1.0
    base = pd.DataFrame({"user": np.arange(5), "g": 0})
    plus = pd.concat([base, pd.DataFrame({"user": [99, 99, 99], "g": [0, 0, 0]})])
    unit = PrivacyUnit(column="user", max_groups_contributed=1, max_rows_per_group=3)
    rng = DPRandom.for_testing(9)
    trials = 1500
    hits = {}
    for name, df in (("D", base), ("D'", plus)):
        vals = [
            dp_aggregate(
                df,
                unit=unit,
                by=["g"],
                metrics=[],
                loss=PrivacyLoss(epsilon=eps),
                ledger=ledger,
                run_id="n",
                groups=PublicGroups.of([0]),
                threshold=0,
                rng=rng,
            ).table.privacy_id_count.iloc[0]
            for _ in range(trials)
        ]
        hits[name] = np.mean(np.array(vals) >= 6)
    slack = 4 * math.sqrt(0.25 / trials)
    assert hits["D'"] <= math.exp(eps) * hits["D"] + slack
    assert hits["D"] <= math.exp(eps) * hits["D'"] + slack
    assert hits["D'"] > hits["D"]  # the test can tell them apart at all


def test_refused_charge_computes_nothing(
    orders: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = BudgetLedger.in_memory(
        dataset="d", budget=PrivacyLoss(epsilon=0.5), window=BudgetWindow.lifetime()
    )

    def boom(*a: Any, **k: Any) -> Any:
        raise AssertionError("noise drawn after a refused charge")

    monkeypatch.setattr(mech, "add_noise", boom)
    with pytest.raises(BudgetExceededError):
        _run(orders, small, loss=PrivacyLoss(epsilon=1.0))
    assert small.spent().epsilon == 0.0


def test_private_selection_hides_small_groups(orders: pd.DataFrame, ledger: BudgetLedger) -> None:
    tiny = pd.DataFrame(
        {"user": [1000, 1001], "seg": ["q", "q"], "city": ["w", "w"], "amount": 1.0}
    )
    df = pd.concat([orders, tiny], ignore_index=True)
    res = _run(df, ledger, groups=PrivateSelection(), loss=PrivacyLoss(epsilon=1.0, delta=1e-6))
    assert res.selection_threshold is not None and res.selection_threshold > 30
    assert "q" not in set(res.table.seg)
    assert (res.table.privacy_id_count >= res.selection_threshold).all()
    assert {c.delta for c in ledger.charges_for_run("run-1")} == {1e-6, 0.0}
    with pytest.raises(PrivacyParameterError, match="delta"):
        _run(df, ledger, groups=PrivateSelection(), loss=PrivacyLoss(epsilon=1.0))


def test_aggregation_threshold_is_applied_on_noisy_counts(
    orders: pd.DataFrame, ledger: BudgetLedger
) -> None:
    res = _run(orders, ledger, threshold=10**6)
    assert res.table.empty


def test_bad_inputs_fail_closed(orders: pd.DataFrame, ledger: BudgetLedger) -> None:
    with pytest.raises(InputError):
        _run(orders.drop(columns="amount"), ledger)
    with pytest.raises(InputError):
        _run(orders.assign(user=orders.user.astype(float).where(orders.user > 3)), ledger)
    assert ledger.charges_for_run("run-1") == []  # refused before any charge


def test_missing_values_are_refused_before_any_charge(
    orders: pd.DataFrame, ledger: BudgetLedger
) -> None:
    """A summed column with a missing value in a released group spends nothing (it was
    refused after the charge: budget spent on a run that released nothing)."""
    df = orders.assign(amount=orders.amount.where(orders.index > 0))
    with pytest.raises(InputError, match="'amount' has missing values"):
        _run(df, ledger)
    assert ledger.charges_for_run("run-1") == []
    # a missing value outside the public groups is not read, so not refused
    outside = pd.DataFrame({"user": [9999], "seg": ["q"], "city": ["w"], "amount": [np.nan]})
    _run(pd.concat([orders, outside], ignore_index=True), ledger)
    assert len(ledger.charges_for_run("run-1")) == 3


def test_one_row_per_unit_blocks(ledger: BudgetLedger) -> None:
    v = np.linspace(0, 100, 1000)
    kw: dict[str, Any] = {"ledger": ledger, "run_id": "b", "rng": DPRandom.for_testing(1)}
    huge = PrivacyLoss(epsilon=1e8)
    assert dp_count(1000, loss=huge, **kw).value == 1000
    assert dp_sum(v, bounds=B, loss=huge, **kw).value == pytest.approx(v.sum(), rel=1e-6)
    m = dp_mean(v, bounds=B, loss=PrivacyLoss(epsilon=1.0), **kw)
    assert m.low <= m.value <= m.high and m.records[0].epsilon == pytest.approx(0.5)


def test_histogram_and_top_k(orders: pd.DataFrame, ledger: BudgetLedger) -> None:
    unit = PrivacyUnit(column="user", max_groups_contributed=3, max_rows_per_group=1)
    kw: dict[str, Any] = {"ledger": ledger, "run_id": "h", "rng": DPRandom.for_testing(2)}
    h = dp_histogram(
        orders,
        unit=unit,
        column="city",
        categories=["x", "y", "z", "w"],
        loss=PrivacyLoss(epsilon=1e7),
        threshold=0,
        **kw,
    )
    truth = orders.groupby("city").user.nunique()
    got = h.table.set_index("city").privacy_id_count
    assert got["w"] == 0 and got[truth.index].tolist() == truth.tolist()
    top = dp_top_k(
        orders,
        unit=unit,
        column="city",
        categories=["x", "y", "z", "w"],
        k=2,
        loss=PrivacyLoss(epsilon=1e7),
        threshold=0,
        **kw,
    )
    assert top.table.city.tolist() == truth.sort_values(ascending=False).index[:2].tolist()
