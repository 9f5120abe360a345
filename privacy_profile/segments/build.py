"""``build_segments``: features, then each named release through the DP core, then the
marketing tables (group labels, DP values, intervals, epsilon: no pseudonym, token or
identifier) and, only where the purpose allows activation, token-keyed audiences.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from privacy_profile.dp import Bounds, BudgetLedger, DPRandom, MechanismRecord, PrivacyLoss
from privacy_profile.errors import BudgetExceededError, ConsentError, LeakDetectedError
from privacy_profile.policy.segmentation import (
    KMeansInit,
    SegmentationSpec,
    Transform,
    check_against_policy,
)
from privacy_profile.segments._common import SEGMENT_COLUMNS, ReleaseContext, SegmentDef
from privacy_profile.segments.features import (
    FeatureColumns,
    FeatureParams,
    UnitFeatures,
    band_labels,
    compute_features,
)
from privacy_profile.segments.kmeans import (
    KMeansFeatureParams,
    KMeansMethod,
    KMeansParams,
    init_from_class_means,
    release_kmeans,
    scale_features,
)
from privacy_profile.segments.lifecycle import LIFECYCLE_STAGES, LifecycleParams, release_lifecycle
from privacy_profile.segments.personas import Family, PersonaParams, release_personas
from privacy_profile.segments.rfm import (
    RFM_CLASSES,
    RFM_FEATURES,
    RfmParams,
    release_rfm,
    rfm_population,
)
from privacy_profile.segments.rules import evaluate_rule, parse_rule
from privacy_profile.segments.tree import TreeParams, release_tree

if TYPE_CHECKING:  # the policy model imports policy.segmentation: no runtime import cycle
    from privacy_profile.policy.model import Policy

__all__ = ["FLAGS_TABLE", "OPT_OUT_COLUMN", "SegmentRelease", "Tokenizer", "build_segments"]

#: The consent-derived per-user flags table and its opt-out column (ingestion's output).
FLAGS_TABLE = "flags"
OPT_OUT_COLUMN = "opt_out"

Tokenizer = Callable[[pd.Series], pd.Series]
"""Maps pseudonyms to domain tokens reversible only with the custodian key."""


@dataclass(frozen=True, kw_only=True)
class SegmentRelease:
    """What one ``build_segments`` call released.

    Marketing tables: ``segments``, ``personas``, ``recommendations``, ``tree_rules``.
    ``records``: every DP mechanism that ran (for lineage); ``epsilon``: epsilon per named
    release. ``audiences``: segment key -> tokens (activation only; never a marketing output).
    """

    run_id: str
    segments: pd.DataFrame
    personas: pd.DataFrame
    recommendations: pd.DataFrame
    tree_rules: pd.DataFrame
    records: tuple[MechanismRecord, ...]
    epsilon: dict[str, float]
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


def _bounds(lower: float, upper: float) -> Bounds:
    return Bounds(lower=lower, upper=upper)


def _domains(spec: SegmentationSpec) -> dict[str, tuple[str, ...]]:
    out = {k: tuple(v) for k, v in spec.tag_domains.items()}
    if spec.personas is not None:
        out["spending_band"] = tuple(band_labels(spec.personas.spending_bands))
    if "top_categories" in out and "top_category" not in out:
        out["top_category"] = out["top_categories"]
    return out


def _check_no_identifiers(tables: Mapping[str, pd.DataFrame], units: pd.Series, unit: str) -> None:
    """Refuse identifier columns and any text cell equal to a unit's pseudonym.

    The set of pseudonyms is built once and each table's few distinct text values are looked
    up in it (``Series.isin`` would rebuild a hash table of every pseudonym for each column).
    """
    known = set(units.astype(str))
    for name, df in tables.items():
        bad = [c for c in df.columns if c == unit or c in ("token", "openid", "pseudonym")]
        if bad:
            raise LeakDetectedError(f"marketing table {name!r} has identifier columns {bad}")
        for col in df.columns:
            textual = df[col].dtype == object or isinstance(df[col].dtype, pd.StringDtype)
            if textual and not known.isdisjoint(df[col].dropna().astype(str).unique()):
                raise LeakDetectedError(
                    f"marketing table {name!r} column {col!r} holds a pseudonym",
                    hint="release group-level values only",
                )


def build_segments(
    tables: dict[str, pd.DataFrame],
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
    """Compute features and release every section of ``spec`` through the DP core.

    Each section is one query with its own epsilon (<= ``privacy.max_epsilon_per_query``);
    the whole call is refused up front if the ledger's remaining budget cannot cover it.
    """
    check_against_policy(spec, policy)
    purpose_obj = policy.purpose(purpose)
    releases = spec.releases()
    need = sum(releases.values())
    left = ledger.remaining().epsilon
    if need > left + 1e-12:
        raise BudgetExceededError(
            f"segmentation needs epsilon {need:g}, the ledger has {left:g} left; nothing was "
            "computed or released",
            hint="wait for the budget window to renew, or lower the segmentation epsilons",
        )
    priv = policy.privacy
    amount_bounds = policy.metric_bounds("orders", "amount")
    mcpu = priv.max_groups_contributed
    if spec.personas is not None and spec.personas.max_categories_per_user is not None:
        mcpu = spec.personas.max_categories_per_user
    feats: UnitFeatures = compute_features(
        tables,
        FeatureParams(
            unit_column=unit_column,
            now=now,
            columns=columns or FeatureColumns(),
            lookback_days=spec.lookback_days,
            spending_bands=tuple(spec.personas.spending_bands) if spec.personas else (0.0,),
            max_categories_per_user=mcpu,
            order_amount_upper=amount_bounds.upper if amount_bounds else None,
        ),
    )
    f = feats.table
    ctx = ReleaseContext(
        ledger=ledger,
        run_id=run_id,
        rng=rng,
        unit_column=unit_column,
        threshold=priv.aggregation_threshold.threshold,
        delta=priv.delta_per_query,
    )
    seg_tables: list[pd.DataFrame] = []
    records: list[MechanismRecord] = []
    families: list[Family] = []
    rfm_table: pd.DataFrame | None = None

    if spec.rfm is not None:
        r = spec.rfm
        rfm = release_rfm(
            f,
            RfmParams(
                recency_bounds=_bounds(r.recency_days.lower, r.recency_days.upper),
                frequency_bounds=_bounds(r.frequency.lower, r.frequency.upper),
                monetary_bounds=_bounds(r.monetary.lower, r.monetary.upper),
                split_quantile=r.split_quantile,
                weight_splits=r.weights.splits,
                weight_sizes=r.weights.sizes,
                weight_means=r.weights.means,
            ),
            loss=PrivacyLoss(epsilon=r.epsilon),
            ctx=ctx,
        )
        rfm_table = rfm.table
        seg_tables.append(rfm.table)
        records.extend(rfm.records)
        families.append(
            Family(name="rfm", segments=tuple(RFM_CLASSES.values()), assignment=rfm.assignment)
        )

    if spec.kmeans is not None:
        km = spec.kmeans
        kparams = KMeansParams(
            k=km.k,
            features=tuple(
                KMeansFeatureParams(
                    name=x.name,
                    bounds=_bounds(x.lower, x.upper),
                    log1p=x.transform is Transform.LOG1P,
                )
                for x in km.features
            ),
            size_share=km.size_share,
            method=KMeansMethod(km.method.value),
            iterations=km.lloyd_iterations(),
        )
        names = [x.name for x in km.features]
        pop = rfm_population(f) if set(names) & set(RFM_FEATURES) else f
        pop = pop.loc[pop[names].notna().all(axis=1)]
        init = None
        if km.init is KMeansInit.RFM_CLASSES and rfm_table is not None:
            ok = rfm_table.loc[~rfm_table["suppressed"]]
            if len(ok) and all(f"mean_{n}" in ok.columns for n in names):
                # every class suppressed: no released means to start from; random start
                cand = pd.DataFrame({n: ok[f"mean_{n}"].to_numpy() for n in names})
                init = init_from_class_means(
                    scale_features(cand, kparams), ok["dp_size"].tolist(), km.k
                )
        kres = release_kmeans(
            pop, kparams, loss=PrivacyLoss(epsilon=km.epsilon), ctx=ctx, init_centers=init
        )
        seg_tables.append(kres.table)
        records.extend(kres.records)
        segs = tuple(
            SegmentDef(s, z, e)
            for s, z, e in kres.table[["segment", "label_zh", "label_en"]].itertuples(index=False)
        )
        families.append(Family(name="kmeans", segments=segs, assignment=kres.assignment))

    if spec.lifecycle is not None:
        lc = spec.lifecycle
        ltable, lstage, lrec = release_lifecycle(
            f,
            feats.activity,
            LifecycleParams(
                new_within_days=lc.new_within_days,
                active_within_days=lc.active_within_days,
                returning_gap_days=lc.returning_gap_days,
                churned_after_days=lc.churned_after_days,
            ),
            now=now,
            loss=PrivacyLoss(epsilon=lc.epsilon),
            ctx=ctx,
        )
        seg_tables.append(ltable)
        records.extend(lrec)
        families.append(Family(name="lifecycle", segments=LIFECYCLE_STAGES, assignment=lstage))

    rule_members: dict[str, np.ndarray] = {}
    for rule in spec.rules:
        from privacy_profile.segments._common import dp_segment_table

        assert spec.rules_epsilon is not None
        member = evaluate_rule(parse_rule(rule.expr, rule=rule.name), f, rule=rule.name)
        rule_members[rule.name] = member
        sd = SegmentDef(rule.name, rule.label_zh, rule.label_en)
        units = pd.DataFrame(
            {unit_column: f.loc[member, unit_column].to_numpy(), "segment": rule.name}
        )
        rt, rrec = dp_segment_table(
            units,
            family="rule",
            segments=[sd],
            segment_column="segment",
            loss=PrivacyLoss(epsilon=spec.rules_epsilon),
            ctx=ctx,
            label=f"rule/{rule.name}",
        )
        seg_tables.append(rt)
        records.extend(rrec)
        families.append(
            Family(
                name=f"rule:{rule.name}",
                segments=(sd,),
                assignment=pd.Series(rule.name, index=units[unit_column].to_numpy()),
            )
        )

    segments = (
        pd.concat(seg_tables, ignore_index=True)
        if seg_tables
        else pd.DataFrame(columns=list(SEGMENT_COLUMNS))
    )
    domains = _domains(spec)

    personas = pd.DataFrame()
    recommendations = pd.DataFrame()
    if spec.personas is not None:
        chosen = spec.personas.families
        kinds = None if chosen is None else {f.value for f in chosen}
        pr = release_personas(
            [x for x in families if kinds is None or x.name.partition(":")[0] in kinds],
            f,
            feats.categories,
            PersonaParams(
                dimensions=tuple(spec.personas.dimensions),
                top_n=spec.personas.top_n,
                max_categories_per_user=mcpu,
                domains={k: v for k, v in domains.items() if k in spec.personas.dimensions},
                deny_list=tuple(spec.tag_deny_list),
                false_release_probability=spec.personas.false_release_probability,
            ),
            loss=PrivacyLoss(epsilon=spec.personas.epsilon),
            ctx=ctx,
        )
        shown = set(
            zip(
                segments.loc[~segments["suppressed"].astype(bool), "family"].map(lambda x: x),
                segments.loc[~segments["suppressed"].astype(bool), "segment"],
                strict=True,
            )
        )

        def _visible(df: pd.DataFrame) -> pd.DataFrame:
            fam = df["family"].str.replace(r"^rule:.*$", "rule", regex=True)
            keep = [(a, b) in shown for a, b in zip(fam, df["segment"], strict=True)]
            return df.loc[keep].reset_index(drop=True)

        personas = _visible(pr.personas)
        recommendations = _visible(pr.recommendations)
        records.extend(pr.records)

    tree_rules = pd.DataFrame()
    if spec.tree is not None:
        kind, _, key = spec.tree.target.partition(":")
        target: SegmentDef
        if kind == "rule":
            rdef = next(r for r in spec.rules if r.name == key)
            target = SegmentDef(rdef.name, rdef.label_zh, rdef.label_en)
            member = rule_members[key]
        else:
            fam = next(x for x in families if x.name == kind)
            target = next(s for s in fam.segments if s.key == key)
            seg_of = fam.assignment.reindex(f[unit_column].to_numpy())
            member = (seg_of == key).fillna(False).to_numpy(dtype=bool)
        tr = release_tree(
            f,
            member,
            TreeParams(
                target=target,
                features=tuple(x.value for x in spec.tree.features),
                domains=domains,
                max_depth=spec.tree.max_depth,
            ),
            loss=PrivacyLoss(epsilon=spec.tree.epsilon),
            ctx=ctx,
        )
        tree_rules = tr.table
        records.extend(tr.records)

    marketing = {
        "segments": segments,
        "personas": personas,
        "recommendations": recommendations,
        "tree_rules": tree_rules,
    }
    _check_no_identifiers(marketing, f[unit_column], unit_column)

    audiences, notes = _audiences(
        tables, policy, purpose_obj, families, segments, unit_column, tokenizer
    )
    return SegmentRelease(
        run_id=run_id,
        segments=segments,
        personas=personas,
        recommendations=recommendations,
        tree_rules=tree_rules,
        records=tuple(records),
        epsilon=releases,
        dropped=feats.dropped,
        audiences=audiences,
        notes=tuple(notes),
    )


def _audiences(
    tables: Mapping[str, pd.DataFrame],
    policy: Policy,
    purpose: object,
    families: list[Family],
    segments: pd.DataFrame,
    unit_column: str,
    tokenizer: Tokenizer | None,
) -> tuple[dict[str, pd.DataFrame] | None, list[str]]:
    from privacy_profile.policy.model import LegalBasis, OptOutEffect, Purpose

    assert isinstance(purpose, Purpose)
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
    assert purpose.consent.opt_out in (
        OptOutEffect.EXCLUDE_FROM_ACTIVATION,
        OptOutEffect.EXCLUDE_FROM_PROFILING,
    )
    released = segments.loc[~segments["suppressed"].astype(bool)]
    shown = set(zip(released["family"], released["segment"], strict=True))
    out: dict[str, pd.DataFrame] = {}
    for fam in families:
        fam_kind = "rule" if fam.name.startswith("rule:") else fam.name
        for seg in fam.segments:
            if (fam_kind, seg.key) not in shown:
                continue
            members = fam.assignment.index[(fam.assignment == seg.key).to_numpy()]
            members = pd.Series([m for m in members if str(m) in allowed], dtype=object)
            tokens = tokenizer(members) if len(members) else pd.Series([], dtype=object)
            out[f"{fam_kind}.{seg.key}"] = pd.DataFrame({"token": tokens.to_numpy()})
    return out, []
