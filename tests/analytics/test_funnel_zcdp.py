"""The funnel under zCDP: discrete Gaussian noise with sigma = 1 / sqrt(2 rho) (one path per
user: L2 sensitivity 1), rho charged to the ledger, intervals wide enough, huge rho the truth;
the analyses without a zCDP mechanism refuse a ZcdpLoss."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from privacy_profile.analytics import AnalysisPrivacy, FunnelParams, dp_funnel
from privacy_profile.analytics._common import plan_parts
from privacy_profile.analytics.funnel import funnel_depths
from privacy_profile.dp import BudgetLedger, DPRandom, Mechanism, ZcdpLoss
from privacy_profile.dp import mechanisms as mech
from privacy_profile.errors import PrivacyParameterError

from .conftest import funnel_events

FUNNEL = FunnelParams(
    steps=("view", "cart", "buy"), event_column="e", time_column="t", window=dt.timedelta(days=7)
)


def test_funnel_draws_discrete_gaussian_at_sigma_from_rho(
    monkeypatch: pytest.MonkeyPatch, ledger: BudgetLedger
) -> None:
    seen: list[tuple[Mechanism, float, float]] = []
    real = mech.zcdp_scale

    def spy(mechanism: Mechanism, *, rho: float, l2_sensitivity: float) -> float:
        seen.append((mechanism, rho, l2_sensitivity))
        return real(mechanism, rho=rho, l2_sensitivity=l2_sensitivity)

    monkeypatch.setattr(mech, "zcdp_scale", spy)
    r = dp_funnel(
        funnel_events(300),
        params=FUNNEL,
        privacy=AnalysisPrivacy(unit_column="u", loss=ZcdpLoss(rho=0.08)),
        ledger=ledger,
        run_id="r",
        rng=DPRandom.for_testing(2),
    )
    assert seen == [(Mechanism.DISCRETE_GAUSSIAN, 0.08, 1.0)]
    (charge,) = ledger.charges_for_run("r")
    assert charge.rho == pytest.approx(0.08) and charge.epsilon == 0.0
    assert charge.mechanism == "discrete_gaussian"
    (rec,) = r.records
    assert rec.rho == pytest.approx(0.08) and rec.scale == pytest.approx(2.5)
    # step k sums (3 - k + 1) depth cells: sd sqrt(terms) * sigma
    sd = r.table["users_noise_sd"].to_numpy()
    assert sd == pytest.approx([math.sqrt(3) * 2.5, math.sqrt(2) * 2.5, 2.5])


def test_funnel_at_huge_rho_is_the_truth(ledger: BudgetLedger) -> None:
    ev = funnel_events(2000)
    depth, _ = funnel_depths(ev, FUNNEL, "u")
    truth = [int((depth >= k).sum()) for k in (1, 2, 3)]
    r = dp_funnel(
        ev,
        params=FUNNEL,
        privacy=AnalysisPrivacy(unit_column="u", loss=ZcdpLoss(rho=1e6)),
        ledger=ledger,
        run_id="r",
    )
    assert r.table["users"].tolist() == truth


def test_sum_halfwidth_of_gaussian_parts_covers_its_level() -> None:
    """The sub-Gaussian half-width of a sum of 3 discrete Gaussians covers >= 95% (exact
    convolution of the pmf)."""
    (part,) = plan_parts(ZcdpLoss(rho=0.02), [("x", Mechanism.DISCRETE_GAUSSIAN, 1.0, 1.0)])
    sigma = part.scale
    y = np.arange(-200, 201)
    pmf = np.exp(-(y.astype(np.float64) ** 2) / (2 * sigma**2))
    pmf /= pmf.sum()
    total = np.convolve(np.convolve(pmf, pmf), pmf)
    centre = total.shape[0] // 2
    h = part.sum_halfwidth(3)
    assert total[centre - h : centre + h + 1].sum() >= 0.95
    assert h <= math.ceil(math.sqrt(3) * sigma * 2.72)  # not absurdly wide either


def test_laplace_parts_refuse_a_zcdp_loss() -> None:
    with pytest.raises(PrivacyParameterError, match="no zCDP mechanism"):
        plan_parts(ZcdpLoss(rho=0.1), [("x", Mechanism.DISCRETE_LAPLACE, 1.0, 1.0)])
