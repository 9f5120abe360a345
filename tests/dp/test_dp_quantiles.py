from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from privacy_profile.dp import Bounds, BudgetLedger, DPRandom, PrivacyLoss, dp_quantiles
from privacy_profile.dp.quantiles import exponential_quantile
from privacy_profile.errors import BudgetExceededError, PrivacyParameterError

B = Bounds(lower=0.0, upper=1000.0)


def test_huge_epsilon_gives_the_true_quantiles(ledger: BudgetLedger) -> None:
    v = DPRandom.for_testing(0).random(5001) * 1000
    res = dp_quantiles(
        v,
        bounds=B,
        quantiles=[0.2, 0.5, 0.8],
        loss=PrivacyLoss(epsilon=1e6),
        ledger=ledger,
        run_id="q",
        rng=DPRandom.for_testing(1),
    )
    np.testing.assert_allclose(res.values, np.quantile(v, [0.2, 0.5, 0.8]), atol=1.0)
    assert [r.epsilon for r in res.records] == pytest.approx([1e6 / 3] * 3)
    assert [c.label for c in ledger.charges_for_run("q")] == [
        "dp_quantiles/q0.2",
        "dp_quantiles/q0.5",
        "dp_quantiles/q0.8",
    ]


def test_tiny_epsilon_is_uniform_on_the_bounds() -> None:
    # eps -> 0: the mechanism picks a point uniformly in [lower, upper] (KS, FPR 1e-4)
    v = np.sort(np.full(50, 10.0))
    rng = DPRandom.for_testing(4)
    draws = [exponential_quantile(v, 0.5, epsilon=1e-9, bounds=B, rng=rng) for _ in range(2000)]
    assert stats.kstest(draws, stats.uniform(0, 1000).cdf).pvalue >= 1e-4


def test_refusal_and_bad_arguments() -> None:
    from privacy_profile.dp import BudgetWindow

    small = BudgetLedger.in_memory(
        dataset="d", budget=PrivacyLoss(epsilon=0.1), window=BudgetWindow.lifetime()
    )
    with pytest.raises(BudgetExceededError):
        dp_quantiles(
            [1.0],
            bounds=B,
            quantiles=[0.5],
            loss=PrivacyLoss(epsilon=1.0),
            ledger=small,
            run_id="q",
        )
    with pytest.raises(PrivacyParameterError):
        dp_quantiles(
            [1.0],
            bounds=B,
            quantiles=[1.5],
            loss=PrivacyLoss(epsilon=0.1),
            ledger=small,
            run_id="q",
        )
