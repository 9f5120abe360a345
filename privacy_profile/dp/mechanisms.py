"""Noise scales, noise draws and confidence intervals: the one place where
(epsilon, delta, sensitivity) becomes a noise scale.

Tests spy on :func:`noise_scale`; the aggregation code calls it through this module so a
monkeypatch sees every call.

* ``DISCRETE_LAPLACE`` (two-sided geometric) for integer counts: P(k) ∝ exp(-|k|/t),
  t = sensitivity / epsilon (L1 sensitivity). No floating-point Laplace on counts (Mironov 2012).
* ``LAPLACE`` for sums: scale b = sensitivity / epsilon (L1 sensitivity).
* ``GAUSSIAN`` (classic, epsilon < 1): sigma = sensitivity * sqrt(2 ln(1.25/delta)) / epsilon
  (L2 sensitivity).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from privacy_profile.dp.model import Mechanism, PrivacyLoss
from privacy_profile.dp.rng import DPRandom
from privacy_profile.errors import PrivacyParameterError

__all__ = [
    "MechanismRecord",
    "add_noise",
    "interval_halfwidth",
    "noise_scale",
    "noise_sd",
    "selection_threshold",
]

INTERVAL_LEVEL = 0.95


@dataclass(frozen=True, kw_only=True)
class MechanismRecord:
    """What one mechanism did: plain data for the ledger and the lineage audit facet.

    ``scale`` is the mechanism's own parameter (t or b for Laplace kinds, sigma for Gaussian,
    0 for the exponential mechanism); ``noise_sd`` the standard deviation of one noise draw.
    ``values`` is how many values it noised (public: the number of candidate groups for public
    groups; for private selection it is not recorded, as it depends on the data).
    """

    label: str
    mechanism: str
    aggregation: str
    epsilon: float
    delta: float
    sensitivity: float
    scale: float
    noise_sd: float
    values: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def noise_scale(mechanism: Mechanism, *, loss: PrivacyLoss, sensitivity: float) -> float:
    """The noise scale of ``mechanism`` for ``loss`` and ``sensitivity`` (see module doc)."""
    if not (math.isfinite(sensitivity) and sensitivity > 0):
        raise PrivacyParameterError(f"sensitivity must be positive and finite, got {sensitivity}")
    if mechanism in (Mechanism.DISCRETE_LAPLACE, Mechanism.LAPLACE):
        return sensitivity / loss.epsilon
    if mechanism is Mechanism.GAUSSIAN:
        if loss.delta <= 0:
            raise PrivacyParameterError(
                "the Gaussian mechanism needs delta > 0", hint="give the loss a delta"
            )
        if loss.epsilon >= 1:
            raise PrivacyParameterError(
                "the classic Gaussian mechanism needs epsilon < 1",
                hint="use the Laplace mechanism or a smaller epsilon per part",
            )
        return sensitivity * math.sqrt(2.0 * math.log(1.25 / loss.delta)) / loss.epsilon
    raise PrivacyParameterError(f"{mechanism.value} has no additive noise scale")


def _geometric_p(scale: float) -> float:
    return math.exp(-1.0 / scale)


def noise_sd(mechanism: Mechanism, scale: float) -> float:
    """Standard deviation of one draw of ``mechanism``'s noise at ``scale``."""
    if mechanism is Mechanism.DISCRETE_LAPLACE:
        p = _geometric_p(scale)
        return math.sqrt(2.0 * p) / (1.0 - p)
    if mechanism is Mechanism.LAPLACE:
        return math.sqrt(2.0) * scale
    if mechanism is Mechanism.GAUSSIAN:
        return scale
    raise PrivacyParameterError(f"{mechanism.value} has no additive noise")


def interval_halfwidth(mechanism: Mechanism, scale: float, level: float = INTERVAL_LEVEL) -> float:
    """h such that P(|noise| <= h) >= level (exactly the smallest such integer for discrete
    Laplace; exact for Laplace and Gaussian)."""
    alpha = 1.0 - level
    if mechanism is Mechanism.DISCRETE_LAPLACE:
        # P(|Z| > q) = 2 p^(q+1) / (1 + p)
        p = _geometric_p(scale)
        if p == 0.0:  # no noise at all at this scale
            return 0.0
        q = math.ceil(math.log(alpha * (1.0 + p) / 2.0) / math.log(p)) - 1
        q = max(q, 0)
        while q > 0 and 2.0 * p**q / (1.0 + p) <= alpha:  # guard against rounding
            q -= 1
        return float(q)
    if mechanism is Mechanism.LAPLACE:
        return scale * math.log(1.0 / alpha)
    if mechanism is Mechanism.GAUSSIAN:
        return scale * float(stats.norm.ppf(1.0 - alpha / 2.0))
    raise PrivacyParameterError(f"{mechanism.value} has no additive noise")


def add_noise(
    values: npt.NDArray[Any], mechanism: Mechanism, scale: float, rng: DPRandom
) -> npt.NDArray[Any]:
    """``values`` plus independent noise; integer output for discrete Laplace."""
    n = int(values.shape[0])
    if mechanism is Mechanism.DISCRETE_LAPLACE:
        out: npt.NDArray[Any] = np.rint(values).astype(np.int64) + rng.discrete_laplace(scale, n)
        return out
    if mechanism is Mechanism.LAPLACE:
        return values.astype(np.float64) + rng.laplace(scale, n)
    if mechanism is Mechanism.GAUSSIAN:
        return values.astype(np.float64) + rng.gaussian(scale, n)
    raise PrivacyParameterError(f"{mechanism.value} has no additive noise")


def selection_threshold(*, scale: float, max_groups: int, delta: float) -> int:
    """Smallest integer tau such that releasing a group when (distinct units + discrete
    Laplace(scale)) >= tau is (0, delta)-safe for groups only one unit touches:
    max_groups * P(1 + Z >= tau) <= delta, with P(Z >= m) = p^m / (1 + p), p = exp(-1/scale).
    """
    if not 0.0 < delta < 1.0:
        raise PrivacyParameterError(
            "private group selection needs delta > 0",
            hint="give the loss a delta (e.g. 1e-6) or list the groups in the policy",
        )
    p = _geometric_p(scale)
    target = delta / max_groups
    if p == 0.0:
        return 2
    m = max(math.ceil(math.log(target * (1.0 + p)) / math.log(p)), 0)
    while p**m / (1.0 + p) > target:  # guard against rounding
        m += 1
    return 1 + m
