"""A run reserves what its charges will add to the window: pure epsilon plus the conversion
of its rho given what the window already holds (dp.policy_ledger.run_reservation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from privacy_profile import load_policy
from privacy_profile.dp import BudgetLedger, BudgetWindow, PrivacyLoss, ZcdpChargeRequest
from privacy_profile.dp.ledger import BudgetUsage, ChargeRequest
from privacy_profile.dp.policy_ledger import run_loss, run_reservation, run_rho
from privacy_profile.dp.zcdp import zcdp_epsilon
from privacy_profile.errors import BudgetExceededError
from privacy_profile.policy.model import Policy

POLICY = Path(__file__).resolve().parents[2] / "policies" / "wechat_shop.yaml"
ANCHOR = "  budget_dataset: wechat-shop-users\n"


def _policy(tmp_path: Path, accounting: str) -> Policy:
    text = POLICY.read_text(encoding="utf-8").replace(ANCHOR, ANCHOR + accounting)
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    return load_policy(path)


def _ledger(policy: Policy) -> BudgetLedger:
    pv = policy.privacy
    return BudgetLedger.in_memory(
        dataset="t",
        budget=PrivacyLoss(epsilon=pv.epsilon_budget, delta=pv.delta_budget),
        window=BudgetWindow.lifetime(),
    )


def _charge_run(
    ledger: BudgetLedger, run_id: str, pure: PrivacyLoss | BudgetUsage, rho: float
) -> None:
    """Charge like a run: its pure part, then its rho in two parts."""
    loss = PrivacyLoss(epsilon=pure.epsilon, delta=pure.delta)
    ledger.charge_many(
        run_id=run_id,
        requests=[
            ChargeRequest(mechanism="discrete_laplace", loss=loss, sensitivity=1.0, label="a/x"),
            ZcdpChargeRequest(
                mechanism="discrete_gaussian", rho=rho / 3, sensitivity=1.0, label="b/y"
            ),
            ZcdpChargeRequest(
                mechanism="discrete_gaussian", rho=2 * rho / 3, sensitivity=1.0, label="b/z"
            ),
        ],
    )


def test_the_reservation_covers_the_conversion_and_the_charges_fit_it(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "  accounting: {rfm: zcdp, rule: zcdp}\n")
    spec = policy.segmentation
    assert spec is not None
    pure, rho = run_loss(policy, spec), run_rho(policy, spec)
    assert rho == pytest.approx(1.0**2 / 2 + 0.5**2 / 2)  # rfm 1.0, one rule at 0.5
    ledger = _ledger(policy)
    want = run_reservation(ledger, policy, spec)
    budget_delta = policy.privacy.delta_budget
    conv = zcdp_epsilon(rho, budget_delta - pure.delta)
    assert want.epsilon == pytest.approx(pure.epsilon + conv, abs=1e-8)
    assert want.delta == pytest.approx(budget_delta)  # the first rho takes all delta left
    with ledger.reserve("r1", want) as res:
        _charge_run(ledger, "r1", pure, rho)  # refused if it passed the reservation
        res.mark_released()
        assert res.spent().epsilon == pytest.approx(want.epsilon, abs=1e-8)
    # a second run in the window: its rho costs only its marginal conversion, no delta
    second = run_reservation(ledger, policy, spec)
    marginal = zcdp_epsilon(2 * rho, budget_delta - 2 * pure.delta) - conv
    assert second.delta == 0.0
    assert second.epsilon == pytest.approx(pure.epsilon + marginal, abs=1e-6)
    assert marginal < conv  # rho composes sub-linearly once converted


def test_a_pure_run_after_a_zcdp_run_reserves_the_conversion_its_delta_causes(
    tmp_path: Path,
) -> None:
    zpol = _policy(tmp_path, "  accounting: {rfm: zcdp}\n")
    ppol = load_policy(POLICY)
    assert ppol.segmentation is not None and zpol.segmentation is not None
    ledger = _ledger(ppol)
    _charge_run(ledger, "z", PrivacyLoss(epsilon=0.1), 0.5)
    want = run_reservation(ledger, ppol, ppol.segmentation)
    pure = run_loss(ppol, ppol.segmentation)
    assert pure.delta > 0 and want.delta == 0.0  # the delta is already all spent by the rho
    assert want.epsilon > pure.epsilon  # its delta shrinks the conversion's delta
    with ledger.reserve("p", want) as res:
        ledger.charge(
            run_id="p",
            mechanism="discrete_laplace",
            loss=PrivacyLoss(epsilon=pure.epsilon, delta=pure.delta),
            sensitivity=1.0,
            label="personas/x",
        )
        res.mark_released()


def test_a_run_the_window_cannot_hold_is_refused_before_computing(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "  accounting: {rfm: zcdp, rule: zcdp, lifecycle: zcdp}\n")
    spec = policy.segmentation
    assert spec is not None
    ledger = _ledger(policy)
    _charge_run(ledger, "big", PrivacyLoss(epsilon=1.0), 1.2)  # most of the budget
    with pytest.raises(BudgetExceededError, match="nothing was computed"):
        ledger.reserve("next", run_reservation(ledger, policy, spec))
    assert ledger.charges_for_run("next") == []


def test_a_run_with_every_family_on_zcdp_has_no_pure_loss(tmp_path: Path) -> None:
    fams = "rfm: zcdp, lifecycle: zcdp, rule: zcdp, funnel: zcdp"
    policy = _policy(tmp_path, f"  accounting: {{{fams}}}\n")
    spec = policy.segmentation
    assert spec is not None
    drop = ("kmeans", "tree", "personas")
    spec = spec.model_copy(update=dict.fromkeys(drop))
    policy = policy.model_copy(update={"analytics": None})
    pure = run_loss(policy, spec)
    assert pure.epsilon == 0.0 and pure.delta == 0.0
    want = run_reservation(_ledger(policy), policy, spec)
    rho = run_rho(policy, spec)
    assert want.epsilon == pytest.approx(zcdp_epsilon(rho, policy.privacy.delta_budget), abs=1e-8)
