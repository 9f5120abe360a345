"""The policy's ``analytics`` section: which private marketing analyses a run releases, the
epsilon share of each, and which declared tables and columns play which role.

No table or column name is hard-coded in :mod:`privacy_profile.analytics`: this section names
them (the events table and its event/time columns, the sends table and its arm column, ...).
Cross-checks against the rest of the policy (declared tables and columns, epsilon within the
per-release cap and, with the segmentation releases, within the budget) live in
:func:`privacy_profile.policy.analytics_rules.analytics_violations`, so each error points at its
YAML line.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AbSpec",
    "AnalyticsSpec",
    "CostTableSpec",
    "ExperimentSpec",
    "FunnelSpec",
    "KpiSpec",
    "RetentionSpec",
    "RevenueBounds",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RevenueBounds(_Frozen):
    """Public bounds of one user's outcome value (clamped). Never taken from the data."""

    lower: float = 0.0
    upper: float

    @model_validator(mode="after")
    def _order(self) -> RevenueBounds:
        if not self.lower < self.upper:
            raise ValueError("`lower` must be below `upper`")
        return self


class FunnelSpec(_Frozen):
    """An ordered funnel over an events table (each user contributes one path)."""

    epsilon: float = Field(gt=0)
    table: str = Field(description="The events table.")
    event_column: str
    time_column: str
    steps: list[str] = Field(min_length=2, description="Event values of the steps, in order.")
    window_days: float = Field(gt=0, description="Longest time from the first to the last step.")


class ExperimentSpec(_Frozen):
    """One experiment: a campaign of the sends table, its public arms and the control arm."""

    campaign: str
    arms: list[str] = Field(min_length=2)
    control: str

    @model_validator(mode="after")
    def _control_is_an_arm(self) -> ExperimentSpec:
        if self.control not in self.arms or len(set(self.arms)) != len(self.arms):
            raise ValueError("`arms` must be distinct and include the `control` arm")
        return self


class AbSpec(_Frozen):
    """A/B read-outs: exposures (sends) with an arm, outcomes (e.g. coupon redemptions)."""

    epsilon: float = Field(gt=0, description="Split equally over the experiments.")
    exposure_table: str
    arm_column: str
    exposure_time_column: str
    campaign_column: str
    outcome_table: str
    outcome_time_column: str
    outcome_value_column: str
    window_days: float = Field(gt=0, description="Outcomes this long after the exposure count.")
    revenue_bounds: RevenueBounds
    experiments: list[ExperimentSpec] = Field(min_length=1)


class RetentionSpec(_Frozen):
    """Retention cohorts by first activity: the last ``cohorts`` full periods before the run
    date (public: they depend on the run date, never on the data)."""

    epsilon: float = Field(gt=0)
    table: str = Field(description="The activity table (e.g. events).")
    time_column: str
    period: Literal["day", "week", "month"] = "week"
    cohorts: int = Field(ge=1, le=52)
    max_offset: int = Field(ge=0, le=52, description="Periods tracked after the cohort's.")


class CostTableSpec(_Frozen):
    """A public campaign cost table (not personal data): a CSV file in the input folder."""

    file: str
    campaign_column: str
    cost_column: str


class KpiSpec(_Frozen):
    """Campaign KPIs: sends, impressions and clicks, conversions, and public costs."""

    epsilon: float = Field(gt=0)
    sends_table: str
    campaign_column: str = Field(
        description="Present in the sends, interactions and conversions tables."
    )
    interactions_table: str
    interaction_column: str
    impression_value: str
    click_value: str
    conversions_table: str
    conversion_value_column: str
    cost_table: CostTableSpec
    revenue_bounds: RevenueBounds
    max_campaigns: int = Field(ge=1, description="Campaigns one user may contribute to.")
    max_orders: int = Field(ge=1, description="Conversions per user and campaign counted.")


class AnalyticsSpec(_Frozen):
    """Private marketing analytics (see docs/analytics.md); each part is optional."""

    funnel: FunnelSpec | None = None
    ab: AbSpec | None = None
    retention: RetentionSpec | None = None
    kpi: KpiSpec | None = None
    report: bool = Field(default=True, description="Write the marketer report (HTML).")

    def releases(self) -> dict[str, float]:
        """Each analysis and its epsilon, in the order they run."""
        out: dict[str, float] = {}
        for name in ("funnel", "ab", "retention", "kpi"):
            part = getattr(self, name)
            if part is not None:
                out[name] = float(part.epsilon)
        return out
