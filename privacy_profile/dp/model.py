"""Privacy model objects: who is protected (the privacy unit), how much (the privacy loss).

These are frozen, keyword-only dataclasses validated on construction, so a mechanism never
receives a loose float. The policy layer converts its YAML section into these objects; this
module does not import the policy package.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from privacy_profile.errors import PrivacyParameterError

__all__ = [
    "Aggregation",
    "Bounds",
    "Mechanism",
    "MetricSpec",
    "PrivacyLoss",
    "PrivacyUnit",
    "PrivateSelection",
    "PublicGroups",
    "ZcdpLoss",
]


def _finite(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PrivacyParameterError(
            f"{name} must be a number, got {type(value).__name__}", hint=f"set {name} to a number"
        )
    if not math.isfinite(value):
        raise PrivacyParameterError(f"{name} must be finite, got {value}", hint=f"set {name}")
    return float(value)


def _positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PrivacyParameterError(
            f"{name} must be a positive integer, got {value!r}",
            hint=f"set {name} to the most a single privacy unit may contribute (>= 1)",
        )
    return value


@dataclass(frozen=True, kw_only=True)
class PrivacyUnit:
    """The entity protected by differential privacy and how much it may contribute.

    ``column`` identifies the unit (e.g. a pseudonymous user id). Each unit contributes to at
    most ``max_groups_contributed`` groups and at most ``max_rows_per_group`` rows in each
    group; the excess is dropped (uniformly at random) before any mechanism runs.
    """

    column: str
    max_groups_contributed: int
    max_rows_per_group: int

    def __post_init__(self) -> None:
        if not isinstance(self.column, str) or not self.column:
            raise PrivacyParameterError(
                "privacy unit column must be a non-empty string", hint="name the id column"
            )
        _positive_int("max_groups_contributed", self.max_groups_contributed)
        _positive_int("max_rows_per_group", self.max_rows_per_group)

    @classmethod
    def one_row_per_unit(cls, column: str) -> PrivacyUnit:
        """A unit that contributes one row to one group (e.g. a per-user feature table)."""
        return cls(column=column, max_groups_contributed=1, max_rows_per_group=1)


@dataclass(frozen=True, kw_only=True)
class PrivacyLoss:
    """A privacy loss (epsilon, delta): epsilon > 0, 0 <= delta < 1."""

    epsilon: float
    delta: float = 0.0

    def __post_init__(self) -> None:
        eps = _finite("epsilon", self.epsilon)
        delta = _finite("delta", self.delta)
        if eps <= 0:
            raise PrivacyParameterError(
                f"epsilon must be > 0, got {eps}", hint="use a positive epsilon (e.g. 1.0)"
            )
        if not 0.0 <= delta < 1.0:
            raise PrivacyParameterError(
                f"delta must be in [0, 1), got {delta}",
                hint="use a delta far below 1/number of units (e.g. 1e-6), or 0",
            )
        object.__setattr__(self, "epsilon", eps)
        object.__setattr__(self, "delta", delta)

    def split(self, weights: Sequence[float], *, delta_to: int = 0) -> list[PrivacyLoss]:
        """Split epsilon in proportion to ``weights`` (basic composition: the parts sum to
        this loss). All of delta goes to part ``delta_to``."""
        if not weights or any(not math.isfinite(w) or w <= 0 for w in weights):
            raise PrivacyParameterError("budget weights must be positive and finite")
        total = math.fsum(weights)
        return [
            PrivacyLoss(
                epsilon=self.epsilon * w / total, delta=self.delta if i == delta_to else 0.0
            )
            for i, w in enumerate(weights)
        ]


@dataclass(frozen=True, kw_only=True)
class ZcdpLoss:
    """A privacy loss in zero-concentrated DP: rho-zCDP, rho > 0 (Bun & Steinke 2016).

    Releases under it draw discrete Gaussian noise; rhos add up, and the ledger converts the
    window's total to (epsilon, delta) at its checks (:mod:`privacy_profile.dp.zcdp`).
    :meth:`of_epsilon` is the rho a pure epsilon-DP release satisfies (epsilon^2 / 2), the
    conversion a policy uses when a family switches from pure epsilon to zCDP."""

    rho: float

    def __post_init__(self) -> None:
        rho = _finite("rho", self.rho)
        if rho <= 0:
            raise PrivacyParameterError(f"rho must be > 0, got {rho}", hint="e.g. rho 0.05")
        object.__setattr__(self, "rho", rho)

    @classmethod
    def of_epsilon(cls, epsilon: float) -> ZcdpLoss:
        """The rho of a pure epsilon-DP release: epsilon^2 / 2 (Bun & Steinke, Prop. 1.4)."""
        return cls(rho=_finite("epsilon", epsilon) ** 2 / 2.0)

    def split(self, weights: Sequence[float]) -> list[ZcdpLoss]:
        """Split rho in proportion to ``weights`` (zCDP composition: the rhos sum to this)."""
        if not weights or any(not math.isfinite(w) or w <= 0 for w in weights):
            raise PrivacyParameterError("budget weights must be positive and finite")
        total = math.fsum(weights)
        return [ZcdpLoss(rho=self.rho * w / total) for w in weights]


@dataclass(frozen=True, kw_only=True)
class Bounds:
    """Public clamping bounds [lower, upper] for a numeric column, taken from the policy.

    Bounds are never derived from the data: there is no constructor that reads data.
    """

    lower: float
    upper: float

    def __post_init__(self) -> None:
        lo = _finite("lower bound", self.lower)
        hi = _finite("upper bound", self.upper)
        if not lo < hi:
            raise PrivacyParameterError(
                f"bounds must satisfy lower < upper, got [{lo}, {hi}]",
                hint="declare the bounds of this column in the policy",
            )
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)

    @property
    def midpoint(self) -> float:
        return (self.lower + self.upper) / 2.0

    @property
    def half_width(self) -> float:
        return (self.upper - self.lower) / 2.0


class Mechanism(enum.Enum):
    """Noise mechanisms; the value is the name recorded in the ledger and the lineage."""

    DISCRETE_LAPLACE = "discrete_laplace"  # two-sided geometric, integer counts
    # discrete Laplace on a fixed-point grid (real values: sums, k-means sums); float-safe
    DISCRETE_LAPLACE_GRID = "discrete_laplace_grid"
    LAPLACE = "laplace"  # continuous; scale formula only: no release draws float Laplace
    GAUSSIAN = "gaussian"
    # exact discrete Gaussian (CKS 2020) for integer counts under zCDP; float-safe
    DISCRETE_GAUSSIAN = "discrete_gaussian"
    # discrete Gaussian on the fixed-point grid (real values under zCDP); float-safe
    DISCRETE_GAUSSIAN_GRID = "discrete_gaussian_grid"
    EXPONENTIAL = "exponential"  # quantiles


class Aggregation(enum.Enum):
    PRIVACY_ID_COUNT = "privacy_id_count"  # distinct units per group
    COUNT = "count"  # rows per group (after bounding)
    SUM = "sum"
    MEAN = "mean"


@dataclass(frozen=True, kw_only=True)
class MetricSpec:
    """One metric of :func:`privacy_profile.dp.aggregate.dp_aggregate`.

    SUM and MEAN need a ``column`` and its policy ``bounds``; the counts need neither.
    ``name`` is the output column prefix (defaults to ``<aggregation>`` or
    ``<aggregation>_<column>``).
    """

    aggregation: Aggregation
    column: str | None = None
    bounds: Bounds | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.aggregation, Aggregation):
            raise PrivacyParameterError(f"unknown aggregation {self.aggregation!r}")
        needs_value = self.aggregation in (Aggregation.SUM, Aggregation.MEAN)
        if needs_value and (self.column is None or self.bounds is None):
            raise PrivacyParameterError(
                f"{self.aggregation.value} needs a column and policy bounds",
                hint="declare bounds for this column in the policy; bounds from data are unsafe",
            )
        if not needs_value and (self.column is not None or self.bounds is not None):
            raise PrivacyParameterError(f"{self.aggregation.value} takes no column or bounds")

    @property
    def output_name(self) -> str:
        if self.name:
            return self.name
        if self.column is None:
            return self.aggregation.value
        return f"{self.aggregation.value}_{self.column}"


@dataclass(frozen=True, kw_only=True)
class PublicGroups:
    """Groups listed in the policy: released whatever the data (empty ones get noise too).

    ``keys`` holds one tuple per group, in the order of ``by`` (a bare value is accepted for a
    single grouping column).
    """

    keys: tuple[tuple[Hashable, ...], ...]

    def __post_init__(self) -> None:
        keys = tuple(k if isinstance(k, tuple) else (k,) for k in self.keys)
        if not keys:
            raise PrivacyParameterError("public groups must list at least one group")
        if len({len(k) for k in keys}) != 1:
            raise PrivacyParameterError("every public group key must have the same length")
        if len(set(keys)) != len(keys):
            raise PrivacyParameterError("public group keys must be unique")
        object.__setattr__(self, "keys", keys)

    @classmethod
    def of(cls, keys: Sequence[Any]) -> PublicGroups:
        return cls(keys=tuple(k if isinstance(k, tuple) else (k,) for k in keys))


@dataclass(frozen=True, kw_only=True)
class PrivateSelection:
    """Groups found in the data and released only if their noisy distinct-unit count passes a
    threshold chosen from the loss's delta (Laplace thresholding, as PipelineDP and Tumult do).
    """

    note: str = field(default="laplace-thresholding", repr=False)
