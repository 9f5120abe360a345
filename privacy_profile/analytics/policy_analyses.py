"""Each analysis of the policy's ``analytics`` section (funnel, A/B, retention, KPIs) on
pseudonymous tables: the policy's table and column roles, epsilon shares and public bounds turned
into the parameters of the pure functions of :mod:`privacy_profile.analytics`.

:func:`privacy_profile.analytics.from_policy.run_analytics` runs them after the budget check.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import pandas as pd

from privacy_profile.analytics._common import AnalysisPrivacy
from privacy_profile.analytics.ab import (
    ABParams,
    ABResult,
    dp_ab_from_users,
    dp_ab_readout,
    minimum_detectable_effect,
)
from privacy_profile.analytics.funnel import (
    FunnelParams,
    FunnelResult,
    dp_funnel,
    dp_funnel_from_depths,
)
from privacy_profile.analytics.kpi import (
    KpiParams,
    KpiResult,
    dp_campaign_kpis,
    dp_kpis_from_pairs,
)
from privacy_profile.analytics.retention import (
    RetentionParams,
    RetentionResult,
    dp_retention,
    dp_retention_from_pairs,
)
from privacy_profile.dp.ledger import BudgetLedger, Charge
from privacy_profile.dp.mechanisms import MechanismRecord
from privacy_profile.dp.model import Bounds, PrivacyLoss, ZcdpLoss
from privacy_profile.dp.rng import DPRandom
from privacy_profile.errors import InputError, PolicyError
from privacy_profile.ingest.locations import InputLocation
from privacy_profile.ingest.tables import TableMap
from privacy_profile.policy.analytics import AnalyticsSpec, CostTableSpec, KpiSpec, RevenueBounds
from privacy_profile.policy.model import Policy

__all__ = [
    "ABReadouts",
    "AnalysisRun",
    "ab_from_policy",
    "analytics_spec",
    "cost_table_location",
    "funnel_from_policy",
    "kpi_costs",
    "kpi_from_policy",
    "privacy_unit",
    "read_cost_table",
    "retention_from_policy",
]


@dataclass(frozen=True, kw_only=True)
class ABReadouts:
    """Every experiment's read-out: arms and comparisons (with a ``campaign`` column) and the
    minimum detectable effect at the released arm sizes."""

    arms: pd.DataFrame
    comparisons: pd.DataFrame
    mde: pd.DataFrame
    records: tuple[MechanismRecord, ...]
    charges: tuple[Charge, ...]


def analytics_spec(policy: Policy) -> AnalyticsSpec:
    """The policy's analytics section; :class:`PolicyError` when it has none."""
    if policy.analytics is None:
        raise PolicyError(
            f"policy {policy.name!r} has no `analytics` section",
            hint="add an analytics section (see docs/analytics.md)",
        )
    return policy.analytics


def privacy_unit(policy: Policy) -> str:
    """The privacy unit's column name (``privacy_unit_column`` without its table)."""
    return policy.privacy.privacy_unit_column.partition(".")[2]


class _Charging(TypedDict):
    """The keyword arguments every ``dp_*`` analysis takes to charge the ledger and draw noise."""

    privacy: AnalysisPrivacy
    ledger: BudgetLedger
    run_id: str
    rng: DPRandom | None


@dataclass(frozen=True, kw_only=True)
class AnalysisRun:
    """What the analyses of one run share: the pseudonymous tables, the policy, the ledger
    they charge, the run id and the random source (``None``: a fresh secure one per call).

    ``tables``: pandas frames by name, or a :class:`~privacy_profile.ingest.tables.TableMap`
    whose remote Spark tables an analysis reduces on Spark (:meth:`spark_frames`, see
    :mod:`privacy_profile.analytics.on_spark`) instead of collecting them."""

    tables: Mapping[str, pd.DataFrame]
    policy: Policy
    ledger: BudgetLedger
    run_id: str
    rng: DPRandom | None = None

    def _known(self, name: str) -> None:
        if name not in self.tables:
            raise InputError(
                f"table {name!r} is not among the sanitized tables",
                hint="sanitize the inputs with a policy that declares it",
            )

    def table(self, name: str) -> pd.DataFrame:
        """The pseudonymous table ``name`` with its subject column named as the privacy unit
        (a remote table is collected into this process)."""
        self._known(name)
        frame = self.tables[name]
        subject, unit = self.policy.tables[name].subject_column, privacy_unit(self.policy)
        if subject != unit:
            frame = frame.rename(columns={subject: unit})
        return frame

    def spark_frames(self, *names: str, position: Collection[str] = ()) -> list[Any] | None:
        """The Spark DataFrames of the tables ``names`` (subject column named as the privacy
        unit; the tables in ``position`` with their record order, see
        :func:`privacy_profile.spark.analytics.table_frame`) when every one of them is a
        remote Spark table; else None, and the analysis reads them with :meth:`table`."""
        for name in names:
            self._known(name)
        if not isinstance(self.tables, TableMap):
            return None
        remote = [self.tables.remote(name) for name in names]
        if any(r is None or r.engine != "spark" for r in remote):
            return None
        from privacy_profile.spark.analytics import table_frame

        unit = privacy_unit(self.policy)
        return [
            table_frame(
                r,
                rename={self.policy.tables[name].subject_column: unit},
                position=name in position,
            )
            for name, r in zip(names, remote, strict=True)
        ]

    def charging(self, epsilon: float, family: str | None = None) -> _Charging:
        """The privacy context of an analysis spending ``epsilon``, and where it is charged.
        ``family``: the analysis's release family when it may be accounted in zCDP (then its
        epsilon is charged as rho = epsilon^2 / 2)."""
        zcdp = family is not None and self.policy.privacy.is_zcdp(family)
        privacy = AnalysisPrivacy(
            unit_column=privacy_unit(self.policy),
            loss=ZcdpLoss.of_epsilon(epsilon) if zcdp else PrivacyLoss(epsilon=epsilon),
            threshold=self.policy.privacy.aggregation_threshold.threshold,
        )
        return {"privacy": privacy, "ledger": self.ledger, "run_id": self.run_id, "rng": self.rng}


def _bounds(b: RevenueBounds) -> Bounds:
    return Bounds(lower=b.lower, upper=b.upper)


def funnel_from_policy(run: AnalysisRun) -> FunnelResult:
    """The policy's funnel over its events table."""
    spec = analytics_spec(run.policy).funnel
    if spec is None:
        raise PolicyError("the analytics section declares no funnel", hint="add analytics.funnel")
    params = FunnelParams(
        steps=tuple(spec.steps),
        event_column=spec.event_column,
        time_column=spec.time_column,
        window=dt.timedelta(days=spec.window_days),
    )
    charging = run.charging(spec.epsilon, "funnel")
    frames = run.spark_frames(spec.table)
    if frames is not None:
        from privacy_profile.analytics.on_spark import funnel_depths_spark

        depth, units = funnel_depths_spark(frames[0], params, charging["privacy"].unit_column)
        return dp_funnel_from_depths(depth, units, params=params, **charging)
    return dp_funnel(run.table(spec.table), params=params, **charging)


def ab_from_policy(run: AnalysisRun) -> ABReadouts:
    """Every experiment of the policy; the A/B epsilon is split equally over them."""
    spec = analytics_spec(run.policy).ab
    if spec is None:
        raise PolicyError("the analytics section declares no A/B test", hint="add analytics.ab")
    frames = run.spark_frames(spec.exposure_table, spec.outcome_table)
    if frames is None:
        exposures = run.table(spec.exposure_table)
        outcomes = run.table(spec.outcome_table)
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
        label = f"analytics/ab/{exp.campaign}"
        r: ABResult
        if frames is not None:
            from privacy_profile.analytics.on_spark import ab_per_user_spark

            users = ab_per_user_spark(frames[0], frames[1], params, privacy_unit(run.policy))
            r = dp_ab_from_users(users, params=params, label=label, **run.charging(eps))
        else:
            r = dp_ab_readout(exposures, outcomes, params=params, label=label, **run.charging(eps))
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


def retention_from_policy(run: AnalysisRun, *, now: dt.datetime) -> RetentionResult:
    """The policy's retention cohorts: the last ``cohorts`` full periods before ``now``."""
    spec = analytics_spec(run.policy).retention
    if spec is None:
        raise PolicyError("the analytics section declares no retention", hint="add it")
    params = RetentionParams(
        time_column=spec.time_column,
        period=spec.period,
        start=_cohort_start(now, spec.period, spec.cohorts),
        cohorts=spec.cohorts,
        max_offset=spec.max_offset,
    )
    frames = run.spark_frames(spec.table)
    if frames is not None:
        from privacy_profile.analytics.on_spark import retention_pairs_spark

        pairs = retention_pairs_spark(frames[0], params, privacy_unit(run.policy))
        return dp_retention_from_pairs(pairs, params=params, **run.charging(spec.epsilon))
    return dp_retention(run.table(spec.table), params=params, **run.charging(spec.epsilon))


def read_cost_table(
    path: Path | InputLocation, campaign_column: str, cost_column: str
) -> dict[str, float]:
    """The public campaign cost table: campaign -> positive cost. ``path`` is a local file,
    or a file on any file system the inputs may be read from (an :class:`InputLocation`:
    ``s3://``, ``hdfs://``, ...); the table is public and small, this process reads it."""
    loc = path if isinstance(path, InputLocation) else InputLocation.of_path(path)
    if not loc.is_file():
        raise InputError(
            f"no campaign cost table at {loc}",
            hint="put the public cost table in the input folder, as analytics.kpi.cost_table says",
        )
    with loc.open_binary() as stream:
        frame = pd.read_csv(stream, dtype={campaign_column: str})
    if campaign_column not in frame.columns or cost_column not in frame.columns:
        raise InputError(
            f"the cost table {loc.name} needs columns {campaign_column!r} and {cost_column!r}"
        )
    costs: dict[str, float] = {}
    rows: dict[str, int] = {}
    fix = "one row per campaign with a positive cost"
    for row, (camp, cost) in enumerate(
        zip(frame[campaign_column], frame[cost_column], strict=True), start=1
    ):
        where = f"the cost table {loc.name}, row {row} after the header"
        if pd.isna(camp):
            raise InputError(f"{where}: no campaign", hint=fix)
        name = str(camp)
        if name in rows:
            raise InputError(
                f"{where}: campaign {name!r} is listed again (first at row {rows[name]})",
                hint=fix,
            )
        try:
            value = float(cost)
        except (TypeError, ValueError):
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise InputError(f"{where}: campaign {name!r} needs a positive cost", hint=fix)
        costs[name], rows[name] = value, row
    return costs


def _kpi_spec(policy: Policy) -> KpiSpec:
    spec = analytics_spec(policy).kpi
    if spec is None:
        raise PolicyError("the analytics section declares no KPIs", hint="add analytics.kpi")
    return spec


def cost_table_location(cost_dir: Path | InputLocation, spec: CostTableSpec) -> InputLocation:
    """Where the public cost table ``spec`` is in the folder ``cost_dir`` (local or a URI)."""
    folder = cost_dir if isinstance(cost_dir, InputLocation) else InputLocation.of_path(cost_dir)
    return folder.child(spec.file)


def kpi_costs(policy: Policy, cost_dir: Path | InputLocation | None) -> dict[str, float]:
    """The policy's public campaign cost table from ``cost_dir`` (a local folder or one named
    by a URI), checked (read before any charge of a run: a bad table must not fail a run after
    other releases were paid)."""
    ct = _kpi_spec(policy).cost_table
    if cost_dir is None:
        raise InputError(
            f"the public campaign cost table {ct.file} has no folder to be read from",
            hint="give the inputs as a folder holding it (or the cost folder to analyze kpi)",
        )
    return read_cost_table(cost_table_location(cost_dir, ct), ct.campaign_column, ct.cost_column)


def kpi_from_policy(
    run: AnalysisRun,
    *,
    cost_dir: Path | InputLocation | None,
    costs: Mapping[str, float] | None = None,
) -> KpiResult:
    """The policy's campaign KPIs, with ``costs`` (default: the public table in ``cost_dir``,
    :func:`kpi_costs`)."""
    spec = _kpi_spec(run.policy)
    costs = costs if costs is not None else kpi_costs(run.policy, cost_dir)
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
    names = (spec.sends_table, spec.interactions_table, spec.conversions_table)
    frames = run.spark_frames(*names, position=[spec.sends_table])
    if frames is not None:
        from privacy_profile.analytics.on_spark import kpi_pairs_spark

        sends, interactions, conversions = frames
        pairs = kpi_pairs_spark(sends, interactions, conversions, params, privacy_unit(run.policy))
        return dp_kpis_from_pairs(pairs, params=params, **run.charging(spec.epsilon))
    return dp_campaign_kpis(
        run.table(spec.sends_table),
        run.table(spec.interactions_table),
        run.table(spec.conversions_table),
        params=params,
        **run.charging(spec.epsilon),
    )
