"""The policy's ``analytics`` section: which private marketing analyses a run releases, the
epsilon share of each, and which declared tables and columns play which role.

No table or column name is hard-coded in :mod:`privacy_profile.analytics`: this section names
them (the events table and its event/time columns, the sends table and its arm column, ...).
Cross-checks against the rest of the policy (declared tables and columns, epsilon within the
per-release cap and, with the segmentation releases, within the budget) live in
:func:`analytics_violations`, so each error points at its YAML line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from privacy_profile.policy.model import Policy

__all__ = [
    "AbSpec",
    "AnalyticsSpec",
    "CostTableSpec",
    "ExperimentSpec",
    "FunnelSpec",
    "KpiSpec",
    "RetentionSpec",
    "RevenueBounds",
    "analytics_violations",
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


def _columns_of(spec: AnalyticsSpec) -> Iterator[tuple[tuple[str | int, ...], str, str]]:
    """(path, table, column) of every column the section names."""
    if spec.funnel is not None:
        f = spec.funnel
        for c in ("event_column", "time_column"):
            yield ("funnel", c), f.table, getattr(f, c)
    if spec.ab is not None:
        a = spec.ab
        for c in ("arm_column", "exposure_time_column", "campaign_column"):
            yield ("ab", c), a.exposure_table, getattr(a, c)
        for c in ("outcome_time_column", "outcome_value_column"):
            yield ("ab", c), a.outcome_table, getattr(a, c)
    if spec.retention is not None:
        yield ("retention", "time_column"), spec.retention.table, spec.retention.time_column
    if spec.kpi is not None:
        k = spec.kpi
        for t in ("sends_table", "interactions_table", "conversions_table"):
            yield ("kpi", "campaign_column"), getattr(k, t), k.campaign_column
        yield ("kpi", "interaction_column"), k.interactions_table, k.interaction_column
        yield ("kpi", "conversion_value_column"), k.conversions_table, k.conversion_value_column


def analytics_violations(
    policy: Policy,
) -> Iterator[tuple[tuple[str | int, ...], str, str]]:
    """Every problem of the analytics section: (YAML path, message, fix)."""
    spec = policy.analytics
    if spec is None:
        return
    for path, table, column in _columns_of(spec):
        t = policy.tables.get(table)
        if t is None:
            yield (
                ("analytics", *path),
                f"analytics names table {table!r}, which the policy does not declare",
                "declare the table under `tables` or name a declared one",
            )
        elif column not in t.columns:
            yield (
                ("analytics", *path),
                f"column {column!r} is not declared in table {table!r}",
                f"declare it in tables.{table}.columns or name a declared column",
            )
        elif t.columns[column].treatment.action in ("drop", "tokenize", "scan"):
            yield (
                ("analytics", *path),
                f"{table}.{column} has treatment {t.columns[column].treatment.action!r}: "
                "the analytics cannot read it",
                "keep or generalize the column",
            )
    cap = policy.privacy.max_epsilon_per_query
    releases = spec.releases()
    for name, eps in releases.items():
        if eps > cap:
            yield (
                ("analytics", name, "epsilon"),
                f"analysis {name!r} spends epsilon {eps:g}, above privacy.max_epsilon_per_query "
                f"{cap:g}",
                "lower this analysis's epsilon",
            )
    seg = policy.segmentation.releases() if policy.segmentation is not None else {}
    total = sum(releases.values()) + sum(seg.values())
    if total > policy.privacy.epsilon_budget:
        yield (
            ("analytics",),
            f"the analytics ({sum(releases.values()):g}) and segmentation "
            f"({sum(seg.values()):g}) releases sum to epsilon {total:g}, above "
            f"privacy.epsilon_budget {policy.privacy.epsilon_budget:g}: one run could never "
            "complete",
            "lower the epsilon shares of the analyses",
        )
