"""The budget plan of a DP aggregation: the noisy parts it runs, each with its mechanism, loss
(or rho), sensitivity and noise scale, split from one privacy loss before any data is read.

:class:`NoisePart` is one noisy part of any release (its ledger request, epsilon and delta, noise
sd and interval); the analytics build their own parts on it. :func:`plan_budget` splits the loss
of one :func:`~privacy_profile.dp.aggregate.dp_aggregate` call over its parts, as described in
:mod:`privacy_profile.dp.aggregate`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from privacy_profile.dp import mechanisms as _mech
from privacy_profile.dp.ledger import BudgetLedger, Charge, ChargeRequest, ZcdpChargeRequest
from privacy_profile.dp.model import (
    Aggregation,
    Bounds,
    Mechanism,
    MetricSpec,
    PrivacyLoss,
    PrivacyUnit,
    PrivateSelection,
    PublicGroups,
    ZcdpLoss,
)
from privacy_profile.errors import PrivacyParameterError

__all__ = [
    "COUNT_PART",
    "ROWS_PART",
    "BudgetPlan",
    "NoisePart",
    "charge_parts",
    "plan_budget",
]

COUNT_PART = "privacy_id_count"
ROWS_PART = "count"


@dataclass(frozen=True, kw_only=True)
class NoisePart:
    """One noisy part of a release: its mechanism, loss and sensitivity (L1; for a zCDP part,
    whose loss is ``rho``, the L2 sensitivity, and ``loss`` is a placeholder never charged or
    reported) and the noise scale they give."""

    name: str
    mechanism: Mechanism
    loss: PrivacyLoss
    sensitivity: float
    scale: float
    step: float | None = None  # grid step of a grid part
    rho: float | None = None  # a zCDP part's rho

    def request(self, label: str) -> ChargeRequest | ZcdpChargeRequest:
        """The ledger charge of this part."""
        if self.rho is not None:
            return ZcdpChargeRequest(
                mechanism=self.mechanism, rho=self.rho, sensitivity=self.sensitivity, label=label
            )
        return ChargeRequest(
            mechanism=self.mechanism, loss=self.loss, sensitivity=self.sensitivity, label=label
        )

    @property
    def epsilon(self) -> float:
        """The part's epsilon (0 for a zCDP part: its loss is its rho)."""
        return 0.0 if self.rho is not None else self.loss.epsilon

    @property
    def delta(self) -> float:
        return 0.0 if self.rho is not None else self.loss.delta

    @property
    def noise_sd(self) -> float:
        return _mech.noise_sd(self.mechanism, self.scale, step=self.step)

    def halfwidth(self, level: float = _mech.INTERVAL_LEVEL) -> float:
        """P(|noise| <= halfwidth) >= level."""
        return _mech.interval_halfwidth(self.mechanism, self.scale, level, step=self.step)


def charge_parts(
    ledger: BudgetLedger, parts: Sequence[NoisePart], *, run_id: str, label: str
) -> list[Charge]:
    """Charge every part to ``ledger`` in one transaction, each labelled ``<label>/<name>``
    (epsilon and delta; rho for a zCDP part), before any noise is drawn. A refusal
    (:class:`~privacy_profile.errors.BudgetExceededError`) charges nothing. Both aggregation
    engines (pandas, Spark) charge through here."""
    return ledger.charge_many(
        run_id=run_id, requests=[p.request(f"{label}/{p.name}") for p in parts]
    )


@dataclass(frozen=True, kw_only=True)
class _Part(NoisePart):
    """A part of :func:`plan_budget`: what it aggregates, and for a sum its column and bounds."""

    aggregation: Aggregation
    bounds: Bounds | None = None
    column: str | None = None


@dataclass(frozen=True, kw_only=True)
class BudgetPlan:
    """The parts an aggregation will run, each with its loss, sensitivity and noise scale."""

    parts: tuple[_Part, ...]
    threshold: int | None

    def part(self, name: str) -> _Part:
        for p in self.parts:
            if p.name == name:
                return p
        raise KeyError(name)


def plan_budget(
    *,
    unit: PrivacyUnit,
    metrics: Sequence[MetricSpec],
    loss: PrivacyLoss | ZcdpLoss,
    groups: PublicGroups | PrivateSelection,
    weights: Mapping[str, float] | None = None,
) -> BudgetPlan:
    """Split ``loss`` over the parts needed by ``metrics`` (see module doc). Pure: no data."""
    if isinstance(loss, ZcdpLoss):
        return _plan_zcdp(unit=unit, metrics=metrics, loss=loss, groups=groups, weights=weights)
    k, m = unit.max_groups_contributed, unit.max_rows_per_group
    names, sums, weights = _part_names(unit, metrics, weights)
    private = isinstance(groups, PrivateSelection)
    if private and loss.delta <= 0:
        raise PrivacyParameterError(
            "private group selection needs delta > 0",
            hint="give the loss a delta (e.g. 1e-6) or list the groups in the policy",
        )
    losses = loss.split([float(weights.get(n, 1.0)) for n in names], delta_to=0)
    parts: list[_Part] = []
    for name, part_loss in zip(names, losses, strict=True):
        step = None
        if name == COUNT_PART:
            if not private:  # public groups: the delta is not used, so not charged
                part_loss = PrivacyLoss(epsilon=part_loss.epsilon)
            mech, agg, sens, b, col = (
                Mechanism.DISCRETE_LAPLACE,
                Aggregation.PRIVACY_ID_COUNT,
                float(k),
                None,
                None,
            )
        elif name == ROWS_PART:
            mech, agg, sens, b, col = (
                Mechanism.DISCRETE_LAPLACE,
                Aggregation.COUNT,
                float(k * m),
                None,
                None,
            )
        else:
            col = name.split(":", 1)[1]
            b = sums[col]
            step = _mech.grid_step(b.half_width)
            # sensitivity rounded up to the grid: k * m values of at most grid_units each
            sens = float(k * m * _mech.grid_units(b.half_width, step)) * step
            mech, agg = Mechanism.DISCRETE_LAPLACE_GRID, Aggregation.SUM
        scale = _mech.noise_scale(mech, loss=part_loss, sensitivity=sens)
        parts.append(
            _Part(
                name=name,
                mechanism=mech,
                aggregation=agg,
                loss=part_loss,
                sensitivity=sens,
                scale=scale,
                bounds=b,
                column=col,
                step=step,
            )
        )
    threshold = None
    if private:
        count = parts[0]
        threshold = _mech.selection_threshold(scale=count.scale, max_groups=k, delta=loss.delta)
    return BudgetPlan(parts=tuple(parts), threshold=threshold)


def _part_names(
    unit: PrivacyUnit, metrics: Sequence[MetricSpec], weights: Mapping[str, float] | None
) -> tuple[list[str], dict[str, Bounds], dict[str, float]]:
    """The parts ``metrics`` need (distinct units, rows, one sum per column), the bounds of
    each summed column, and the checked weights."""
    sums: dict[str, Bounds] = {}
    need_rows = False
    for spec in metrics:
        # with one row per (unit, group) the row count is the distinct-unit count: reuse it
        if (
            spec.aggregation in (Aggregation.COUNT, Aggregation.SUM, Aggregation.MEAN)
            and unit.max_rows_per_group > 1
        ):
            need_rows = True
        if spec.column is not None and spec.bounds is not None:
            prev = sums.setdefault(spec.column, spec.bounds)
            if prev != spec.bounds:
                raise PrivacyParameterError(f"column {spec.column!r} has two different bounds")
    names = [COUNT_PART] + ([ROWS_PART] if need_rows else []) + [f"sum:{c}" for c in sums]
    checked = dict(weights or {})
    unknown = set(checked) - set(names)
    if unknown:
        raise PrivacyParameterError(
            f"unknown budget parts {sorted(unknown)}", hint=f"use some of {names}"
        )
    return names, sums, checked


def _plan_zcdp(
    *,
    unit: PrivacyUnit,
    metrics: Sequence[MetricSpec],
    loss: ZcdpLoss,
    groups: PublicGroups | PrivateSelection,
    weights: Mapping[str, float] | None,
) -> BudgetPlan:
    """The zCDP plan: rho split by weight, discrete Gaussian per part, L2 sensitivities."""
    if isinstance(groups, PrivateSelection):
        raise PrivacyParameterError(
            "private group selection is not available under zCDP (its threshold is "
            "calibrated for discrete Laplace noise)",
            hint="list the groups publicly, or release this part under pure epsilon",
        )
    k, m = unit.max_groups_contributed, unit.max_rows_per_group
    names, sums, weights = _part_names(unit, metrics, weights)
    rhos = loss.split([float(weights.get(n, 1.0)) for n in names])
    root_k = math.sqrt(k)
    parts: list[_Part] = []
    for name, part_rho in zip(names, rhos, strict=True):
        step: float | None = None
        b: Bounds | None = None
        col: str | None = None
        if name == COUNT_PART:
            mech, agg, l2 = Mechanism.DISCRETE_GAUSSIAN, Aggregation.PRIVACY_ID_COUNT, root_k
        elif name == ROWS_PART:
            mech, agg, l2 = Mechanism.DISCRETE_GAUSSIAN, Aggregation.COUNT, root_k * m
        else:
            col = name.split(":", 1)[1]
            b = sums[col]
            step = _mech.grid_step(b.half_width)
            # one unit: at most m values of at most grid_units each in each of k groups
            l2 = root_k * m * _mech.grid_units(b.half_width, step) * step
            mech, agg = Mechanism.DISCRETE_GAUSSIAN_GRID, Aggregation.SUM
        parts.append(
            _Part(
                name=name,
                mechanism=mech,
                aggregation=agg,
                loss=_ZCDP_PLACEHOLDER,
                sensitivity=l2,
                scale=_mech.zcdp_scale(mech, rho=part_rho.rho, l2_sensitivity=l2),
                bounds=b,
                column=col,
                step=step,
                rho=part_rho.rho,
            )
        )
    return BudgetPlan(parts=tuple(parts), threshold=None)


#: The ``loss`` field of a zCDP part: never charged or reported (its ``rho`` is).
_ZCDP_PLACEHOLDER = PrivacyLoss(epsilon=1.0)
