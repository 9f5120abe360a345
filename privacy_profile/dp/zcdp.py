"""Zero-concentrated DP (rho-zCDP, Bun & Steinke 2016): conversions and the exact discrete
Gaussian sampler of Canonne, Kamath & Steinke (2020).

* :func:`zcdp_epsilon` converts rho-zCDP to (epsilon, delta)-DP with CKS 2020's conversion
  (Proposition 1.6/Corollary 13: epsilon = inf over alpha > 1 of alpha rho + (ln(1/delta) +
  (alpha - 1) ln(1 - 1/alpha) - ln(alpha)) / (alpha - 1)), never worse than the classic
  rho + 2 sqrt(rho ln(1/delta)); :func:`zcdp_rho` is its inverse (the largest rho that fits).
* rho-zCDP composes by adding rho; a pure epsilon-DP release is (epsilon^2 / 2)-zCDP.
* :func:`gaussian_sigma`: the discrete Gaussian with L2 sensitivity s and variance parameter
  sigma^2 = s^2 / (2 rho) is rho-zCDP (CKS 2020, Theorem 4).
* :func:`discrete_gaussian` draws N_Z(0, sigma^2) exactly (CKS 2020, Algorithms 1-3): only
  integer uniforms and rational arithmetic (``fractions.Fraction``), no floating point, so it is
  not open to Mironov's attack; sigma^2 is taken as the exact rational value of the float.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import numpy.typing as npt
from scipy import optimize

from privacy_profile.dp.rng import DPRandom
from privacy_profile.errors import PrivacyParameterError

__all__ = [
    "discrete_gaussian",
    "gaussian_sigma",
    "zcdp_epsilon",
    "zcdp_rho",
]


def _check(rho: float, delta: float) -> None:
    if not (math.isfinite(rho) and rho > 0):
        raise PrivacyParameterError(f"rho must be positive and finite, got {rho}")
    if not 0.0 < delta < 1.0:
        raise PrivacyParameterError(
            f"converting zCDP to (epsilon, delta) needs 0 < delta < 1, got {delta}",
            hint="give the budget a delta (e.g. 1e-6)",
        )


def zcdp_epsilon(rho: float, delta: float) -> float:
    """The epsilon of (epsilon, delta)-DP implied by rho-zCDP (CKS 2020 conversion)."""
    _check(rho, delta)
    log_inv = math.log(1.0 / delta)

    def eps(log_am1: float) -> float:  # alpha = 1 + e^x, alpha - 1 = e^x
        am1 = math.exp(log_am1)
        a = 1.0 + am1
        return a * rho + (log_inv + am1 * math.log1p(-1.0 / a) - math.log(a)) / am1

    res = optimize.minimize_scalar(eps, bounds=(-20.0, 20.0), method="bounded")
    classic = rho + 2.0 * math.sqrt(rho * log_inv)
    return float(min(res.fun, classic))


def zcdp_rho(epsilon: float, delta: float) -> float:
    """The largest rho whose :func:`zcdp_epsilon` at ``delta`` is at most ``epsilon``."""
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise PrivacyParameterError(f"epsilon must be positive and finite, got {epsilon}")
    _check(1.0, delta)
    lo, hi = 0.0, epsilon  # zcdp_epsilon(rho) >= rho, so rho <= epsilon
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if mid > 0 and zcdp_epsilon(mid, delta) <= epsilon:
            lo = mid
        else:
            hi = mid
    if lo <= 0:
        raise PrivacyParameterError(f"no rho > 0 fits epsilon {epsilon} at delta {delta}")
    return lo


def gaussian_sigma(rho: float, l2_sensitivity: float) -> float:
    """sigma of the (discrete) Gaussian mechanism that is rho-zCDP: s / sqrt(2 rho)."""
    if not (math.isfinite(l2_sensitivity) and l2_sensitivity > 0):
        raise PrivacyParameterError("the L2 sensitivity must be positive and finite")
    _check(rho, 0.5)
    return l2_sensitivity / math.sqrt(2.0 * rho)


# -- exact samplers (CKS 2020) --------------------------------------------------------------


def _bernoulli(p: Fraction, rng: DPRandom) -> bool:
    return rng.randbelow(p.denominator) < p.numerator


def _bernoulli_exp_minus(gamma: Fraction, rng: DPRandom) -> bool:
    """Bernoulli(exp(-gamma)) for rational gamma >= 0 (CKS Algorithm 1)."""
    while gamma > 1:
        if not _bernoulli_exp_minus(Fraction(1), rng):
            return False
        gamma -= 1
    k = 1
    while _bernoulli(gamma / k, rng):
        k += 1
    return k % 2 == 1


def _discrete_laplace(t: int, rng: DPRandom) -> int:
    """P(y) ∝ exp(-|y| / t) for integer t >= 1 (CKS Algorithm 2 with s = 1)."""
    while True:
        u = rng.randbelow(t)
        if not _bernoulli_exp_minus(Fraction(u, t), rng):
            continue
        v = 0
        while _bernoulli_exp_minus(Fraction(1), rng):
            v += 1
        y = u + t * v
        negative = rng.randbelow(2) == 1
        if negative and y == 0:
            continue
        return -y if negative else y


def _one_discrete_gaussian(sigma2: Fraction, rng: DPRandom) -> int:
    t = math.isqrt(math.floor(sigma2)) + 1  # floor(sigma) + 1
    while True:
        y = _discrete_laplace(t, rng)
        gamma = (abs(y) - sigma2 / t) ** 2 / (2 * sigma2)
        if _bernoulli_exp_minus(gamma, rng):
            return y


def discrete_gaussian(sigma: float, size: int, rng: DPRandom) -> npt.NDArray[np.int64]:
    """``size`` exact draws of the discrete Gaussian N_Z(0, sigma^2):
    P(y) ∝ exp(-y^2 / (2 sigma^2)) on the integers."""
    if not (math.isfinite(sigma) and sigma > 0):
        raise PrivacyParameterError(f"sigma must be positive and finite, got {sigma}")
    sigma2 = Fraction(sigma) ** 2
    return np.array([_one_discrete_gaussian(sigma2, rng) for _ in range(size)], dtype=np.int64)
