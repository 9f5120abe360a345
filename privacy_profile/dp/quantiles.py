"""DP quantiles of one value per privacy unit (e.g. RFM split points), exponential mechanism.

For each quantile q the n values, clamped to the policy bounds and sorted, cut [lower, upper]
into n + 1 intervals; interval i has utility -|i - q n| (sensitivity 1) and is chosen with
probability ∝ length_i * exp(epsilon * utility / 2), then a point is drawn uniformly inside
it (Smith 2011; diffprivlib's ``quantile`` does the same). Several quantiles split epsilon
evenly (basic composition). Sampling uses the Gumbel-max trick, vectorized.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from privacy_profile.dp.ledger import BudgetLedger, Charge, ChargeRequest, ZcdpChargeRequest
from privacy_profile.dp.mechanisms import MechanismRecord
from privacy_profile.dp.model import Bounds, Mechanism, PrivacyLoss, ZcdpLoss
from privacy_profile.dp.rng import DPRandom
from privacy_profile.errors import InputError, PrivacyParameterError

__all__ = ["QuantileResult", "dp_quantiles", "exponential_quantile"]


@dataclass(frozen=True, kw_only=True)
class QuantileResult:
    """``values[i]`` estimates quantile ``quantiles[i]``; non-decreasing (sorted, which is
    post-processing). Quantiles carry no additive-noise interval: see docs/dp.md."""

    quantiles: tuple[float, ...]
    values: tuple[float, ...]
    records: tuple[MechanismRecord, ...]
    charges: tuple[Charge, ...]


def exponential_quantile(
    sorted_clamped: npt.NDArray[np.float64],
    q: float,
    *,
    epsilon: float,
    bounds: Bounds,
    rng: DPRandom,
) -> float:
    """One exponential-mechanism quantile of already clamped and sorted values."""
    n = sorted_clamped.shape[0]
    edges = np.concatenate(([bounds.lower], sorted_clamped, [bounds.upper]))
    lengths = np.diff(edges)
    utility = -np.abs(np.arange(n + 1, dtype=np.float64) - q * n)
    with np.errstate(divide="ignore"):
        log_w = np.log(lengths) + epsilon * utility / 2.0
    i = int(np.argmax(log_w + rng.gumbel(n + 1)))
    return float(edges[i] + rng.random(1)[0] * lengths[i])


def dp_quantiles(
    values_per_unit: npt.ArrayLike,
    *,
    bounds: Bounds,
    quantiles: Sequence[float],
    loss: PrivacyLoss | ZcdpLoss,
    ledger: BudgetLedger,
    run_id: str,
    rng: DPRandom | None = None,
    label: str = "dp_quantiles",
) -> QuantileResult:
    """DP quantiles of ``values_per_unit`` (exactly one value per privacy unit).

    Under zCDP (``loss`` a :class:`ZcdpLoss`) each quantile's exponential mechanism runs at
    epsilon sqrt(2 rho_q) and is charged rho_q (an epsilon-DP mechanism is epsilon^2 / 2-zCDP,
    Bun & Steinke 2016, Prop. 1.4)."""
    qs = tuple(float(q) for q in quantiles)
    if not qs or any(not 0.0 <= q <= 1.0 for q in qs):
        raise PrivacyParameterError("quantiles must be a non-empty list of numbers in [0, 1]")
    if not isinstance(bounds, Bounds):
        raise PrivacyParameterError(
            "dp_quantiles needs policy bounds", hint="bounds from the data are not allowed"
        )
    requests: list[ChargeRequest | ZcdpChargeRequest]
    rho_q: float | None = None
    if isinstance(loss, ZcdpLoss):
        rho_q = loss.rho / len(qs)
        part = PrivacyLoss(epsilon=math.sqrt(2.0 * rho_q))
        requests = [
            ZcdpChargeRequest(
                mechanism=Mechanism.EXPONENTIAL, rho=rho_q, sensitivity=1.0, label=f"{label}/q{q:g}"
            )
            for q in qs
        ]
    else:
        part = PrivacyLoss(epsilon=loss.epsilon / len(qs))
        requests = [
            ChargeRequest(
                mechanism=Mechanism.EXPONENTIAL, loss=part, sensitivity=1.0, label=f"{label}/q{q:g}"
            )
            for q in qs
        ]
    charges = ledger.charge_many(run_id=run_id, requests=requests)
    rng = rng if rng is not None else DPRandom()
    v = np.asarray(values_per_unit, dtype=np.float64).ravel()
    if np.isnan(v).any():
        raise InputError("quantile input has missing values", hint="drop or impute them first")
    v = np.sort(np.clip(v, bounds.lower, bounds.upper))
    out = sorted(
        exponential_quantile(v, q, epsilon=part.epsilon, bounds=bounds, rng=rng) for q in qs
    )
    records = tuple(
        MechanismRecord(
            label=f"{label}/q{q:g}",
            mechanism=Mechanism.EXPONENTIAL.value,
            aggregation="quantile",
            epsilon=part.epsilon if rho_q is None else 0.0,
            delta=0.0,
            sensitivity=1.0,
            scale=0.0,
            noise_sd=float("nan"),
            rho=rho_q,
        )
        for q in qs
    )
    return QuantileResult(quantiles=qs, values=tuple(out), records=records, charges=tuple(charges))
