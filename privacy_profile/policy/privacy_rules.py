"""Checks of the policy's privacy section: budget and per-release loss, privacy unit, thresholds,
bounds, and the segments' epsilon split against the budget."""

from __future__ import annotations

import math
from collections.abc import Iterator

from privacy_profile.policy.enums import Accounting
from privacy_profile.policy.model import Policy
from privacy_profile.policy.privacy import NOT_ZCDP, ZCDP_FAMILIES
from privacy_profile.policy.releases import epsilon_split_issues
from privacy_profile.policy.treatments import Pseudonymize
from privacy_profile.policy.violations import Path, RuleViolation

__all__ = ["accounting_violations", "privacy_violations", "segmentation_violations"]


def privacy_violations(policy: Policy) -> Iterator[RuleViolation]:
    pv = policy.privacy
    base: Path = ("privacy",)
    if not (pv.epsilon_budget > 0 and math.isfinite(pv.epsilon_budget)):
        yield (
            (*base, "epsilon_budget"),
            f"epsilon_budget must be finite and > 0 (got {pv.epsilon_budget})",
            "set a finite positive budget, e.g. 10",
        )
    if not pv.max_epsilon_per_query > 0:
        yield (
            (*base, "max_epsilon_per_query"),
            f"epsilon per release must be > 0 (got {pv.max_epsilon_per_query})",
            "set e.g. 1.0",
        )
    elif pv.max_epsilon_per_query > pv.epsilon_budget:
        yield (
            (*base, "max_epsilon_per_query"),
            f"epsilon per release {pv.max_epsilon_per_query} exceeds "
            f"the budget {pv.epsilon_budget}",
            "lower max_epsilon_per_query or raise epsilon_budget",
        )
    if not 0 <= pv.delta_budget < 1:
        yield ((*base, "delta_budget"), "delta_budget must be in [0, 1)", "e.g. 1.0e-5")
    if not 0 <= pv.delta_per_query < 1:
        yield ((*base, "delta_per_query"), "delta_per_query must be in [0, 1)", "e.g. 1.0e-6")
    elif pv.delta_per_query > pv.delta_budget:
        yield (
            (*base, "delta_per_query"),
            f"delta per release {pv.delta_per_query} exceeds delta_budget {pv.delta_budget}",
            "lower delta_per_query",
        )
    unit = _resolve(policy, pv.privacy_unit_column)
    if unit is None:
        yield (
            (*base, "privacy_unit_column"),
            f"{pv.privacy_unit_column!r} is not a declared table.column",
            "name the subject id column, e.g. users.openid",
        )
    elif not isinstance(unit, Pseudonymize):
        yield (
            (*base, "privacy_unit_column"),
            f"the privacy unit column {pv.privacy_unit_column!r} must be pseudonymized",
            "give it treatment: pseudonymize",
        )
    at = pv.aggregation_threshold
    if at.privacy_unit_column != pv.privacy_unit_column:
        yield (
            (*base, "aggregation_threshold", "privacy_unit_column"),
            "the aggregation threshold must count the same privacy unit",
            f"set it to {pv.privacy_unit_column!r}",
        )
    for i, qi in enumerate(pv.k_anonymity.quasi_identifiers):
        if _resolve(policy, qi) is None:
            yield (
                (*base, "k_anonymity", "quasi_identifiers", i),
                f"{qi!r} is not a declared table.column",
                "name a declared quasi-identifier column as table.column",
            )
    for i, b in enumerate(pv.metric_bounds):
        if _resolve(policy, f"{b.table}.{b.column}") is None:
            yield (
                (*base, "metric_bounds", i),
                f"{b.table}.{b.column} is not a declared column",
                "name a declared metric column",
            )


def _resolve(policy: Policy, dotted: str) -> object | None:
    table, _, column = dotted.partition(".")
    t = policy.tables.get(table)
    if t is None or column not in t.columns:
        return None
    return t.columns[column].treatment


def segmentation_violations(policy: Policy) -> Iterator[RuleViolation]:
    spec = policy.segmentation
    if spec is None:
        return
    pv = policy.privacy
    for issue in epsilon_split_issues(
        spec.releases(),
        max_epsilon_per_query=pv.max_epsilon_per_query,
        epsilon_budget=pv.epsilon_budget,
    ):
        yield (issue.path, issue.message, issue.hint)


_PUBLIC_DIMENSIONS = frozenset({"spending_band"})


def accounting_violations(policy: Policy) -> Iterator[RuleViolation]:
    """``privacy.accounting`` names release families, puts under zCDP only those that support
    it, has a delta to convert rho with, and zCDP personas select no group privately."""
    pv = policy.privacy
    for family, acc in pv.accounting.items():
        path: Path = ("privacy", "accounting", family)
        if family not in ZCDP_FAMILIES and family not in NOT_ZCDP:
            known = sorted(ZCDP_FAMILIES | set(NOT_ZCDP))
            yield (path, f"unknown release family {family!r}", f"use one of {known}")
            continue
        if acc is not Accounting.ZCDP:
            continue
        if family in NOT_ZCDP:
            yield (
                path,
                f"release family {family!r} cannot use zcdp: {NOT_ZCDP[family]}",
                f"set privacy.accounting.{family}: pure_dp (or remove it)",
            )
        if not pv.delta_budget > 0:
            yield (
                path,
                "zcdp charges are converted to (epsilon, delta) with the delta budget, which is 0",
                "give privacy.delta_budget a positive value (e.g. 1.0e-5)",
            )
        seg = policy.segmentation
        if family == "personas" and seg is not None and seg.personas is not None:
            public = set(seg.tag_domains) | _PUBLIC_DIMENSIONS
            if "top_categories" in public:
                public.add("top_category")
            private = [d for d in seg.personas.dimensions if d not in public]
            if private:
                yield (
                    path,
                    f"personas under zcdp need a public value list for every dimension; "
                    f"{private} would select values privately (a threshold calibrated for "
                    "discrete Laplace)",
                    "add segmentation.tag_domains for them, or keep personas pure_dp",
                )
