"""Releases under zCDP: discrete Gaussian noise with sigma = L2 sensitivity / sqrt(2 rho).

Layers: exact sigma per part from rho and the contribution bounds; a spy on the rho and L2
sensitivity every mechanism receives and on what the ledger is charged; a seeded test of the
noise variance through the release path (false-positive rate 1e-4); huge rho converges to the
truth; private selection is refused. The neighbouring-dataset check is in tests/audit/."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from privacy_profile.dp import (
    Aggregation,
    Bounds,
    BudgetLedger,
    DPRandom,
    Mechanism,
    MetricSpec,
    PrivacyUnit,
    PrivateSelection,
    PublicGroups,
    ZcdpLoss,
    dp_aggregate,
    plan_budget,
)
from privacy_profile.dp import mechanisms as mech
from privacy_profile.dp.ledger import ZcdpChargeRequest
from privacy_profile.errors import PrivacyParameterError

P_MIN = 1e-4  # false-positive rate of every seeded statistical test here
B = Bounds(lower=-50.0, upper=150.0)
UNIT = PrivacyUnit(column="user", max_groups_contributed=3, max_rows_per_group=4)
METRICS = [
    MetricSpec(aggregation=Aggregation.PRIVACY_ID_COUNT),
    MetricSpec(aggregation=Aggregation.COUNT, name="rows"),
    MetricSpec(aggregation=Aggregation.SUM, column="amount", bounds=B, name="total"),
]


def test_sigma_of_each_part_is_l2_over_sqrt_2rho() -> None:
    rho = 0.3
    plan = plan_budget(
        unit=UNIT,
        metrics=METRICS,
        loss=ZcdpLoss(rho=rho),
        groups=PublicGroups.of(["a", "b"]),
        weights={"privacy_id_count": 1.0, "count": 2.0, "sum:amount": 3.0},
    )
    k, m = 3, 4
    count, rows, total = plan.part("privacy_id_count"), plan.part("count"), plan.part("sum:amount")
    assert count.rho == pytest.approx(rho / 6) and rows.rho == pytest.approx(2 * rho / 6)
    assert total.rho == pytest.approx(3 * rho / 6)
    assert math.fsum(p.rho or 0.0 for p in plan.parts) == pytest.approx(rho)
    assert count.mechanism is Mechanism.DISCRETE_GAUSSIAN
    assert count.sensitivity == pytest.approx(math.sqrt(k))
    assert count.scale == pytest.approx(math.sqrt(k) / math.sqrt(2 * rho / 6))
    assert rows.sensitivity == pytest.approx(math.sqrt(k) * m)
    assert rows.scale == pytest.approx(math.sqrt(k) * m / math.sqrt(2 * 2 * rho / 6))
    step = mech.grid_step(B.half_width)
    l2 = math.sqrt(k) * m * mech.grid_units(B.half_width, step) * step
    assert total.mechanism is Mechanism.DISCRETE_GAUSSIAN_GRID and total.step == step
    assert total.sensitivity == pytest.approx(l2) and l2 >= math.sqrt(k) * m * B.half_width
    assert total.scale == pytest.approx(l2 / math.sqrt(2 * 3 * rho / 6))
    # the parts' epsilon and delta are zero: their loss is their rho
    assert all(p.epsilon == 0.0 and p.delta == 0.0 for p in plan.parts)
    assert plan.threshold is None


def test_of_epsilon_is_the_rho_of_a_pure_release() -> None:
    assert ZcdpLoss.of_epsilon(1.0).rho == pytest.approx(0.5)
    assert ZcdpLoss.of_epsilon(0.2).rho == pytest.approx(0.02)
    with pytest.raises(PrivacyParameterError):
        ZcdpLoss(rho=0.0)
    with pytest.raises(PrivacyParameterError):
        ZcdpLoss(rho=float("inf"))


def test_spy_sees_every_rho_and_l2_sensitivity_and_the_ledger_charges_rho(
    monkeypatch: pytest.MonkeyPatch, ledger: BudgetLedger, orders: pd.DataFrame
) -> None:
    calls: list[tuple[Mechanism, float, float]] = []
    real = mech.zcdp_scale

    def spy(mechanism: Mechanism, *, rho: float, l2_sensitivity: float) -> float:
        calls.append((mechanism, rho, l2_sensitivity))
        return real(mechanism, rho=rho, l2_sensitivity=l2_sensitivity)

    monkeypatch.setattr(mech, "zcdp_scale", spy)
    charged: list[Any] = []
    real_charge = ledger.charge_many

    def charge_spy(*, run_id: str, requests: Any) -> Any:
        charged.extend(requests)
        return real_charge(run_id=run_id, requests=requests)

    monkeypatch.setattr(ledger, "charge_many", charge_spy)
    res = dp_aggregate(
        orders,
        unit=UNIT,
        by=["seg"],
        metrics=METRICS,
        loss=ZcdpLoss(rho=0.6),
        ledger=ledger,
        run_id="r",
        groups=PublicGroups.of(["a", "b"]),
        threshold=0,
        rng=DPRandom.for_testing(3),
        label="spy",
    )
    assert [c[0] for c in calls] == [
        Mechanism.DISCRETE_GAUSSIAN,
        Mechanism.DISCRETE_GAUSSIAN,
        Mechanism.DISCRETE_GAUSSIAN_GRID,
    ]
    assert [c[1] for c in calls] == pytest.approx([0.2, 0.2, 0.2])
    assert calls[0][2] == pytest.approx(math.sqrt(3)) and calls[1][2] == pytest.approx(4 * 3**0.5)
    assert all(isinstance(r, ZcdpChargeRequest) for r in charged)
    assert [r.rho for r in charged] == pytest.approx([0.2, 0.2, 0.2])
    assert [r.sensitivity for r in charged] == [c[2] for c in calls]
    # the ledger recorded rho (no epsilon), and the mechanism records say the same
    rows = ledger.charges_for_run("r")
    assert [c.rho for c in rows] == pytest.approx([0.2, 0.2, 0.2])
    assert all(c.epsilon == 0.0 and c.delta == 0.0 for c in rows)
    assert [r.rho for r in res.records] == pytest.approx([0.2, 0.2, 0.2])
    assert [r.mechanism for r in res.records] == [c.mechanism for c in rows]


def _exact_moments(sigma: float) -> tuple[float, float]:
    """Variance and fourth moment of N_Z(0, sigma^2), from its pmf."""
    y = np.arange(-int(40 * sigma) - 5, int(40 * sigma) + 6, dtype=np.float64)
    w = np.exp(-(y**2) / (2 * sigma**2))
    p = w / w.sum()
    return float((p * y**2).sum()), float((p * y**4).sum())


def test_count_noise_variance_through_the_release_path(ledger: BudgetLedger) -> None:
    """2,000 public groups with no member: each released count is pure noise. The sample
    variance is compared with the discrete Gaussian's exact variance (two-sided z-test on the
    sample variance, normal approximation with the exact fourth moment; p >= 1e-4)."""
    n, rho = 2000, 0.02  # k = 1: sigma = 1 / sqrt(0.04) = 5
    keys = [f"g{i:04d}" for i in range(n)]
    df = pd.DataFrame({"user": ["u0"], "seg": ["elsewhere"]})
    res = dp_aggregate(
        df,
        unit=PrivacyUnit.one_row_per_unit("user"),
        by=["seg"],
        metrics=[],
        loss=ZcdpLoss(rho=rho),
        ledger=ledger,
        run_id="var",
        groups=PublicGroups.of(keys),
        threshold=0,
        rng=DPRandom.for_testing(20261130),
    )
    x = res.table["privacy_id_count"].to_numpy(dtype=np.float64)
    assert len(x) == n and np.all(x == np.rint(x))
    sigma = 1 / math.sqrt(2 * rho)
    assert res.records[0].scale == pytest.approx(sigma)
    var, m4 = _exact_moments(sigma)
    assert var <= sigma**2 * (1 + 1e-12)  # its variance is below sigma^2 (CKS 2020)
    s2 = float(np.mean(x**2))  # the mean is known (0)
    z = (s2 - var) / math.sqrt((m4 - var**2) / n)
    assert 2 * stats.norm.sf(abs(z)) >= P_MIN, (s2, var)
    assert abs(float(x.mean())) < 6 * sigma / math.sqrt(n)


def test_the_variance_test_can_fail(ledger: BudgetLedger) -> None:
    """The same test rejects noise drawn at twice the claimed rho (sigma / sqrt 2)."""
    n = 2000
    x = mech.add_noise(
        np.zeros(n), Mechanism.DISCRETE_GAUSSIAN, 5 / math.sqrt(2), DPRandom.for_testing(7)
    ).astype(np.float64)
    var, m4 = _exact_moments(5.0)
    z = (float(np.mean(x**2)) - var) / math.sqrt((m4 - var**2) / n)
    assert 2 * stats.norm.sf(abs(z)) < P_MIN


def test_huge_rho_converges_to_the_truth(ledger: BudgetLedger, orders: pd.DataFrame) -> None:
    unit = PrivacyUnit(column="user", max_groups_contributed=2, max_rows_per_group=100)
    res = dp_aggregate(
        orders,
        unit=unit,
        by=["seg"],
        metrics=METRICS,
        loss=ZcdpLoss(rho=1e6),
        ledger=ledger,
        run_id="huge",
        groups=PublicGroups.of(["a", "b"]),
        threshold=0,
        rng=DPRandom.for_testing(11),
    )
    t = res.table.set_index("seg")
    for g in ("a", "b"):
        rows = orders.loc[orders.seg == g]
        assert t.loc[g, "privacy_id_count"] == rows.user.nunique()
        assert t.loc[g, "rows"] == len(rows)
        truth = rows.amount.clip(-50, 150).sum()
        sd = t.loc[g, "total_noise_sd"]  # 10 at this rho (L2 = sqrt(2) * 100 rows * 100)
        assert sd < 1e-3 * abs(truth)
        assert t.loc[g, "total"] == pytest.approx(truth, abs=6 * sd)


def test_private_selection_is_refused_under_zcdp(
    ledger: BudgetLedger, orders: pd.DataFrame
) -> None:
    with pytest.raises(PrivacyParameterError, match="not available under zCDP"):
        dp_aggregate(
            orders,
            unit=UNIT,
            by=["city"],
            metrics=[],
            loss=ZcdpLoss(rho=0.5),
            ledger=ledger,
            run_id="sel",
            groups=PrivateSelection(),
            threshold=0,
        )
    assert ledger.charges_for_run("sel") == []  # refused before any charge


def test_interval_of_a_discrete_gaussian_covers_its_level() -> None:
    """The 95% half-width (CKS Prop. 25 bound) covers at least 95% of the exact pmf."""
    for sigma in (0.7, 2.0, 9.5):
        h = mech.interval_halfwidth(Mechanism.DISCRETE_GAUSSIAN, sigma)
        y = np.arange(-int(40 * sigma) - 5, int(40 * sigma) + 6)
        w = np.exp(-(y.astype(np.float64) ** 2) / (2 * sigma**2))
        inside = w[np.abs(y) <= h].sum() / w.sum()
        assert inside >= 0.95
        assert h <= math.ceil(1.96 * sigma) + 1
