"""Layers 1 and 3: exact noise scales, and seeded distribution tests.

Each statistical test uses a fixed seed and a significance level of 1e-4 (so a correct
implementation would fail with probability 1e-4 for a fresh seed; with the fixed seed the
outcome is deterministic).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from privacy_profile.dp import DPRandom, Mechanism, PrivacyLoss, noise_scale
from privacy_profile.dp import mechanisms as mech
from privacy_profile.errors import PrivacyParameterError

P_MIN = 1e-4


@pytest.mark.parametrize(("eps", "sens"), [(1.0, 1.0), (0.5, 3.0), (0.1, 4500.0)])
def test_laplace_scales_are_sensitivity_over_epsilon(eps: float, sens: float) -> None:
    for m in (Mechanism.LAPLACE, Mechanism.DISCRETE_LAPLACE):
        assert noise_scale(m, loss=PrivacyLoss(epsilon=eps), sensitivity=sens) == sens / eps


def test_gaussian_scale_is_the_classic_formula() -> None:
    sigma = noise_scale(
        Mechanism.GAUSSIAN, loss=PrivacyLoss(epsilon=0.5, delta=1e-5), sensitivity=2
    )
    assert sigma == pytest.approx(2 * math.sqrt(2 * math.log(1.25 / 1e-5)) / 0.5)
    with pytest.raises(PrivacyParameterError):
        noise_scale(Mechanism.GAUSSIAN, loss=PrivacyLoss(epsilon=0.5), sensitivity=2)


def test_discrete_laplace_sd_and_interval_match_the_pmf() -> None:
    t = 9.0
    p = math.exp(-1 / t)
    k = np.arange(-2000, 2001)
    pmf = (1 - p) / (1 + p) * p ** np.abs(k)
    assert mech.noise_sd(Mechanism.DISCRETE_LAPLACE, t) == pytest.approx(
        math.sqrt((pmf * k**2).sum())
    )
    h = int(mech.interval_halfwidth(Mechanism.DISCRETE_LAPLACE, t))
    assert pmf[np.abs(k) <= h].sum() >= 0.95 > pmf[np.abs(k) <= h - 1].sum()


def test_laplace_interval_is_exact() -> None:
    h = mech.interval_halfwidth(Mechanism.LAPLACE, 2.0)
    assert stats.laplace(scale=2.0).cdf(h) - stats.laplace(scale=2.0).cdf(-h) == pytest.approx(0.95)


def test_selection_threshold_meets_delta() -> None:
    t, k, delta = 9.0, 3, 1e-6
    tau = mech.selection_threshold(scale=t, max_groups=k, delta=delta)
    p = math.exp(-1 / t)

    def tail(m: int) -> float:  # P(Z >= m)
        return p**m / (1 + p)

    assert k * tail(tau - 1) <= delta < k * tail(tau - 2)


def test_discrete_laplace_draws_follow_the_pmf() -> None:
    t = 3.0
    draws = DPRandom.for_testing(1).discrete_laplace(t, 200_000)
    assert draws.dtype == np.int64
    p = math.exp(-1 / t)
    support = np.arange(-15, 16)
    expected = (1 - p) / (1 + p) * p ** np.abs(support)
    tail = 1 - expected.sum()
    observed = np.array([(draws == s).sum() for s in support] + [(np.abs(draws) > 15).sum()])
    res = stats.chisquare(observed, np.append(expected, tail) * draws.size)
    assert res.pvalue >= P_MIN


def test_grid_laplace_draws_follow_the_laplace_distribution() -> None:
    g = Mechanism.DISCRETE_LAPLACE_GRID
    draws = mech.add_noise(np.zeros(50_000), g, 5.0, DPRandom.for_testing(2), step=2.0**-10)
    assert stats.kstest(draws, stats.laplace(scale=5.0).cdf).pvalue >= P_MIN


def test_default_generator_is_not_seeded() -> None:
    a, b = DPRandom(), DPRandom()
    assert not a.seeded
    assert not np.array_equal(a.random(8), b.random(8))
    assert np.array_equal(DPRandom.for_testing(3).random(8), DPRandom.for_testing(3).random(8))
