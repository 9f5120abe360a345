"""``build_segments``: features, then each named release through the DP core, then the
marketing tables (group labels, DP values, intervals, epsilon: no pseudonym, token or
identifier) and, only where the purpose allows activation, token-keyed audiences.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from privacy_profile.dp import BudgetLedger, DPRandom, MechanismRecord
from privacy_profile.dp.policy_ledger import releases_cost
from privacy_profile.errors import (
    BudgetExceededError,
    ConsentError,
    PolicyError,
    PolicyIssue,
)
from privacy_profile.policy.model import LegalBasis, OptOutEffect, Policy, Purpose
from privacy_profile.policy.releases import ReleaseId, epsilon_split_issues
from privacy_profile.policy.segmentation import SegmentationSpec
from privacy_profile.segments import families as _families  # registers the family runners
from privacy_profile.segments._common import ReleaseContext
from privacy_profile.segments.columns import feature_columns
from privacy_profile.segments.features import (
    FeatureColumns,
    FeatureParams,
    UnitFeatures,
    band_labels,
)
from privacy_profile.segments.personas import Family
from privacy_profile.segments.registry import BuildState, registry
from privacy_profile.segments.remote import unit_features
from privacy_profile.segments.units import UnitLabels, as_series

__all__ = [
    "FLAGS_TABLE",
    "OPT_OUT_COLUMN",
    "SegmentRelease",
    "Tokenizer",
    "build_segments",
    "check_against_policy",
]

_REGISTERED = _families  # imported for its registrations

#: The consent-derived per-user flags table and its opt-out column (ingestion's output).
FLAGS_TABLE = "flags"
OPT_OUT_COLUMN = "opt_out"

Tokenizer = Callable[[pd.Series], pd.Series]
"""Maps pseudonyms to domain tokens reversible only with the custodian key."""


@dataclass(frozen=True, kw_only=True)
class SegmentRelease:
    """What one ``build_segments`` call released.

    Marketing tables: ``segments``, ``personas``, ``recommendations``, ``tree_rules``.
    ``records``: every DP mechanism that ran (for lineage); ``epsilon``: the epsilon of each
    release, by typed release id. ``audiences``: segment key -> tokens (activation only; never
    a marketing output).
    """

    run_id: str
    segments: pd.DataFrame
    personas: pd.DataFrame
    recommendations: pd.DataFrame
    tree_rules: pd.DataFrame
    records: tuple[MechanismRecord, ...]
    epsilon: dict[ReleaseId, float]
    dropped: dict[str, int]
    audiences: dict[str, pd.DataFrame] | None = None
    notes: tuple[str, ...] = field(default=())

    def marketing_tables(self) -> dict[str, pd.DataFrame]:
        return {
            "segments": self.segments,
            "personas": self.personas,
            "recommendations": self.recommendations,
            "tree_rules": self.tree_rules,
        }


def _domains(spec: SegmentationSpec) -> dict[str, tuple[str, ...]]:
    out = {k: tuple(v) for k, v in spec.tag_domains.items()}
    if spec.personas is not None:
        out["spending_band"] = tuple(band_labels(spec.personas.spending_bands))
    if "top_categories" in out and "top_category" not in out:
        out["top_category"] = out["top_categories"]
    return out


def check_against_policy(spec: SegmentationSpec, policy: Policy) -> None:
    """Raise PolicyError listing every release whose epsilon passes the policy's
    ``privacy.max_epsilon_per_query`` (or, summed, the whole ``epsilon_budget``); the one
    check of :func:`~privacy_profile.policy.releases.epsilon_split_issues`."""
    pv = policy.privacy
    issues = [
        PolicyIssue(
            file="<policy>",
            line=None,
            field=".".join(i.path),
            message=i.message,
            hint=i.hint,
        )
        for i in epsilon_split_issues(
            spec.releases(),
            max_epsilon_per_query=pv.max_epsilon_per_query,
            epsilon_budget=pv.epsilon_budget,
        )
    ]
    if issues:
        raise PolicyError(issues)


def build_segments(
    tables: Mapping[str, pd.DataFrame],
    policy: Policy,
    spec: SegmentationSpec,
    *,
    unit_column: str,
    ledger: BudgetLedger,
    run_id: str,
    now: dt.datetime,
    rng: DPRandom,
    purpose: str,
    tokenizer: Tokenizer | None = None,
    columns: FeatureColumns | None = None,
) -> SegmentRelease:
    """Compute features and release every family of ``spec`` through the DP core.

    ``tables`` may hold remote tables (a :class:`~privacy_profile.ingest.tables.TableMap`):
    the features of remote orders / events tables are computed by their engine
    (:func:`~privacy_profile.segments.remote.unit_features`), nothing is collected.
    Each release spends its epsilon share (<= ``privacy.max_epsilon_per_query``); the whole
    call is refused up front if the ledger's remaining budget cannot cover it. Families run in
    the registry's order (:mod:`privacy_profile.segments.registry`).
    """
    check_against_policy(spec, policy)
    purpose_obj = policy.purpose(purpose)
    releases = spec.releases()
    # zCDP releases cost their rho's conversion, not their epsilon share
    need = releases_cost(ledger, policy, [(r.family.value, e) for r, e in releases.items()]).epsilon
    left = ledger.remaining().epsilon
    if need > left + 1e-12:
        raise BudgetExceededError(
            f"segmentation needs epsilon {need:g}, the ledger has {left:g} left; nothing was "
            "computed or released",
            hint="wait for the budget window to renew, or lower the segmentation epsilons",
        )
    priv = policy.privacy
    cols = columns or feature_columns(policy)
    amount_bounds = (
        policy.metric_bounds(cols.orders.table, cols.orders.amount) if cols.orders else None
    )
    mcpu = priv.max_groups_contributed
    if spec.personas is not None and spec.personas.max_categories_per_user is not None:
        mcpu = spec.personas.max_categories_per_user
    feats: UnitFeatures = unit_features(
        tables,
        FeatureParams(
            unit_column=unit_column,
            now=now,
            columns=cols,
            lookback_days=spec.lookback_days,
            spending_bands=tuple(spec.personas.spending_bands) if spec.personas else (0.0,),
            max_categories_per_user=mcpu,
            order_amount_upper=amount_bounds.upper if amount_bounds else None,
            # the lifecycle stage reads each unit's last active day before its active window
            activity_before_days=(
                spec.lifecycle.active_within_days if spec.lifecycle is not None else None
            ),
        ),
    )
    state = BuildState(
        features=feats,
        spec=spec,
        ctx=ReleaseContext(
            ledger=ledger,
            run_id=run_id,
            rng=rng,
            unit_column=unit_column,
            threshold=priv.aggregation_threshold.threshold,
            delta=priv.delta_per_query,
            zcdp=priv.zcdp_families(),
        ),
        now=now,
        unit_column=unit_column,
        max_categories_per_user=mcpu,
        domains=_domains(spec),
    )
    try:
        for entry in registry():
            mine = entry.releases(spec)
            if mine and entry.run is not None:
                entry.run(state, mine)

        segments = state.segments()
        audiences, notes = _audiences(
            tables, policy, purpose_obj, state.families, segments, unit_column, tokenizer
        )
    finally:
        feats.close()  # what the engine holds for the per-unit rows (Spark: their cache)
    return SegmentRelease(
        run_id=run_id,
        segments=segments,
        personas=state.personas,
        recommendations=state.recommendations,
        tree_rules=state.tree_rules,
        records=tuple(state.records),
        epsilon=releases,
        dropped=feats.dropped,
        audiences=audiences,
        notes=(*state.notes, *notes),
    )


def _audiences(
    tables: Mapping[str, pd.DataFrame],
    policy: Policy,
    purpose: Purpose,
    families: list[Family],
    segments: pd.DataFrame,
    unit_column: str,
    tokenizer: Tokenizer | None,
) -> tuple[dict[str, pd.DataFrame] | None, list[str]]:
    if tokenizer is None:
        return None, ["no tokenizer given: no activation audiences"]
    if not purpose.activation.allowed or purpose.legal_basis is not LegalBasis.CONSENT:
        return None, [
            f"purpose {purpose.data_use!r} does not allow activation with consent: no audiences"
        ]
    if policy.tokenization is None:
        return None, ["the policy declares no tokenization: no audiences"]
    flags = tables.get(FLAGS_TABLE)
    if flags is None or OPT_OUT_COLUMN not in flags.columns or unit_column not in flags.columns:
        raise ConsentError(
            f"activation needs the consent flags table {FLAGS_TABLE!r} with {OPT_OUT_COLUMN!r}",
            hint="pass the consent-derived per-user flags produced at ingestion",
        )
    # fail closed: a unit without a flag row counts as opted out
    ok = flags.loc[~flags[OPT_OUT_COLUMN].astype("boolean").fillna(True), unit_column]
    allowed = set(ok.astype(str))
    if purpose.consent.opt_out not in (
        OptOutEffect.EXCLUDE_FROM_ACTIVATION,
        OptOutEffect.EXCLUDE_FROM_PROFILING,
    ):  # fail closed on an opt-out effect this code does not know
        raise ConsentError(
            f"purpose {purpose.data_use!r}: unknown opt-out effect {purpose.consent.opt_out!r}",
            hint="use exclude_from_activation or exclude_from_profiling",
        )
    released = segments.loc[~segments["suppressed"].astype(bool)]
    shown = set(zip(released["family"], released["segment"], strict=True))
    out: dict[str, pd.DataFrame] = {}
    notes: list[str] = []
    for fam in families:
        fam_kind = "rule" if fam.name.startswith("rule:") else fam.name
        if not any((fam_kind, seg.key) in shown for seg in fam.segments):
            continue
        # the labels of units in released segments: collected where an engine keeps them
        # (an audience is written by this process)
        assignment = as_series(fam.assignment)
        if isinstance(fam.assignment, UnitLabels):
            notes.append(
                f"segments: {fam.name} audiences read {len(assignment)} units' labels from "
                f"{fam.assignment.rows.engine} (audiences are written by this process)"
            )
        for seg in fam.segments:
            if (fam_kind, seg.key) not in shown:
                continue
            members = assignment.index[(assignment == seg.key).to_numpy(dtype=bool, na_value=False)]
            members = pd.Series([m for m in members if str(m) in allowed], dtype=object)
            tokens = tokenizer(members) if len(members) else pd.Series([], dtype=object)
            out[f"{fam_kind}.{seg.key}"] = pd.DataFrame({"token": tokens.to_numpy()})
    return out, notes
