"""Noise scales, noise draws and confidence intervals: the one place where
(epsilon, delta, sensitivity) becomes a noise scale.

Tests spy on :func:`noise_scale`; the aggregation code calls it through this module so a
monkeypatch sees every call.

* ``DISCRETE_LAPLACE`` (two-sided geometric) for integer counts: P(k) ∝ exp(-|k|/t),
  t = sensitivity / epsilon (L1 sensitivity). No floating-point Laplace on counts (Mironov 2012).
* ``DISCRETE_LAPLACE_GRID`` for real values (sums): each value is rounded to a fixed-point grid
  of step g (a power of two, :func:`grid_step`, 2^-GRID_BITS of the value's half-range), the
  integer grid units are summed exactly, integer discrete Laplace noise with t = (sensitivity /
  g) / epsilon is added and the result is scaled back by g. The sensitivity is rounded *up* to
  the grid (:func:`grid_units`), so the integer mechanism's guarantee is exact; outputs are
  multiples of g, so the low-order bits of a float carry nothing (Mironov 2012). ``scale`` is
  reported in value units (g * t).
* ``LAPLACE``: the scale formula b = sensitivity / epsilon only; :func:`add_noise` refuses it
  (no release draws floating-point Laplace noise).
* ``DISCRETE_GAUSSIAN`` (zCDP) for integer counts: the exact discrete Gaussian N_Z(0, sigma^2)
  of :func:`privacy_profile.dp.zcdp.discrete_gaussian` with sigma = L2 sensitivity /
  sqrt(2 rho) (:func:`zcdp_scale`; rho-zCDP, CKS 2020 Thm 4). ``DISCRETE_GAUSSIAN_GRID``: the
  same on the fixed-point grid of ``DISCRETE_LAPLACE_GRID`` (sigma in grid units is the L2
  sensitivity in grid units, rounded up, over sqrt(2 rho)); ``scale`` is reported in value
  units (g * sigma). Intervals use CKS 2020 Prop. 25: P(Z >= m) <= P(N(0, sigma^2) >= m - 1).
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
from privacy_profile.dp.zcdp import discrete_gaussian, gaussian_sigma
from privacy_profile.errors import PrivacyParameterError

__all__ = [
    "MechanismRecord",
    "add_noise",
    "grid_step",
    "grid_units",
    "interval_halfwidth",
    "noise_scale",
    "noise_sd",
    "selection_threshold",
    "to_grid",
    "zcdp_scale",
]

INTERVAL_LEVEL = 0.95
GRID_BITS = 20  # grid step = 2^-20 of the half-range (about 1e-6 relative rounding per value)
_ADDITIVE_LAPLACE = (Mechanism.DISCRETE_LAPLACE, Mechanism.DISCRETE_LAPLACE_GRID, Mechanism.LAPLACE)
#: The zCDP mechanisms: their loss is a rho, their sensitivity an L2 sensitivity.
ZCDP_MECHANISMS = frozenset({Mechanism.DISCRETE_GAUSSIAN, Mechanism.DISCRETE_GAUSSIAN_GRID})


@dataclass(frozen=True, kw_only=True)
class MechanismRecord:
    """What one mechanism did: plain data for the ledger and the lineage audit facet.

    ``scale`` is the mechanism's own parameter (t or b for Laplace kinds, sigma for Gaussian,
    0 for the exponential mechanism); ``noise_sd`` the standard deviation of one noise draw.
    ``granularity`` is the grid step of a ``discrete_laplace_grid`` release (else None).
    ``rho`` is the part's rho for a zCDP mechanism (then epsilon and delta are 0 and
    ``sensitivity`` is the L2 sensitivity), None for a pure one.
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
    granularity: float | None = None
    rho: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def noise_scale(mechanism: Mechanism, *, loss: PrivacyLoss, sensitivity: float) -> float:
    """The noise scale of ``mechanism`` for ``loss`` and ``sensitivity`` (see module doc)."""
    if not (math.isfinite(sensitivity) and sensitivity > 0):
        raise PrivacyParameterError(f"sensitivity must be positive and finite, got {sensitivity}")
    if mechanism in _ADDITIVE_LAPLACE:
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


def zcdp_scale(mechanism: Mechanism, *, rho: float, l2_sensitivity: float) -> float:
    """sigma of a zCDP mechanism for ``rho`` and L2 sensitivity (value units; for the grid
    mechanism give the sensitivity already rounded up to the grid): l2 / sqrt(2 rho)."""
    if mechanism not in ZCDP_MECHANISMS:
        raise PrivacyParameterError(f"{mechanism.value} is not a zCDP mechanism")
    return gaussian_sigma(rho, l2_sensitivity)


def _geometric_p(scale: float) -> float:
    return math.exp(-1.0 / scale)


def grid_step(half_width: float) -> float:
    """The fixed-point grid step for values in [-half_width, half_width]: the power of two
    2^j with 2^j <= half_width * 2^-GRID_BITS < 2^(j+1). Depends on the policy bounds only."""
    if not (math.isfinite(half_width) and half_width > 0):
        raise PrivacyParameterError(f"half-width must be positive and finite, got {half_width}")
    _, e = math.frexp(half_width)  # half_width = f * 2^e, 0.5 <= f < 1
    return math.ldexp(1.0, e - 1 - GRID_BITS)


def grid_units(half_width: float, step: float) -> int:
    """The largest |value| in [-half_width, half_width] in grid units, rounded up."""
    return math.ceil(half_width / step)


def to_grid(values: npt.NDArray[Any], step: float, half_width: float) -> npt.NDArray[np.int64]:
    """``values`` (already within +-half_width) rounded to the nearest grid point, in integer
    grid units, clamped to +-grid_units(half_width, step) (rounding never passes the bound)."""
    cap = grid_units(half_width, step)
    out: npt.NDArray[np.int64] = np.clip(np.rint(values / step), -cap, cap).astype(np.int64)
    return out


def _int_scale(scale: float, step: float | None) -> tuple[float, float]:
    """(integer-unit scale, step) of a grid mechanism."""
    if step is None or not (math.isfinite(step) and step > 0):
        raise PrivacyParameterError("a grid mechanism needs the grid step")
    return scale / step, step


def noise_sd(mechanism: Mechanism, scale: float, *, step: float | None = None) -> float:
    """Standard deviation of one draw of ``mechanism``'s noise at ``scale`` (value units;
    ``step``: the grid step of ``discrete_laplace_grid``)."""
    if mechanism is Mechanism.DISCRETE_LAPLACE:
        p = _geometric_p(scale)
        return math.sqrt(2.0 * p) / (1.0 - p)
    if mechanism is Mechanism.DISCRETE_LAPLACE_GRID:
        t, g = _int_scale(scale, step)
        return g * noise_sd(Mechanism.DISCRETE_LAPLACE, t)
    if mechanism is Mechanism.LAPLACE:
        return math.sqrt(2.0) * scale
    if mechanism in (Mechanism.GAUSSIAN, *ZCDP_MECHANISMS):
        return scale  # the discrete Gaussian's variance is below sigma^2 (CKS 2020)
    raise PrivacyParameterError(f"{mechanism.value} has no additive noise")


def interval_halfwidth(
    mechanism: Mechanism,
    scale: float,
    level: float = INTERVAL_LEVEL,
    *,
    step: float | None = None,
) -> float:
    """h such that P(|noise| <= h) >= level (exactly the smallest such integer for discrete
    Laplace, the smallest such grid multiple on a grid; exact for Laplace and Gaussian)."""
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
    if mechanism is Mechanism.DISCRETE_LAPLACE_GRID:
        t, g = _int_scale(scale, step)
        return g * interval_halfwidth(Mechanism.DISCRETE_LAPLACE, t, level)
    if mechanism is Mechanism.LAPLACE:
        return scale * math.log(1.0 / alpha)
    if mechanism is Mechanism.GAUSSIAN:
        return scale * float(stats.norm.ppf(1.0 - alpha / 2.0))
    if mechanism is Mechanism.DISCRETE_GAUSSIAN:
        # P(|Z| > h) = 2 P(Z >= h + 1) <= 2 P(N(0, sigma^2) >= h) (CKS 2020, Prop. 25)
        return float(math.ceil(scale * float(stats.norm.ppf(1.0 - alpha / 2.0))))
    if mechanism is Mechanism.DISCRETE_GAUSSIAN_GRID:
        t, g = _int_scale(scale, step)
        return g * interval_halfwidth(Mechanism.DISCRETE_GAUSSIAN, t, level)
    raise PrivacyParameterError(f"{mechanism.value} has no additive noise")


def add_noise(
    values: npt.NDArray[Any],
    mechanism: Mechanism,
    scale: float,
    rng: DPRandom,
    *,
    step: float | None = None,
) -> npt.NDArray[Any]:
    """``values`` plus independent noise.

    ``DISCRETE_LAPLACE``: integer values, integer output. ``DISCRETE_LAPLACE_GRID``: values in
    integer grid units (:func:`to_grid`, summed), output ``step * (values + integer noise)``.
    ``DISCRETE_GAUSSIAN`` / ``DISCRETE_GAUSSIAN_GRID``: the same with exact discrete Gaussian
    noise of parameter ``scale`` (sigma, value units). Continuous Laplace and Gaussian are
    refused (not floating-point safe)."""
    n = int(values.shape[0])
    if mechanism is Mechanism.DISCRETE_LAPLACE:
        out: npt.NDArray[Any] = np.rint(values).astype(np.int64) + rng.discrete_laplace(scale, n)
        return out
    if mechanism is Mechanism.DISCRETE_LAPLACE_GRID:
        t, g = _int_scale(scale, step)
        noisy = np.rint(values).astype(np.int64) + rng.discrete_laplace(t, n)
        scaled: npt.NDArray[np.float64] = noisy.astype(np.float64) * g
        return scaled
    if mechanism is Mechanism.DISCRETE_GAUSSIAN:
        exact: npt.NDArray[Any] = np.rint(values).astype(np.int64) + discrete_gaussian(
            scale, n, rng
        )
        return exact
    if mechanism is Mechanism.DISCRETE_GAUSSIAN_GRID:
        t, g = _int_scale(scale, step)
        on_grid = np.rint(values).astype(np.int64) + discrete_gaussian(t, n, rng)
        grid_out: npt.NDArray[np.float64] = on_grid.astype(np.float64) * g
        return grid_out
    raise PrivacyParameterError(
        f"{mechanism.value} noise is not drawn by any release",
        hint="use discrete_laplace / discrete_gaussian (integers) or their grid versions "
        "(real values)",
    )


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
