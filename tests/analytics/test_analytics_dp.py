"""The analytics in layers: exact scales, spies on epsilon and sensitivity, budget refusal
before any noise, huge epsilon converging to the truth, seeded statistical tests."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from privacy_profile.analytics import (
    ABParams,
    AnalysisPrivacy,
    FunnelParams,
    KpiParams,
    RetentionParams,
    dp_ab_readout,
    dp_campaign_kpis,
    dp_funnel,
    dp_retention,
    minimum_detectable_effect,
)
from privacy_profile.analytics.ab import ab_truth
from privacy_profile.analytics.funnel import funnel_depths, monotone_non_increasing
from privacy_profile.analytics.kpi import kpi_truth
from privacy_profile.analytics.retention import retention_cells
from privacy_profile.demo.campaigns import CampaignTables, generate_campaign_tables
from privacy_profile.dp import Bounds, BudgetLedger, BudgetWindow, DPRandom, PrivacyLoss
from privacy_profile.dp import mechanisms as mech
from privacy_profile.errors import BudgetExceededError, PrivacyParameterError

from .conftest import NOW_S, funnel_events, iso

FUNNEL = FunnelParams(
    steps=("view", "cart", "buy"), event_column="e", time_column="t", window=dt.timedelta(days=7)
)
RETENTION = RetentionParams(
    time_column="t", period="week", start=dt.date(2026, 9, 28), cohorts=6, max_offset=3
)
HUGE = PrivacyLoss(epsilon=1e7)


def _ab_params(**kw: Any) -> ABParams:
    base: dict[str, Any] = dict(
        arm_column="arm",
        exposure_time_column="sent_at",
        outcome_time_column="redeemed_at",
        outcome_value_column="amount",
        arms=("control", "coupon5", "coupon10"),
        control="control",
        window=dt.timedelta(days=14),
        revenue_bounds=Bounds(lower=0, upper=1000),
        campaign_column="campaign_id",
        campaign="coupon2611",
    )
    base.update(kw)
    return ABParams(**base)


KPI = KpiParams(
    campaign_column="campaign_id",
    interaction_column="event",
    impression_value="impression",
    click_value="click",
    conversion_value_column="amount",
    costs={"push2611": 4000.0, "coupon2611": 18000.0},
    revenue_bounds=Bounds(lower=0, upper=5000),
    max_campaigns=2,
    max_orders=5,
)


def _redemptions(c: CampaignTables) -> pd.DataFrame:
    r = c.tables["redemptions"]
    return r.assign(amount=r["amount"].astype(float))


def _privacy(eps: float, unit: str = "u", threshold: int = 0) -> AnalysisPrivacy:
    return AnalysisPrivacy(unit_column=unit, loss=PrivacyLoss(epsilon=eps), threshold=threshold)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float, float]]:
    calls: list[tuple[str, float, float]] = []
    real = mech.noise_scale

    def noise_scale(m: Any, *, loss: PrivacyLoss, sensitivity: float) -> float:
        calls.append((m.value, loss.epsilon, sensitivity))
        return real(m, loss=loss, sensitivity=sensitivity)

    monkeypatch.setattr(mech, "noise_scale", noise_scale)
    return calls


# -- exact scales and spies -------------------------------------------------------------------


def test_funnel_spends_its_epsilon_at_sensitivity_one(spy: Any, ledger: BudgetLedger) -> None:
    r = dp_funnel(
        funnel_events(300), params=FUNNEL, privacy=_privacy(0.5), ledger=ledger, run_id="r"
    )
    assert spy == [("discrete_laplace", 0.5, 1.0)]
    assert r.records[0].scale == pytest.approx(2.0)
    assert sum(c.epsilon for c in ledger.charges_for_run("r")) == pytest.approx(0.5)


def test_retention_sensitivity_is_the_number_of_offsets(spy: Any, ledger: BudgetLedger) -> None:
    r = dp_retention(
        funnel_events(300), params=RETENTION, privacy=_privacy(2.0), ledger=ledger, run_id="r"
    )
    assert spy == [("discrete_laplace", 2.0, 4.0)]
    assert r.records[0].scale == pytest.approx(2.0)
    assert r.records[0].values == 6 * 4


def test_ab_splits_epsilon_over_three_parts(
    spy: Any, ledger: BudgetLedger, campaigns: CampaignTables
) -> None:
    t = campaigns.tables
    dp_ab_readout(
        t["campaign_sends"],
        _redemptions(campaigns),
        params=_ab_params(weights=(1.0, 2.0, 1.0)),
        privacy=_privacy(1.2, "openid"),
        ledger=ledger,
        run_id="r",
    )
    assert [(m, round(e, 9), s) for m, e, s in spy] == [
        ("discrete_laplace", 0.3, 1.0),
        ("discrete_laplace", 0.6, 1.0),
        ("discrete_laplace_grid", 0.3, 1000.0),
    ]
    assert sum(c.epsilon for c in ledger.charges_for_run("r")) == pytest.approx(1.2)


def test_kpi_sensitivities_scale_with_the_contribution_bounds(
    spy: Any, ledger: BudgetLedger, campaigns: CampaignTables
) -> None:
    t = campaigns.tables
    dp_campaign_kpis(
        t["campaign_sends"],
        t["campaign_events"],
        _redemptions(campaigns),
        params=KPI,
        privacy=_privacy(1.2, "openid"),
        ledger=ledger,
        run_id="r",
    )
    assert [s for *_, s in spy] == [2.0, 2.0, 2.0, 2.0, 10.0, 10000.0]
    assert all(e == pytest.approx(0.2) for _, e, _ in spy)


# -- budget refused before any noise or data access ---------------------------------------------


def test_refused_budget_draws_no_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    tight = BudgetLedger.in_memory(
        dataset="t", budget=PrivacyLoss(epsilon=0.4), window=BudgetWindow.lifetime()
    )
    touched: list[str] = []

    def boom(*a: Any, **k: Any) -> Any:
        touched.append("noise")
        raise AssertionError("noise drawn before the charge")

    monkeypatch.setattr(DPRandom, "discrete_laplace", boom)
    with pytest.raises(BudgetExceededError):
        dp_funnel(funnel_events(50), params=FUNNEL, privacy=_privacy(0.5), ledger=tight, run_id="r")
    with pytest.raises(BudgetExceededError):
        dp_retention(
            funnel_events(50), params=RETENTION, privacy=_privacy(0.5), ledger=tight, run_id="r"
        )
    assert touched == []
    assert tight.spent().epsilon == 0.0


# -- huge epsilon converges to the truth --------------------------------------------------------


def test_funnel_at_huge_epsilon_is_the_truth(ledger: BudgetLedger) -> None:
    ev = funnel_events(2000)
    depth, _ = funnel_depths(ev, FUNNEL, "u")
    truth = [int((depth >= k).sum()) for k in (1, 2, 3)]
    r = dp_funnel(
        ev,
        params=FUNNEL,
        privacy=AnalysisPrivacy(unit_column="u", loss=HUGE),
        ledger=ledger,
        run_id="r",
    )
    assert r.table["users"].tolist() == truth
    # the generator: 40% carts, half of them buy, 10% of buys fall outside the 7-day window
    assert truth[1] / truth[0] == pytest.approx(0.4, abs=0.03)
    assert truth[2] / truth[1] == pytest.approx(0.45, abs=0.04)


def test_retention_at_huge_epsilon_is_the_truth(ledger: BudgetLedger) -> None:
    ev = funnel_events(2000)
    r = dp_retention(
        ev,
        params=RETENTION,
        privacy=AnalysisPrivacy(unit_column="u", loss=HUGE),
        ledger=ledger,
        run_id="r",
    )
    truth = retention_cells(ev, RETENTION, "u").ravel()
    assert r.table["users"].fillna(0).to_numpy().tolist() == truth.tolist()
    size = r.table["cohort_size"].to_numpy()
    assert np.nanmax(r.table["retention"]) <= 1.0
    assert np.allclose(r.table.loc[r.table["offset"] == 0, "retention"].dropna(), 1.0)
    assert np.isfinite(size).any()


def test_ab_at_huge_epsilon_is_the_truth(ledger: BudgetLedger, campaigns: CampaignTables) -> None:
    t, red = campaigns.tables, _redemptions(campaigns)
    p = _ab_params()
    r = dp_ab_readout(
        t["campaign_sends"],
        red,
        params=p,
        privacy=AnalysisPrivacy(unit_column="openid", loss=HUGE),
        ledger=ledger,
        run_id="r",
    )
    truth = ab_truth(t["campaign_sends"], red, p, "openid")
    assert r.arms["arm"].tolist() == ["control", "coupon10", "coupon5"]  # sorted
    assert np.allclose(r.arms["exposed"], truth["exposed"], atol=1)
    assert np.allclose(r.arms["converters"], truth["converters"], atol=1)
    sent = {a: v.users_sent for a, v in campaigns.truth.arms["coupon2611"].items()}
    conv = {a: v.users_converted for a, v in campaigns.truth.arms["coupon2611"].items()}
    assert truth.set_index("arm")["exposed"].to_dict() == sent
    assert truth.set_index("arm")["converters"].to_dict() == conv


def test_kpis_at_huge_epsilon_are_the_truth(
    ledger: BudgetLedger, campaigns: CampaignTables
) -> None:
    t, red = campaigns.tables, _redemptions(campaigns)
    r = dp_campaign_kpis(
        t["campaign_sends"],
        t["campaign_events"],
        red,
        params=KPI,
        privacy=AnalysisPrivacy(unit_column="openid", loss=HUGE),
        ledger=ledger,
        run_id="r",
    )
    truth = kpi_truth(t["campaign_sends"], t["campaign_events"], red, KPI, "openid")
    truth = truth.set_index("campaign_id")
    assert r.table["campaign"].tolist() == ["coupon2611", "push2611"]  # sorted, not input
    for _, row in r.table.iterrows():
        want = truth.loc[row["campaign"]]
        for col in ("sent", "impressed", "clicked", "orders"):
            assert row[col] == pytest.approx(want[col], abs=1)
        assert row["revenue"] == pytest.approx(want["revenue"], abs=1)
        assert row["ctr"] == pytest.approx(want["clicked"] / want["impressed"], abs=1e-3)
    roi = r.roi.set_index("campaign")
    cost = KPI.costs["coupon2611"]
    want_roi = (truth.loc["coupon2611", "revenue"] - cost) / cost
    assert roi.loc["coupon2611", "roi"] == pytest.approx(want_roi, abs=1e-3)


# -- post-processing, order and suppression -----------------------------------------------------


def test_step_counts_never_increase(ledger: BudgetLedger) -> None:
    ev = funnel_events(200)
    for seed in range(20):
        r = dp_funnel(
            ev,
            params=FUNNEL,
            privacy=_privacy(0.05),
            ledger=ledger,
            run_id="r",
            rng=DPRandom.for_testing(seed),
        )
        users = r.table["users"].to_numpy()
        assert (np.diff(users) <= 0).all() and (users >= 0).all()


def test_monotone_fit_pools_violators() -> None:
    out = monotone_non_increasing(np.array([5.0, 7.0, 3.0, 4.0]))
    assert out.tolist() == [6.0, 6.0, 3.5, 3.5]


def test_segments_released_in_sorted_order_and_small_cells_suppressed(
    ledger: BudgetLedger,
) -> None:
    ev = funnel_events(600)
    users = ev["u"].drop_duplicates()
    seg = pd.DataFrame({"u": users, "s": np.where(users.str.len() % 2 == 0, "zeta", "alpha")})
    params = FunnelParams(
        steps=("view", "cart", "buy"),
        event_column="e",
        time_column="t",
        window=dt.timedelta(days=7),
        segment_column="s",
        segments=("zeta", "alpha", "empty"),
    )
    r = dp_funnel(
        ev,
        params=params,
        privacy=_privacy(1.0, threshold=20),
        ledger=ledger,
        run_id="r",
        segments=seg,
        rng=DPRandom.for_testing(5),
    )
    assert r.table["segment"].drop_duplicates().tolist() == ["alpha", "empty", "zeta"]
    empty = r.table[r.table["segment"] == "empty"]
    assert empty["suppressed"].all() and empty["users"].isna().all()


def test_unsafe_parameters_are_refused() -> None:
    with pytest.raises(PrivacyParameterError):
        FunnelParams(
            steps=("view",), event_column="e", time_column="t", window=dt.timedelta(days=1)
        )
    with pytest.raises(PrivacyParameterError):
        _ab_params(control="nobody")
    with pytest.raises(PrivacyParameterError):
        RetentionParams(
            time_column="t", period="week", start=dt.date(2026, 9, 29), cohorts=2, max_offset=1
        )


# -- seeded statistical tests ------------------------------------------------------------------


@pytest.mark.slow
def test_funnel_last_step_noise_is_discrete_laplace(ledger: BudgetLedger) -> None:
    """Chi-square goodness of fit of the last step's error to discrete Laplace(1/eps).
    Far from zero the monotone fit changes nothing, so the error is one noise draw.
    False-positive rate: the test fails when p < 1e-4."""
    ev = funnel_events(400)
    depth, _ = funnel_depths(ev, FUNNEL, "u")
    true_last = int((depth >= 3).sum())
    eps = 1.0
    errs = []
    for seed in range(400):
        r = dp_funnel(
            ev,
            params=FUNNEL,
            privacy=_privacy(eps),
            ledger=ledger,
            run_id="r",
            rng=DPRandom.for_testing(seed),
        )
        errs.append(int(r.table["users"].iloc[2]) - true_last)
    e = np.clip(np.asarray(errs), -4, 4)
    p = math.exp(-eps)
    pmf = {k: (1 - p) / (1 + p) * p ** abs(k) for k in range(-3, 4)}
    tail = (1 - sum(pmf.values())) / 2
    expected = np.array([tail] + [pmf[k] for k in range(-3, 4)] + [tail]) * len(e)
    observed = np.array([(e == k).sum() for k in range(-4, 5)])
    assert stats.chisquare(observed, expected).pvalue > 1e-4


@pytest.mark.slow
def test_ab_interval_covers_the_true_lift() -> None:
    """Over 40 seeded data sets and noise draws, the 95% lift interval of coupon10 covers
    the generator's lift; fails only if coverage this low has probability < 1e-4 at 95%."""
    openids = np.array([f"o{i:06d}" for i in range(12_000)])
    covered = 0
    runs = 40
    for seed in range(runs):
        c = generate_campaign_tables(seed, openids, now_s=NOW_S, iso=iso)
        led = BudgetLedger.in_memory(
            dataset="t", budget=PrivacyLoss(epsilon=10), window=BudgetWindow.lifetime()
        )
        r = dp_ab_readout(
            c.tables["campaign_sends"],
            _redemptions(c),
            params=_ab_params(),
            privacy=_privacy(1.0, "openid"),
            ledger=led,
            run_id="r",
            rng=DPRandom.for_testing(seed),
        )
        row = r.comparisons.set_index("variant").loc["coupon10"]
        lift = c.truth.lift("coupon2611", "coupon10")
        covered += int(row["lift_low"] <= lift <= row["lift_high"])
    assert stats.binom.cdf(covered, runs, 0.95) > 1e-4


def test_minimum_detectable_effect() -> None:
    loose = minimum_detectable_effect(
        baseline_rate=0.06, users_per_arm=4000, loss=PrivacyLoss(epsilon=1.0)
    )
    tight = minimum_detectable_effect(
        baseline_rate=0.06, users_per_arm=4000, loss=PrivacyLoss(epsilon=0.01)
    )
    bigger = minimum_detectable_effect(
        baseline_rate=0.06, users_per_arm=40_000, loss=PrivacyLoss(epsilon=1.0)
    )
    # the classic two-proportion formula without noise
    k = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert loose.absolute_without_noise == pytest.approx(k * math.sqrt(2 * 0.06 * 0.94 / 4000))
    assert loose.absolute_without_noise < loose.absolute < tight.absolute
    assert bigger.absolute < loose.absolute
    assert loose.relative == pytest.approx(loose.absolute / 0.06)


# -- neighbouring data sets ---------------------------------------------------------------------


def _depth_hist(ev: pd.DataFrame) -> np.ndarray:
    depth, _ = funnel_depths(ev, FUNNEL, "u")
    return np.bincount(depth, minlength=4)[1:]


def test_removing_one_user_moves_the_truths_by_at_most_the_sensitivity(
    campaigns: CampaignTables,
) -> None:
    ev = funnel_events(300)
    users = ev["u"].drop_duplicates().tolist()
    base_f = _depth_hist(ev)
    base_r = retention_cells(ev, RETENTION, "u")
    for u in users[:: len(users) // 15]:
        nb = ev[ev["u"] != u]
        assert np.abs(_depth_hist(nb) - base_f).sum() <= 1
        assert np.abs(retention_cells(nb, RETENTION, "u") - base_r).sum() <= 4  # max_offset + 1
    sends, red = campaigns.tables["campaign_sends"], _redemptions(campaigns)
    p = _ab_params()
    base_ab = ab_truth(sends, red, p, "openid")
    for u in sends["openid"].drop_duplicates().head(10):
        nb = ab_truth(sends[sends["openid"] != u], red[red["openid"] != u], p, "openid")
        assert (base_ab["exposed"] - nb["exposed"]).abs().sum() <= 1
        assert (base_ab["converters"] - nb["converters"]).abs().sum() <= 1
        assert (base_ab["revenue"] - nb["revenue"]).abs().sum() <= 1000.0


def test_funnel_release_probabilities_of_neighbours_within_e_to_the_epsilon() -> None:
    """Empirical check on the released last-step count of D and D minus one buyer, 4000 draws
    each: for every value drawn at least 200 times under both, the frequency ratio stays below
    e^epsilon times 1.5 (the ratio's sampling error at 200 draws is about 10%, so 1.5 is ~5
    standard deviations: a false failure has probability well below 1e-4)."""
    from privacy_profile.analytics._common import add_part_noise, plan_parts
    from privacy_profile.dp.model import Mechanism

    eps = 0.5
    ev = funnel_events(60)
    depth, units = funnel_depths(ev, FUNNEL, "u")
    buyer = units[int(np.flatnonzero(depth == 3)[0])]
    (plan,) = plan_parts(PrivacyLoss(epsilon=eps), [("h", Mechanism.DISCRETE_LAPLACE, 1.0, 1.0)])
    draws = []
    for i, data in enumerate((ev, ev[ev["u"] != buyer])):
        h = _depth_hist(data)
        noisy, _ = add_part_noise([plan], {"h": np.tile(h, 4000)}, DPRandom.for_testing(i), "t")
        draws.append(noisy["h"].values.reshape(4000, 3)[:, 2])
    a, b = (pd.Series(d).value_counts() for d in draws)
    common = [v for v in a.index if a[v] >= 200 and b.get(v, 0) >= 200]
    assert len(common) >= 3
    for v in common:
        ratio = max(a[v] / b[v], b[v] / a[v])
        assert ratio <= math.exp(eps) * 1.5, (v, ratio)
