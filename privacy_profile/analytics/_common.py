"""Shared pieces of the analytics: the privacy context, charging, noise and interval helpers.

Every analysis follows the same order as :mod:`privacy_profile.dp`: check the inputs, plan the
noisy parts (mechanism, loss, L1 sensitivity, scale), charge them all to the ledger in one
transaction, and only then compute the true bounded statistics and draw noise.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from privacy_profile.dp import mechanisms as _mech
from privacy_profile.dp.aggregate_plan import NoisePart
from privacy_profile.dp.ledger import BudgetLedger, Charge
from privacy_profile.dp.mechanisms import ZCDP_MECHANISMS, MechanismRecord
from privacy_profile.dp.model import Mechanism, PrivacyLoss, ZcdpLoss
from privacy_profile.dp.rng import DPRandom
from privacy_profile.errors import InputError, PrivacyParameterError

__all__ = [
    "AnalysisPrivacy",
    "NoisyPart",
    "PartPlan",
    "add_part_noise",
    "charge",
    "check_columns",
    "discrete_laplace_sum_halfwidth",
    "plan_parts",
    "ratio_interval",
    "segment_index",
    "sorted_keys",
    "unique_segment_keys",
    "z_value",
]

INTERVAL_LEVEL = _mech.INTERVAL_LEVEL


@dataclass(frozen=True, kw_only=True)
class AnalysisPrivacy:
    """Who is protected and how much one analysis may spend.

    ``unit_column``: the pseudonymous privacy-unit column (every input table carries it);
    ``loss``: the privacy loss of this analysis (its share of the run's budget; a
    :class:`ZcdpLoss` for the analyses that support zCDP, the funnel); ``threshold``:
    the minimum noisy distinct-unit count of a released cell (smaller cells are suppressed).
    Neighbouring datasets differ by adding or removing one unit with all of its rows.
    """

    unit_column: str
    loss: PrivacyLoss | ZcdpLoss
    threshold: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.unit_column, str) or not self.unit_column:
            raise PrivacyParameterError("the privacy unit column must be a non-empty string")
        if not isinstance(self.loss, PrivacyLoss | ZcdpLoss):
            raise PrivacyParameterError("the loss must be a PrivacyLoss or a ZcdpLoss")
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise PrivacyParameterError(
                f"threshold must be a non-negative integer, got {t!r}",
                hint="use the policy's aggregation_threshold",
            )


@dataclass(frozen=True, kw_only=True)
class PartPlan(NoisePart):
    """One noisy part of an analysis: what it noises, with which loss and sensitivity (L1; for
    a zCDP part, whose loss is ``rho``, the L2 sensitivity, and ``loss`` is never charged).
    Its ledger request, epsilon, delta, noise sd and interval are those of
    :class:`~privacy_profile.dp.aggregate_plan.NoisePart`."""

    half_width: float | None = None  # a grid part's values lie in [-half_width, half_width]

    def sum_halfwidth(self, terms: int, level: float = INTERVAL_LEVEL) -> int:
        """Smallest (or, under zCDP, a safe) integer h with P(|Z_1 + ... + Z_terms| <= h) >=
        level for i.i.d. noises of this part. The discrete Gaussian is sigma^2-subgaussian
        (CKS 2020), so the sum of ``terms`` is (terms sigma^2)-subgaussian:
        h = sigma sqrt(2 terms ln(2 / (1 - level)))."""
        if self.mechanism is Mechanism.DISCRETE_GAUSSIAN:
            if terms == 1:
                return int(_mech.interval_halfwidth(self.mechanism, self.scale, level))
            return math.ceil(self.scale * math.sqrt(2.0 * terms * math.log(2.0 / (1.0 - level))))
        return discrete_laplace_sum_halfwidth(self.scale, terms, level)

    def units(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Values (within the bounds) in the units the mechanism sums: grid units for a grid
        part (exact integers), the values themselves otherwise."""
        if self.step is None or self.half_width is None:
            return values
        return _mech.to_grid(values, self.step, self.half_width).astype(np.float64)

    @property
    def variance(self) -> float:
        return self.noise_sd**2


@dataclass(frozen=True, kw_only=True)
class NoisyPart:
    """A part's noisy values and its plan."""

    plan: PartPlan
    values: npt.NDArray[Any]


def plan_parts(
    loss: PrivacyLoss | ZcdpLoss,
    parts: Sequence[tuple[str, Mechanism, float, float]],
    *,
    grids: dict[str, float] | None = None,
) -> list[PartPlan]:
    """Split ``loss`` over ``parts`` given as (name, mechanism, sensitivity, weight); pure.
    ``grids``: part name -> half-width of its values, for ``discrete_laplace_grid`` parts.
    A :class:`ZcdpLoss` needs zCDP mechanisms with their L2 sensitivity (rho split by weight)."""
    if isinstance(loss, ZcdpLoss):
        return _plan_zcdp_parts(loss, parts)
    losses = loss.split([w for *_, w in parts])
    out = []
    for (name, mech, sens, _w), part_loss in zip(parts, losses, strict=True):
        part_loss = PrivacyLoss(epsilon=part_loss.epsilon)  # additive noise: no delta used
        scale = _mech.noise_scale(mech, loss=part_loss, sensitivity=sens)
        hw = (grids or {}).get(name)
        step = _mech.grid_step(hw) if hw is not None else None
        out.append(
            PartPlan(
                name=name, mechanism=mech, loss=part_loss, sensitivity=sens, scale=scale,
                step=step, half_width=hw,
            )
        )  # fmt: skip
    return out


def _plan_zcdp_parts(
    loss: ZcdpLoss, parts: Sequence[tuple[str, Mechanism, float, float]]
) -> list[PartPlan]:
    bad = [name for name, mech, *_ in parts if mech is not Mechanism.DISCRETE_GAUSSIAN]
    if bad:
        raise PrivacyParameterError(
            f"parts {bad} have no zCDP mechanism",
            hint="release this analysis under pure epsilon (only integer counts support zCDP)",
        )
    rhos = loss.split([w for *_, w in parts])
    placeholder = PrivacyLoss(epsilon=1.0)  # never charged: a zCDP part is charged its rho
    return [
        PartPlan(
            name=name,
            mechanism=mech,
            loss=placeholder,
            sensitivity=l2,
            scale=_mech.zcdp_scale(mech, rho=r.rho, l2_sensitivity=l2),
            rho=r.rho,
        )
        for (name, mech, l2, _w), r in zip(parts, rhos, strict=True)
    ]


def charge(
    ledger: BudgetLedger, run_id: str, label: str, plans: Sequence[PartPlan]
) -> tuple[Charge, ...]:
    """Charge every part in one ledger transaction (refusal: nothing computed)."""
    return tuple(
        ledger.charge_many(run_id=run_id, requests=[p.request(f"{label}/{p.name}") for p in plans])
    )


def add_part_noise(
    plans: Sequence[PartPlan],
    truths: dict[str, npt.NDArray[Any]],
    rng: DPRandom,
    label: str,
) -> tuple[dict[str, NoisyPart], tuple[MechanismRecord, ...]]:
    """Noise each part's true values (the ledger was charged before the truths existed)."""
    noisy: dict[str, NoisyPart] = {}
    records = []
    for p in plans:
        true = truths[p.name]
        noisy[p.name] = NoisyPart(
            plan=p, values=_mech.add_noise(true, p.mechanism, p.scale, rng, step=p.step)
        )
        records.append(
            MechanismRecord(
                label=f"{label}/{p.name}",
                mechanism=p.mechanism.value,
                aggregation="count"
                if p.mechanism in (Mechanism.DISCRETE_LAPLACE, *ZCDP_MECHANISMS)
                else "sum",
                epsilon=p.epsilon,
                delta=p.delta,
                sensitivity=p.sensitivity,
                scale=p.scale,
                noise_sd=p.noise_sd,
                values=int(true.shape[0]),
                granularity=p.step,
                rho=p.rho,
            )
        )
    return noisy, tuple(records)


def check_columns(df: pd.DataFrame, columns: Sequence[str], *, table: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            f"the {table} table has no column(s) {missing}",
            hint="check the table and column roles in the policy's analytics section",
        )


def segment_index(
    segments: pd.DataFrame | None,
    *,
    segment_column: str | None,
    unit_column: str,
    keys: Sequence[Hashable],
    needed_by: str,
) -> pd.Series:
    """Unit -> position of its segment in the public ``keys`` (-1: a segment not among them),
    from the per-user segment table (one segment per user). ``needed_by`` starts the message
    when the table is missing, e.g. ``"per-segment KPIs need"``."""
    if segments is None:
        raise InputError(f"{needed_by} the per-user segment table")
    if segment_column is None:
        raise PrivacyParameterError("give both segment_column and segments, or neither")
    check_columns(segments, [unit_column, segment_column], table="segments")
    repeated = np.flatnonzero(segments[unit_column].duplicated().to_numpy())
    if repeated.size:
        # located by row positions, never by the user's (pseudonymous) value
        codes = pd.factorize(segments[unit_column], use_na_sentinel=False)[0]
        second = int(repeated[0])
        first = int(np.flatnonzero(codes == codes[second])[0])
        raise InputError(
            f"the segment table lists a user twice (rows {first + 1} and {second + 1}, counting "
            f"from 1; {repeated.size} repeated row(s) in all): each user must be in one segment",
            hint="give one segment family (one segment per user)",
        )
    index = {k: i for i, k in enumerate(keys)}
    return pd.Series(
        segments[segment_column].map(lambda v: index.get(v, -1)).to_numpy(),
        index=segments[unit_column].to_numpy(),
    )


def unique_segment_keys(segments: Sequence[Hashable]) -> tuple[Hashable, ...]:
    """The public segment keys of an analysis, as given; refused when there is none or when a
    key is listed twice (the error names the key and both positions)."""
    keys = tuple(segments)
    message = "segment keys must be a non-empty list of unique keys"
    if not keys:
        raise PrivacyParameterError(message, hint="list the public segment keys")
    seen: dict[Hashable, int] = {}
    for i, key in enumerate(keys, start=1):
        if key in seen:
            raise PrivacyParameterError(
                f"{message}: {key!r} is listed at positions {seen[key]} and {i}",
                hint="list each segment once",
            )
        seen[key] = i
    return keys


def z_value(level: float = INTERVAL_LEVEL) -> float:
    return float(stats.norm.ppf(1.0 - (1.0 - level) / 2.0))


def discrete_laplace_sum_halfwidth(scale: float, terms: int, level: float = INTERVAL_LEVEL) -> int:
    """Smallest integer h with P(|Z_1 + ... + Z_terms| <= h) >= level, Z_i i.i.d. discrete
    Laplace(scale) (exact, by convolving the probability mass functions)."""
    if terms < 1:
        raise PrivacyParameterError("terms must be >= 1")
    if terms == 1:
        return int(_mech.interval_halfwidth(Mechanism.DISCRETE_LAPLACE, scale, level))
    p = math.exp(-1.0 / scale)
    if p == 0.0:
        return 0
    # support wide enough that the truncated tail mass is negligible (< 1e-12 per term)
    half = math.ceil(math.log(1e-12) / math.log(p)) + 1
    k = np.arange(-half, half + 1)
    pmf = (1.0 - p) / (1.0 + p) * p ** np.abs(k)
    total = pmf
    for _ in range(terms - 1):
        total = np.convolve(total, pmf)
    centre = total.shape[0] // 2
    cum = total[centre] + 2.0 * np.cumsum(total[centre + 1 :])
    ok = np.flatnonzero(np.concatenate([[total[centre]], cum]) >= level)
    return int(ok[0]) if ok.size else centre


def sorted_keys(keys: Sequence[Any]) -> list[Any]:
    """Public group keys in sorted order (released in this order, never the input order)."""
    return sorted(keys, key=lambda k: (str(type(k).__name__), k))


def ratio_interval(
    num: float, num_half: float, den: float, den_half: float, *, cap: float | None = None
) -> tuple[float, float]:
    """Interval of num / den when num lies in num +- num_half and den in den +- den_half
    (each at level 1 - alpha/2 gives 1 - alpha for the ratio, by the union bound). With a
    denominator interval reaching below one, the ratio is unbounded: [0, cap]."""
    lo_d, hi_d = den - den_half, den + den_half
    hi_cap = cap if cap is not None else float("inf")
    if lo_d < 1.0:
        return 0.0, hi_cap
    lo_n, hi_n = max(num - num_half, 0.0), max(num + num_half, 0.0)
    low, high = lo_n / hi_d, hi_n / lo_d
    return max(low, 0.0), min(high, hi_cap)


HALF_LEVEL = 1.0 - (1.0 - INTERVAL_LEVEL) / 2.0
