"""The policy's privacy section: privacy unit, contribution bounds, budget and its window, and
how each release family is accounted (pure epsilon or zCDP)."""

from __future__ import annotations

from pydantic import Field, model_validator

from privacy_profile.policy._base import FrozenModel as _Frozen
from privacy_profile.policy.enums import Accounting, WindowKind

__all__ = [
    "ZCDP_FAMILIES",
    "AggregationThreshold",
    "BudgetWindowSpec",
    "KAnonymity",
    "MetricBounds",
    "PrivacySpec",
]


#: Release families a policy may put under zCDP, and why the others may not.
ZCDP_FAMILIES: frozenset[str] = frozenset({"rfm", "rule", "lifecycle", "personas", "funnel"})
NOT_ZCDP: dict[str, str] = {
    "kmeans": "its noisy Lloyd steps are calibrated for discrete Laplace sums per iteration",
    "tree": "the diffprivlib tree fit draws its own floating-point noise (pure epsilon only)",
    "ab": "its noise-aware test and lift intervals are calibrated for discrete Laplace",
    "retention": "its cohort intervals are calibrated for discrete Laplace",
    "kpi": "its ratio intervals are calibrated for discrete Laplace sums",
}


class BudgetWindowSpec(_Frozen):
    """The declared budget window; :func:`privacy_profile.dp.policy_ledger.budget_window`
    gives the ledger's :class:`privacy_profile.dp.BudgetWindow` (the one window type)."""

    kind: WindowKind
    days: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _days(self) -> BudgetWindowSpec:
        if self.kind is WindowKind.ROLLING_DAYS and self.days is None:
            raise ValueError("a rolling_days window needs `days`")
        if self.kind is WindowKind.CALENDAR_MONTH and self.days is not None:
            raise ValueError("a calendar_month window takes no `days`")
        return self


class AggregationThreshold(_Frozen):
    """Minimum distinct privacy units in any released group (applied on noisy counts)."""

    threshold: int = Field(ge=1)
    privacy_unit_column: str


class KAnonymity(_Frozen):
    """k for any row-level output over the declared quasi-identifiers."""

    k: int = Field(ge=1)
    quasi_identifiers: list[str] = Field(
        default_factory=list, description="table.column names; default: every quasi_identifier."
    )


class MetricBounds(_Frozen):
    """Public bounds of a metric; values are clamped to them. Never derived from the data."""

    table: str
    column: str
    lower: float
    upper: float

    @model_validator(mode="after")
    def _order(self) -> MetricBounds:
        if not self.lower < self.upper:
            raise ValueError("`lower` must be below `upper`")
        return self


class PrivacySpec(_Frozen):
    """The privacy model: privacy unit, contribution bounds and privacy loss budget.

    Field names follow BigQuery's differential-privacy analysis rules.
    """

    privacy_unit_column: str = Field(
        description="table.column whose pseudonym identifies the protected person."
    )
    max_groups_contributed: int = Field(ge=1)
    max_rows_per_group: int = Field(ge=1)
    epsilon_budget: float = Field(description="Total epsilon per dataset and window.")
    delta_budget: float = Field(description="Total delta per dataset and window.")
    max_epsilon_per_query: float = Field(description="Epsilon of one release.")
    delta_per_query: float = Field(description="Delta of one release (private group selection).")
    budget_dataset: str = Field(min_length=1, description="The ledger's dataset name.")
    budget_window: BudgetWindowSpec
    ledger_lease_seconds: int = Field(
        default=300,
        ge=1,
        description="How long a run's budget reservation holds without a renewal, in seconds "
        "(its holder renews it every third of the lease; a crashed run's reservation is freed "
        "once the lease has passed). The CLI's --ledger-lease overrides it; see docs/scale.md.",
    )
    aggregation_threshold: AggregationThreshold
    k_anonymity: KAnonymity
    metric_bounds: list[MetricBounds] = Field(default_factory=list)
    accounting: dict[str, Accounting] = Field(
        default_factory=dict,
        description="Accounting per release family (rfm, rule, lifecycle, personas, funnel): "
        "pure_dp (the default for every family: discrete Laplace, epsilons add up) or zcdp "
        "(discrete Gaussian noise; the family's epsilon is charged as rho = epsilon^2 / 2, "
        "rhos add up and the window's total is converted to (epsilon, delta) with all of "
        "delta_budget the pure charges leave; see docs/dp.md). kmeans, tree, ab, retention "
        "and kpi are pure only.",
    )

    def is_zcdp(self, family: str) -> bool:
        """Whether release family ``family`` (``rfm``, ``rule``, ``funnel``, ...) is zCDP."""
        return self.accounting.get(family, Accounting.PURE_DP) is Accounting.ZCDP

    def zcdp_families(self) -> frozenset[str]:
        """The release families the policy puts under zCDP."""
        return frozenset(f for f, a in self.accounting.items() if a is Accounting.ZCDP)
