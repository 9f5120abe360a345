"""Run the analyses the policy's ``analytics`` section declares, on pseudonymous tables.

This is the bridge between the policy (table and column roles, epsilon shares, public bounds)
and the pure functions of :mod:`privacy_profile.analytics`; the CLI's ``analyze`` commands and
the engine's ``run`` both call it. The budget of everything asked is checked against the
ledger before the first charge, so a run the budget cannot pay spends nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from privacy_profile.analytics._common import AnalysisPrivacy
from privacy_profile.analytics.ab import (
    ABParams,
    ABResult,
    dp_ab_readout,
    minimum_detectable_effect,
)
from privacy_profile.analytics.funnel import FunnelParams, FunnelResult, dp_funnel
from privacy_profile.analytics.kpi import KpiParams, KpiResult, dp_campaign_kpis
from privacy_profile.analytics.retention import RetentionParams, RetentionResult, dp_retention
from privacy_profile.dp.ledger import BudgetLedger, Charge
from privacy_profile.dp.mechanisms import MechanismRecord
from privacy_profile.dp.model import Bounds, PrivacyLoss, ZcdpLoss
from privacy_profile.dp.policy_ledger import releases_cost
from privacy_profile.dp.rng import DPRandom
from privacy_profile.errors import BudgetExceededError, InputError, PolicyError
from privacy_profile.policy.analytics import AnalyticsSpec, RevenueBounds
from privacy_profile.policy.model import Policy

__all__ = [
    "ANALYSES",
    "ABReadouts",
    "AnalyticsRelease",
    "AnalyzeOutput",
    "ab_from_policy",
    "analyze_sanitized",
    "check_run_budget",
    "funnel_from_policy",
    "kpi_from_policy",
    "read_cost_table",
    "read_sanitized_tables",
    "retention_from_policy",
    "run_analytics",
    "runnable_analyses",
]

ANALYSES = ("funnel", "ab", "retention", "kpi")


@dataclass(frozen=True, kw_only=True)
class ABReadouts:
    """Every experiment's read-out: arms and comparisons (with a ``campaign`` column) and the
    minimum detectable effect at the released arm sizes."""

    arms: pd.DataFrame
    comparisons: pd.DataFrame
    mde: pd.DataFrame
    records: tuple[MechanismRecord, ...]
    charges: tuple[Charge, ...]


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


def _spec(policy: Policy) -> AnalyticsSpec:
    if policy.analytics is None:
        raise PolicyError(
            f"policy {policy.name!r} has no `analytics` section",
            hint="add an analytics section (see docs/analytics.md)",
        )
    return policy.analytics


def _unit(policy: Policy) -> str:
    return policy.privacy.privacy_unit_column.partition(".")[2]


def _table(tables: Mapping[str, pd.DataFrame], policy: Policy, name: str) -> pd.DataFrame:
    """The pseudonymous table ``name`` with its subject column named as the privacy unit."""
    if name not in tables:
        raise InputError(
            f"table {name!r} is not among the sanitized tables",
            hint="sanitize the inputs with a policy that declares it",
        )
    frame = tables[name]
    subject, unit = policy.tables[name].subject_column, _unit(policy)
    if subject != unit:
        frame = frame.rename(columns={subject: unit})
    return frame


def _privacy(policy: Policy, epsilon: float, family: str | None = None) -> AnalysisPrivacy:
    """``family``: the analysis's release family when it may be accounted in zCDP (then its
    epsilon is charged as rho = epsilon^2 / 2)."""
    zcdp = family is not None and policy.privacy.is_zcdp(family)
    return AnalysisPrivacy(
        unit_column=_unit(policy),
        loss=ZcdpLoss.of_epsilon(epsilon) if zcdp else PrivacyLoss(epsilon=epsilon),
        threshold=policy.privacy.aggregation_threshold.threshold,
    )


def _bounds(b: RevenueBounds) -> Bounds:
    return Bounds(lower=b.lower, upper=b.upper)


def funnel_from_policy(
    tables: Mapping[str, pd.DataFrame],
    policy: Policy,
    *,
    ledger: BudgetLedger,
    run_id: str,
    rng: DPRandom | None = None,
) -> FunnelResult:
    """The policy's funnel over its events table."""
    spec = _spec(policy).funnel
    if spec is None:
        raise PolicyError("the analytics section declares no funnel", hint="add analytics.funnel")
    params = FunnelParams(
        steps=tuple(spec.steps),
        event_column=spec.event_column,
        time_column=spec.time_column,
        window=dt.timedelta(days=spec.window_days),
    )
    return dp_funnel(
        _table(tables, policy, spec.table),
        params=params,
        privacy=_privacy(policy, spec.epsilon, "funnel"),
        ledger=ledger,
        run_id=run_id,
        rng=rng,
    )


def ab_from_policy(
    tables: Mapping[str, pd.DataFrame],
    policy: Policy,
    *,
    ledger: BudgetLedger,
    run_id: str,
    rng: DPRandom | None = None,
) -> ABReadouts:
    """Every experiment of the policy; the A/B epsilon is split equally over them."""
    spec = _spec(policy).ab
    if spec is None:
        raise PolicyError("the analytics section declares no A/B test", hint="add analytics.ab")
    exposures = _table(tables, policy, spec.exposure_table)
    outcomes = _table(tables, policy, spec.outcome_table)
    eps = spec.epsilon / len(spec.experiments)
    arms, comps, mdes = [], [], []
    records: list[MechanismRecord] = []
    charges: list[Charge] = []
    for exp in sorted(spec.experiments, key=lambda e: e.campaign):
        params = ABParams(
            arm_column=spec.arm_column,
            exposure_time_column=spec.exposure_time_column,
            outcome_time_column=spec.outcome_time_column,
            outcome_value_column=spec.outcome_value_column,
            arms=tuple(exp.arms),
            control=exp.control,
            window=dt.timedelta(days=spec.window_days),
            revenue_bounds=_bounds(spec.revenue_bounds),
            campaign_column=spec.campaign_column,
            campaign=exp.campaign,
        )
        r: ABResult = dp_ab_readout(
            exposures,
            outcomes,
            params=params,
            privacy=_privacy(policy, eps),
            ledger=ledger,
            run_id=run_id,
            rng=rng,
            label=f"analytics/ab/{exp.campaign}",
        )
        arms.append(r.arms.assign(campaign=exp.campaign))
        comps.append(r.comparisons.assign(campaign=exp.campaign))
        records.extend(r.records)
        charges.extend(r.charges)
        a = r.arms.set_index("arm")
        base = float(a.loc[exp.control, "conversion_rate"])
        n = int(max(a["exposed"].min(), 2))
        if 0.0 < base < 1.0:  # post-processing of released values: no extra budget
            m = minimum_detectable_effect(
                baseline_rate=base, users_per_arm=n, loss=PrivacyLoss(epsilon=eps)
            )
            mdes.append(
                {
                    "campaign": exp.campaign,
                    "users_per_arm": n,
                    "baseline_rate": base,
                    "mde_absolute": m.absolute,
                    "mde_relative": m.relative,
                    "mde_relative_without_noise": m.relative_without_noise,
                }
            )
    first = ["campaign"]
    arms_t = pd.concat(arms, ignore_index=True)
    comps_t = pd.concat(comps, ignore_index=True)
    return ABReadouts(
        arms=arms_t[first + [c for c in arms_t.columns if c not in first]],
        comparisons=comps_t[first + [c for c in comps_t.columns if c not in first]],
        mde=pd.DataFrame(
            mdes,
            columns=[
                "campaign",
                "users_per_arm",
                "baseline_rate",
                "mde_absolute",
                "mde_relative",
                "mde_relative_without_noise",
            ],
        ),
        records=tuple(records),
        charges=tuple(charges),
    )


def _cohort_start(now: dt.datetime, period: str, cohorts: int) -> dt.date:
    today = now.date()
    if period == "day":
        return today - dt.timedelta(days=cohorts)
    if period == "week":
        monday = today - dt.timedelta(days=today.weekday())
        return monday - dt.timedelta(weeks=cohorts)
    m = today.year * 12 + today.month - 1 - cohorts
    return dt.date(m // 12, m % 12 + 1, 1)


def retention_from_policy(
    tables: Mapping[str, pd.DataFrame],
    policy: Policy,
    *,
    ledger: BudgetLedger,
    run_id: str,
    now: dt.datetime,
    rng: DPRandom | None = None,
) -> RetentionResult:
    """The policy's retention cohorts: the last ``cohorts`` full periods before ``now``."""
    spec = _spec(policy).retention
    if spec is None:
        raise PolicyError("the analytics section declares no retention", hint="add it")
    params = RetentionParams(
        time_column=spec.time_column,
        period=spec.period,
        start=_cohort_start(now, spec.period, spec.cohorts),
        cohorts=spec.cohorts,
        max_offset=spec.max_offset,
    )
    return dp_retention(
        _table(tables, policy, spec.table),
        params=params,
        privacy=_privacy(policy, spec.epsilon),
        ledger=ledger,
        run_id=run_id,
        rng=rng,
    )


def read_cost_table(path: Path, campaign_column: str, cost_column: str) -> dict[str, float]:
    """The public campaign cost table: campaign -> positive cost."""
    if not path.is_file():
        raise InputError(
            f"no campaign cost table at {path}",
            hint="put the public cost table in the input folder, as analytics.kpi.cost_table says",
        )
    frame = pd.read_csv(path, dtype={campaign_column: str})
    if campaign_column not in frame.columns or cost_column not in frame.columns:
        raise InputError(
            f"the cost table {path.name} needs columns {campaign_column!r} and {cost_column!r}"
        )
    costs: dict[str, float] = {}
    for camp, cost in zip(frame[campaign_column], frame[cost_column], strict=True):
        value = float(cost)
        if not (math.isfinite(value) and value > 0) or camp in costs:
            raise InputError(
                f"the cost table {path.name} has a bad or repeated row for campaign {camp!r}",
                hint="one row per campaign with a positive cost",
            )
        costs[str(camp)] = value
    return costs


def kpi_from_policy(
    tables: Mapping[str, pd.DataFrame],
    policy: Policy,
    *,
    ledger: BudgetLedger,
    run_id: str,
    cost_dir: Path | None,
    rng: DPRandom | None = None,
) -> KpiResult:
    """The policy's campaign KPIs, with costs from the public table in ``cost_dir``."""
    spec = _spec(policy).kpi
    if spec is None:
        raise PolicyError("the analytics section declares no KPIs", hint="add analytics.kpi")
    ct = spec.cost_table
    if cost_dir is None:
        raise InputError(
            f"the public campaign cost table {ct.file} has no folder to be read from",
            hint="give the inputs as a folder holding it (or the cost folder to analyze kpi)",
        )
    costs = read_cost_table(Path(cost_dir) / ct.file, ct.campaign_column, ct.cost_column)
    params = KpiParams(
        campaign_column=spec.campaign_column,
        interaction_column=spec.interaction_column,
        impression_value=spec.impression_value,
        click_value=spec.click_value,
        conversion_value_column=spec.conversion_value_column,
        costs=costs,
        revenue_bounds=_bounds(spec.revenue_bounds),
        max_campaigns=spec.max_campaigns,
        max_orders=spec.max_orders,
    )
    return dp_campaign_kpis(
        _table(tables, policy, spec.sends_table),
        _table(tables, policy, spec.interactions_table),
        _table(tables, policy, spec.conversions_table),
        params=params,
        privacy=_privacy(policy, spec.epsilon),
        ledger=ledger,
        run_id=run_id,
        rng=rng,
    )


def run_analytics(
    tables: Mapping[str, pd.DataFrame],
    policy: Policy,
    *,
    ledger: BudgetLedger,
    run_id: str,
    now: dt.datetime,
    cost_dir: Path | None,
    rng: DPRandom | None = None,
    only: Collection[str] | None = None,
) -> AnalyticsRelease:
    """Every analysis the policy declares (or those in ``only``), after checking that the
    ledger can pay for all of them: a run the budget cannot finish spends nothing."""
    spec = _spec(policy)
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
    rng = rng if rng is not None else DPRandom()
    out: dict[str, Any] = {}
    runners: dict[str, Callable[[], Any]] = {
        "funnel": lambda: funnel_from_policy(tables, policy, ledger=ledger, run_id=run_id, rng=rng),
        "ab": lambda: ab_from_policy(tables, policy, ledger=ledger, run_id=run_id, rng=rng),
        "retention": lambda: retention_from_policy(
            tables, policy, ledger=ledger, run_id=run_id, now=now, rng=rng
        ),
        "kpi": lambda: kpi_from_policy(
            tables, policy, ledger=ledger, run_id=run_id, cost_dir=cost_dir, rng=rng
        ),
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
    unit = _unit(policy)
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


def runnable_analyses(policy: Policy, cost_dir: Path | None) -> tuple[list[str], list[str]]:
    """The analyses of the policy a run can deliver, and a note for each it cannot: the KPIs
    need the public cost table, which only a folder of inputs holds. Decided before any
    charge, so a run never pays for an analysis it would then fail."""
    spec = _spec(policy)
    planned, notes = [], []
    for name in spec.releases():
        if name == "kpi" and spec.kpi is not None:
            ct = spec.kpi.cost_table
            if cost_dir is None or not (Path(cost_dir) / ct.file).is_file():
                notes.append(
                    f"analytics: KPIs skipped (no public cost table {ct.file} next to the "
                    "inputs); nothing was charged for them"
                )
                continue
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
