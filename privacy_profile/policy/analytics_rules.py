"""Cross-checks of the policy's ``analytics`` section against the rest of the policy: every named
table and column is declared and readable, each analysis's epsilon is within the per-release
cap, and analytics plus segmentation fit the budget. Each problem carries its YAML path."""

from __future__ import annotations

from collections.abc import Iterator

from privacy_profile.policy.analytics import AnalyticsSpec
from privacy_profile.policy.model import Policy

__all__ = ["analytics_violations"]


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
