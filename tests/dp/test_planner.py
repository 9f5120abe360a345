"""The refresh planner (privacy_profile.dp.planner) and the `budget plan` command."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from privacy_profile.cli import app
from privacy_profile.dp.mechanisms import noise_sd
from privacy_profile.dp.model import Mechanism, PrivacyLoss
from privacy_profile.dp.planner import Cadence, PlannedRelease, plan_refreshes
from privacy_profile.dp.zcdp import zcdp_epsilon
from privacy_profile.errors import PrivacyParameterError

ROOT = Path(__file__).resolve().parents[2]
RELEASES = [PlannedRelease(name="a", weight=2.0), PlannedRelease(name="b", weight=1.0)]


def test_pure_and_zcdp_spends_fit_the_budget_exactly() -> None:
    budget = PrivacyLoss(epsilon=10.0, delta=1e-5)
    plan = plan_refreshes(
        budget=budget,
        window_days=30,
        rolling=True,
        cadence=Cadence.DAILY,
        releases=RELEASES,
        selection_delta_per_refresh=1e-7,
    )
    assert plan.refreshes == 31  # a rolling 30-day window holds the charge of 30 days ago
    assert plan.pure_epsilon * 31 == pytest.approx(10.0)
    assert plan.conversion_delta == pytest.approx(1e-5 - 31e-7)
    assert plan.zcdp_rho * 31 == pytest.approx(plan.zcdp_window_rho)
    assert zcdp_epsilon(plan.zcdp_window_rho, plan.conversion_delta) <= 10.0 + 1e-9
    a, b = plan.releases
    assert (a.share, b.share) == pytest.approx((2 / 3, 1 / 3))
    assert a.pure_epsilon == pytest.approx(10.0 / 31 * 2 / 3)
    assert a.pure_noise_sd == pytest.approx(
        noise_sd(Mechanism.DISCRETE_LAPLACE, 1 / a.pure_epsilon)
    )
    assert a.zcdp_noise_sd == pytest.approx(1 / math.sqrt(2 * a.zcdp_rho))
    # the epsilon a zCDP policy declares for this rho (charged epsilon^2 / 2), and its sigma
    assert a.zcdp_declared_epsilon**2 / 2 == pytest.approx(a.zcdp_rho)
    assert a.zcdp_noise_sd == pytest.approx(1 / a.zcdp_declared_epsilon)
    # the point of zCDP: over 31 refreshes each count is less noisy than under pure epsilon
    assert a.zcdp_noise_sd < a.pure_noise_sd and b.zcdp_noise_sd < b.pure_noise_sd


def test_weekly_and_calendar_month_counts() -> None:
    budget = PrivacyLoss(epsilon=4.0, delta=1e-6)
    kw = {"budget": budget, "releases": RELEASES}
    assert (
        plan_refreshes(window_days=31, rolling=False, cadence=Cadence.WEEKLY, **kw).refreshes == 5
    )
    assert (
        plan_refreshes(window_days=31, rolling=False, cadence=Cadence.DAILY, **kw).refreshes == 31
    )
    assert plan_refreshes(window_days=30, rolling=True, cadence=Cadence.WEEKLY, **kw).refreshes == 5


def test_selection_deltas_that_do_not_fit_are_refused() -> None:
    with pytest.raises(PrivacyParameterError, match="delta"):
        plan_refreshes(
            budget=PrivacyLoss(epsilon=10.0, delta=1e-5),
            window_days=30,
            rolling=True,
            cadence=Cadence.DAILY,
            releases=RELEASES,
            selection_delta_per_refresh=1e-6,
        )


def test_budget_plan_command() -> None:
    runner = CliRunner()
    strict = ROOT / "policies" / "wechat_shop_strict.yaml"
    res = runner.invoke(app, ["budget", "plan", "--policy", str(strict), "--cadence", "weekly"])
    assert res.exit_code == 0, res.output
    assert "5 per window" in res.output and "| rfm |" in res.output
    assert "zCDP" in res.output and "zCDP: epsilon to declare" in res.output
    # the example policy's private persona selection (delta_per_query 1e-6) cannot be paid
    # 31 times from delta_budget 1e-5: a clear error, no traceback
    shop = ROOT / "policies" / "wechat_shop.yaml"
    res = runner.invoke(app, ["budget", "plan", "--policy", str(shop), "--cadence", "daily"])
    assert res.exit_code == 1
    assert "delta" in res.stderr and "Traceback" not in res.output + res.stderr
    res = runner.invoke(app, ["budget", "plan", "--policy", str(shop), "--cadence", "hourly"])
    assert res.exit_code == 2
