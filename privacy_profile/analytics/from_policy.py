"""Run the analyses the policy's ``analytics`` section declares, on pseudonymous tables.

This is the bridge between the policy (table and column roles, epsilon shares, public bounds)
and the pure functions of :mod:`privacy_profile.analytics`; the CLI's ``analyze`` commands and
the engine's ``run`` both call it. The budget of everything asked is checked against the
ledger before the first charge, so a run the budget cannot pay spends nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from privacy_profile.analytics.funnel import FunnelResult
from privacy_profile.analytics.kpi import KpiResult
from privacy_profile.analytics.policy_analyses import (
    ABReadouts,
    AnalysisRun,
    ab_from_policy,
    analytics_spec,
    cost_table_location,
    funnel_from_policy,
    kpi_costs,
    kpi_from_policy,
    privacy_unit,
    read_cost_table,
    retention_from_policy,
)
from privacy_profile.analytics.retention import RetentionResult
from privacy_profile.dp.ledger import BudgetLedger
from privacy_profile.dp.mechanisms import MechanismRecord
from privacy_profile.dp.policy_ledger import releases_cost
from privacy_profile.dp.rng import DPRandom
from privacy_profile.errors import BudgetExceededError, InputError, PolicyError
from privacy_profile.ingest.locations import InputLocation
from privacy_profile.policy.model import Policy

__all__ = [
    "ANALYSES",
    "ABReadouts",
    "AnalysisRun",
    "AnalyticsRelease",
    "AnalyzeOutput",
    "ab_from_policy",
    "analyze_sanitized",
    "check_run_budget",
    "funnel_from_policy",
    "kpi_costs",
    "kpi_from_policy",
    "read_cost_table",
    "read_sanitized_tables",
    "retention_from_policy",
    "run_analytics",
    "runnable_analyses",
]

ANALYSES = ("funnel", "ab", "retention", "kpi")


@dataclass(frozen=True, kw_only=True)
class AnalyticsRelease:
    """What :func:`run_analytics` released (DP aggregates only)."""

    funnel: FunnelResult | None = None
    ab: ABReadouts | None = None
    retention: RetentionResult | None = None
    kpi: KpiResult | None = None
    epsilon: Mapping[str, float] = field(default_factory=dict)

    @property
    def records(self) -> tuple[MechanismRecord, ...]:
        out: list[MechanismRecord] = []
        for part in (self.funnel, self.ab, self.retention, self.kpi):
            if part is not None:
                out.extend(part.records)
        return tuple(out)

    def documents(self) -> dict[str, Any]:
        """File name -> table or JSON, for :meth:`ReleaseGuard.release`."""
        docs: dict[str, Any] = {}
        if self.funnel is not None:
            docs["funnel.csv"] = self.funnel.table
        if self.ab is not None:
            docs["ab_arms.csv"] = self.ab.arms
            docs["ab_comparisons.csv"] = self.ab.comparisons
            docs["ab_minimum_detectable_effect.csv"] = self.ab.mde
        if self.retention is not None:
            docs["retention.csv"] = self.retention.table
        if self.kpi is not None:
            docs["kpi.csv"] = self.kpi.table
            docs["kpi_roi.csv"] = self.kpi.roi
        # noisy values carry no more precision (post-processing); long decimals could also
        # read as phone or card numbers to the release guard's PII scan
        docs = {k: v.round(4) if isinstance(v, pd.DataFrame) else v for k, v in docs.items()}
        docs["analytics.json"] = {
            "epsilon": dict(self.epsilon),
            "mechanisms": [r.to_dict() for r in self.records],
            "note": "Differentially private aggregates; intervals are 95% (see docs/analytics.md).",
        }
        return docs


def run_analytics(
    tables: Mapping[str, pd.DataFrame],
    policy: Policy,
    *,
    ledger: BudgetLedger,
    run_id: str,
    now: dt.datetime,
    cost_dir: Path | InputLocation | None,
    rng: DPRandom | None = None,
    only: Collection[str] | None = None,
) -> AnalyticsRelease:
    """Every analysis the policy declares (or those in ``only``), after checking that the
    ledger can pay for all of them: a run the budget cannot finish spends nothing."""
    spec = analytics_spec(policy)
    releases = spec.releases()
    wanted = [a for a in ANALYSES if a in releases and (only is None or a in only)]
    unknown = set(only or ()) - set(ANALYSES)
    if unknown:
        raise PolicyError(f"unknown analyses {sorted(unknown)}", hint=f"use {list(ANALYSES)}")
    missing = [a for a in (only or ()) if a not in releases]
    if missing:
        raise PolicyError(
            f"the analytics section does not declare {missing}", hint="add them to the policy"
        )
    need = releases_cost(ledger, policy, [(a, releases[a]) for a in wanted]).epsilon
    left = ledger.remaining().epsilon
    if need > left + 1e-9:
        raise BudgetExceededError(
            f"the analytics need epsilon {need:g} but the budget has {left:g} left in its "
            "window. Nothing was computed or released.",
            hint="wait for the budget window to renew, or lower the analytics' epsilon shares",
        )
    # the public cost table is read before any charge: a bad one fails the run, not the KPIs
    # after the other analyses were paid
    costs = kpi_costs(policy, cost_dir) if "kpi" in wanted else None
    run = AnalysisRun(
        tables=tables,
        policy=policy,
        ledger=ledger,
        run_id=run_id,
        rng=rng if rng is not None else DPRandom(),
    )
    out: dict[str, Any] = {}
    runners: dict[str, Callable[[], Any]] = {
        "funnel": lambda: funnel_from_policy(run),
        "ab": lambda: ab_from_policy(run),
        "retention": lambda: retention_from_policy(run, now=now),
        "kpi": lambda: kpi_from_policy(run, cost_dir=cost_dir, costs=costs),
    }
    for name in wanted:
        out[name] = runners[name]()
    return AnalyticsRelease(epsilon={a: releases[a] for a in wanted}, **out)


def read_sanitized_tables(data_dir: Path, policy: Policy) -> dict[str, pd.DataFrame]:
    """The pseudonymous Parquet tables ``privacy-profile sanitize`` wrote (policy tables only)."""
    data_dir = Path(data_dir)
    tables = {}
    for name in policy.tables:
        path = data_dir / f"{name}.parquet"
        if path.is_file():
            tables[name] = pd.read_parquet(path)
    if not tables:
        raise InputError(
            f"no sanitized tables in {data_dir}",
            hint="give the --data folder `privacy-profile sanitize --out` wrote",
        )
    return tables


@dataclass(frozen=True, kw_only=True)
class AnalyzeOutput:
    """What one ``privacy-profile analyze`` command released and where."""

    release: AnalyticsRelease
    files: tuple[Path, ...]
    epsilon_spent: float


def analyze_sanitized(
    analysis: str,
    data_dir: Path,
    policy: Policy,
    *,
    ledger: BudgetLedger,
    out_dir: Path,
    now: dt.datetime,
    cost_dir: Path | None = None,
    run_id: str | None = None,
    rng: DPRandom | None = None,
) -> AnalyzeOutput:
    """Run one analysis of the policy on sanitized tables and release its outputs (CSV and
    JSON) through a release guard that knows every pseudonym of the tables."""
    from privacy_profile.ingest import IdentifierIndex
    from privacy_profile.lineage.guard import ReleaseGuard
    from privacy_profile.lineage.recorder import new_run_id

    tables = read_sanitized_tables(data_dir, policy)
    run_id = run_id or new_run_id()
    before = ledger.spent().epsilon
    rel = run_analytics(
        tables,
        policy,
        ledger=ledger,
        run_id=run_id,
        now=now,
        cost_dir=Path(cost_dir) if cost_dir is not None else Path(data_dir),
        rng=rng,
        only=[analysis],
    )
    unit = privacy_unit(policy)
    pseudonyms = {
        str(v)
        for name, frame in tables.items()
        for col in (policy.tables[name].subject_column, unit)
        if col in frame.columns
        for v in frame[col].dropna().unique()
    }
    # the raw identifiers stayed with `sanitize`: the guard knows the pseudonyms, token shapes
    guard = ReleaseGuard.for_run(IdentifierIndex(), pseudonyms=pseudonyms, public_values=[run_id])
    files = guard.release(rel.documents(), Path(out_dir))
    return AnalyzeOutput(
        release=rel, files=tuple(files), epsilon_spent=ledger.spent().epsilon - before
    )


def runnable_analyses(
    policy: Policy, cost_dir: Path | InputLocation | None
) -> tuple[list[str], list[str]]:
    """The analyses of the policy a run can deliver, and a note for each it cannot: the KPIs
    need the public cost table, which only a folder of inputs holds (a table that is there but
    malformed is refused, :class:`~privacy_profile.errors.InputError`). Decided before any
    charge, so a run never pays for an analysis it would then fail."""
    spec = analytics_spec(policy)
    planned, notes = [], []
    for name in spec.releases():
        if name == "kpi" and spec.kpi is not None:
            ct = spec.kpi.cost_table
            if cost_dir is None or not cost_table_location(cost_dir, ct).is_file():
                notes.append(
                    f"analytics: KPIs skipped (no public cost table {ct.file} next to the "
                    "inputs); nothing was charged for them"
                )
                continue
            kpi_costs(policy, cost_dir)  # a bad cost table is refused here, before any charge
        planned.append(name)
    return planned, notes


def check_run_budget(
    policy: Policy, ledger: BudgetLedger, *, analyses: Collection[str] | None = None
) -> None:
    """Refuse, before anything is computed, a run whose segmentation and analytics releases
    (all of the policy's, or ``analyses``) together need more epsilon than the ledger has left
    in its window."""
    shares = [
        (rid.family.value, eps)
        for rid, eps in (policy.segmentation.releases() if policy.segmentation else {}).items()
    ]
    if policy.analytics is not None:
        shares += [
            (name, eps)
            for name, eps in policy.analytics.releases().items()
            if analyses is None or name in analyses
        ]
    need = releases_cost(ledger, policy, shares).epsilon  # zCDP shares: their conversion
    left = ledger.remaining().epsilon
    if need > left + 1e-9:
        raise BudgetExceededError(
            f"this run needs epsilon {need:g} (segmentation and analytics) but the budget has "
            f"{left:g} left in its window: nothing was computed or released.",
            hint="wait for the budget window to renew, or lower the epsilon of some releases",
        )
