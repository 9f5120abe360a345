"""zCDP conversions and the exact discrete Gaussian sampler (CKS 2020)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from privacy_profile.dp import DPRandom
from privacy_profile.dp.zcdp import discrete_gaussian, gaussian_sigma, zcdp_epsilon, zcdp_rho
from privacy_profile.errors import PrivacyParameterError

P_MIN = 1e-4


def test_conversion_beats_the_classic_bound_and_matches_known_values() -> None:
    rho, delta = 0.5, 1e-6
    classic = rho + 2 * math.sqrt(rho * math.log(1 / delta))
    eps = zcdp_epsilon(rho, delta)
    assert eps < classic
    # brute force of the CKS formula over a fine alpha grid
    a = 1 + np.exp(np.linspace(-8, 8, 200_001))
    brute = np.min(
        a * rho + (math.log(1 / delta) + (a - 1) * np.log1p(-1 / a) - np.log(a)) / (a - 1)
    )
    assert eps == pytest.approx(brute, rel=1e-6)


def test_rho_is_the_inverse() -> None:
    for eps, delta in [(1.0, 1e-6), (10.0, 1e-5), (0.1, 1e-9)]:
        rho = zcdp_rho(eps, delta)
        assert zcdp_epsilon(rho, delta) <= eps
        assert zcdp_epsilon(rho * 1.001, delta) > eps


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(PrivacyParameterError, match="delta"):
        zcdp_epsilon(1.0, 0.0)
    with pytest.raises(PrivacyParameterError):
        zcdp_rho(-1.0, 1e-6)
    with pytest.raises(PrivacyParameterError):
        gaussian_sigma(0.0, 1.0)
    assert gaussian_sigma(0.5, 3.0) == pytest.approx(3.0)


def test_discrete_gaussian_follows_its_pmf() -> None:
    """Seeded chi-square against the exact pmf (false-positive rate 1e-4)."""
    sigma = 2.5
    draws = discrete_gaussian(sigma, 20_000, DPRandom.for_testing(8))
    assert draws.dtype == np.int64
    support = np.arange(-8, 9)
    k = np.arange(-60, 61)
    z = np.exp(-(k**2) / (2 * sigma**2)).sum()
    expected = np.exp(-(support**2) / (2 * sigma**2)) / z
    observed = np.array([(draws == s).sum() for s in support] + [(np.abs(draws) > 8).sum()])
    res = stats.chisquare(observed, np.append(expected, 1 - expected.sum()) * draws.size)
    assert res.pvalue >= P_MIN


def test_discrete_gaussian_large_sigma_has_the_right_spread() -> None:
    sigma = 1000.0
    draws = discrete_gaussian(sigma, 4000, DPRandom.for_testing(9)).astype(float)
    # sample sd of a Gaussian: relative sd 1/sqrt(2n) = 1.1%; 5% is over 4 sd
    assert draws.std() == pytest.approx(sigma, rel=0.05)
    assert abs(draws.mean()) < 4.5 * sigma / math.sqrt(draws.size)


def test_randbelow_is_uniform_and_exact_for_big_ints() -> None:
    rng = DPRandom.for_testing(3)
    x = [rng.randbelow(6) for _ in range(6000)]
    assert stats.chisquare(np.bincount(x, minlength=6)).pvalue >= P_MIN
    big = 3 * 2**100 + 1
    assert all(0 <= rng.randbelow(big) < big for _ in range(100))
    assert max(rng.randbelow(big) for _ in range(200)) > 2**100  # uses the high words
