"""The runner of each segment family: policy section -> parameters -> DP release, registered in
:mod:`privacy_profile.segments.registry`. Each spends exactly the epsilon share its releases
declare, and labels its ledger charges ``<release id>/<part>``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import pandas as pd

from privacy_profile.dp import Bounds, PrivacyLoss, ZcdpLoss
from privacy_profile.errors import PolicyError
from privacy_profile.policy.releases import ReleaseId, SegmentFamily
from privacy_profile.policy.segmentation import KMeansInit, Transform
from privacy_profile.segments._common import SegmentDef, dp_segment_table
from privacy_profile.segments.kmeans import (
    KMeansFeatureParams,
    KMeansMethod,
    KMeansParams,
    KMeansPopulation,
    init_from_class_means,
    release_kmeans,
    scale_features,
)
from privacy_profile.segments.lifecycle import LIFECYCLE_STAGES, LifecycleParams, release_lifecycle
from privacy_profile.segments.personas import Family, PersonaParams, release_personas
from privacy_profile.segments.registry import BuildState, register, register_derived
from privacy_profile.segments.rfm import (
    RFM_CLASSES,
    RFM_FEATURES,
    RfmParams,
    release_rfm,
)
from privacy_profile.segments.rules import (
    MEMBER_COLUMN,
    SEGMENT_COLUMN,
    evaluate_rule,
    is_member,
    mark_rule,
    parse_rule,
)
from privacy_profile.segments.tree import TreeParams, release_tree
from privacy_profile.segments.units import UnitLabels, UnitRows, as_series, unit_rows

__all__: list[str] = []

T = TypeVar("T")


def _bounds(lower: float, upper: float) -> Bounds:
    return Bounds(lower=lower, upper=upper)


def _section(section: T | None, family: SegmentFamily) -> T:
    if section is None:
        raise PolicyError(f"the segmentation has no `{family.value}` section")
    return section


def _only(releases: Mapping[ReleaseId, float], family: SegmentFamily) -> PrivacyLoss:
    """The loss of a one-release family that is pure epsilon only (see
    :data:`privacy_profile.policy.privacy.NOT_ZCDP`)."""
    return PrivacyLoss(epsilon=releases[ReleaseId(family)])


def _either(
    st: BuildState, releases: Mapping[ReleaseId, float], family: SegmentFamily
) -> PrivacyLoss | ZcdpLoss:
    """The loss of a one-release family that may be accounted in zCDP."""
    return st.ctx.loss(family.value, releases[ReleaseId(family)])


@register(SegmentFamily.RFM)
def _rfm(st: BuildState, releases: Mapping[ReleaseId, float]) -> None:
    r = _section(st.spec.rfm, SegmentFamily.RFM)
    rfm = release_rfm(
        st.features.table,
        RfmParams(
            recency_bounds=_bounds(r.recency_days.lower, r.recency_days.upper),
            frequency_bounds=_bounds(r.frequency.lower, r.frequency.upper),
            monetary_bounds=_bounds(r.monetary.lower, r.monetary.upper),
            split_quantile=r.split_quantile,
            weight_splits=r.weights.splits,
            weight_sizes=r.weights.sizes,
            weight_means=r.weights.means,
        ),
        loss=_either(st, releases, SegmentFamily.RFM),
        ctx=st.ctx,
    )
    st.rfm_table = rfm.table
    st.tables.append(rfm.table)
    st.records.extend(rfm.records)
    st.families.append(
        Family(name="rfm", segments=tuple(RFM_CLASSES.values()), assignment=rfm.assignment)
    )


@register(SegmentFamily.KMEANS)
def _kmeans(st: BuildState, releases: Mapping[ReleaseId, float]) -> None:
    km = _section(st.spec.kmeans, SegmentFamily.KMEANS)
    f: pd.DataFrame | UnitRows = st.features.table
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
    # units with every feature (and a paid order for RFM features), where the rows are kept
    keep = KMeansPopulation(tuple(names), paid_only=bool(set(names) & set(RFM_FEATURES)))
    pop = f.loc[keep(f)] if isinstance(f, pd.DataFrame) else unit_rows(f).where(keep)
    init = None
    if km.init is KMeansInit.RFM_CLASSES and st.rfm_table is not None:
        ok = st.rfm_table.loc[~st.rfm_table["suppressed"]]
        if len(ok) and all(f"mean_{n}" in ok.columns for n in names):
            # every class suppressed: no released means to start from; random start
            cand = pd.DataFrame({n: ok[f"mean_{n}"].to_numpy() for n in names})
            init = init_from_class_means(
                scale_features(cand, kparams), ok["dp_size"].tolist(), km.k
            )
    kres = release_kmeans(
        pop,
        kparams,
        loss=_only(releases, SegmentFamily.KMEANS),
        ctx=st.ctx,
        init_centers=init,
    )
    st.tables.append(kres.table)
    st.records.extend(kres.records)
    segs = tuple(
        SegmentDef(s, z, e)
        for s, z, e in kres.table[["segment", "label_zh", "label_en"]].itertuples(index=False)
    )
    st.families.append(Family(name="kmeans", segments=segs, assignment=kres.assignment))


@register(SegmentFamily.LIFECYCLE)
def _lifecycle(st: BuildState, releases: Mapping[ReleaseId, float]) -> None:
    lc = _section(st.spec.lifecycle, SegmentFamily.LIFECYCLE)
    ltable, lstage, lrec = release_lifecycle(
        st.features.table,
        st.features.activity,  # read for a pandas table; kept rows carry the previous day
        LifecycleParams(
            new_within_days=lc.new_within_days,
            active_within_days=lc.active_within_days,
            returning_gap_days=lc.returning_gap_days,
            churned_after_days=lc.churned_after_days,
        ),
        now=st.now,
        loss=_either(st, releases, SegmentFamily.LIFECYCLE),
        ctx=st.ctx,
    )
    st.tables.append(ltable)
    st.records.extend(lrec)
    st.families.append(Family(name="lifecycle", segments=LIFECYCLE_STAGES, assignment=lstage))


@register(SegmentFamily.RULE)
def _rules(st: BuildState, releases: Mapping[ReleaseId, float]) -> None:
    f = st.features.table
    unit = st.unit_column
    for rule in st.spec.rules:
        rid = ReleaseId(SegmentFamily.RULE, rule.name)
        node = parse_rule(rule.expr, rule=rule.name, tags=set(st.spec.tags))
        sd = SegmentDef(rule.name, rule.label_zh, rule.label_en)
        units: pd.DataFrame | UnitRows
        if isinstance(f, pd.DataFrame):
            member = evaluate_rule(node, f, rule=rule.name)
            st.rule_members[rule.name] = member
            units = pd.DataFrame({unit: f.loc[member, unit].to_numpy(), "segment": rule.name})
            segment_column = "segment"
        else:  # kept rows: membership marked where the rows are, the members aggregated there
            marked = mark_rule(f, node, rule=rule.name)
            st.rule_members[rule.name] = UnitLabels(
                marked.select([unit, MEMBER_COLUMN]), unit, MEMBER_COLUMN
            )
            members = marked.where(is_member)
            units = members.select([unit, SEGMENT_COLUMN])
            segment_column = SEGMENT_COLUMN
        rt, rrec = dp_segment_table(
            units,
            family=SegmentFamily.RULE.value,
            segments=[sd],
            segment_column=segment_column,
            loss=st.ctx.loss(SegmentFamily.RULE.value, releases[rid]),
            ctx=st.ctx,
            label=rid.label("size"),
        )
        st.tables.append(rt)
        st.records.extend(rrec)
        assignment: pd.Series | UnitLabels
        if isinstance(units, pd.DataFrame):
            assignment = pd.Series(rule.name, index=units[unit].to_numpy())
        else:  # the members' rows (the tag columns too: personas aggregate them)
            assignment = UnitLabels(members, unit, SEGMENT_COLUMN)
        st.families.append(Family(name=str(rid), segments=(sd,), assignment=assignment))


@register(SegmentFamily.PERSONAS)
def _personas(st: BuildState, releases: Mapping[ReleaseId, float]) -> None:
    ps = _section(st.spec.personas, SegmentFamily.PERSONAS)
    kinds = None if ps.families is None else {x.value for x in ps.families}
    pr = release_personas(
        [x for x in st.families if kinds is None or x.name.partition(":")[0] in kinds],
        st.features.table,
        st.features.categories,
        PersonaParams(
            dimensions=tuple(ps.dimensions),
            top_n=ps.top_n,
            max_categories_per_user=st.max_categories_per_user,
            domains={k: v for k, v in st.domains.items() if k in ps.dimensions},
            deny_list=tuple(st.spec.tag_deny_list),
            false_release_probability=ps.false_release_probability,
            tags=tuple(st.spec.tags),
        ),
        loss=_either(st, releases, SegmentFamily.PERSONAS),
        ctx=st.ctx,
    )
    segments = st.segments()
    released = segments.loc[~segments["suppressed"].astype(bool)]
    shown = set(zip(released["family"], released["segment"], strict=True))

    def visible(df: pd.DataFrame) -> pd.DataFrame:
        fam = df["family"].str.replace(r"^rule:.*$", "rule", regex=True)
        keep = [(a, b) in shown for a, b in zip(fam, df["segment"], strict=True)]
        return df.loc[keep].reset_index(drop=True)

    st.personas = visible(pr.personas)
    st.recommendations = visible(pr.recommendations)
    st.records.extend(pr.records)


register_derived(SegmentFamily.RECOMMENDATIONS, produced_by=SegmentFamily.PERSONAS)


@register(SegmentFamily.TREE)
def _tree(st: BuildState, releases: Mapping[ReleaseId, float]) -> None:
    spec = _section(st.spec.tree, SegmentFamily.TREE)
    # diffprivlib's tree fits in memory: where an engine keeps the per-unit rows, only the
    # unit and the tree's tag features are read here (one narrow row per unit)
    rows = unit_rows(st.features.table)
    f = rows.select([st.unit_column, *spec.features]).to_pandas()
    if rows.engine != "pandas":
        st.notes.append(
            f"segments: the tree read {len(f)} units' {', '.join(spec.features)} from "
            f"{rows.engine} on the driver (diffprivlib's tree fits in memory)"
        )
    kind, _, key = spec.target.partition(":")
    target: SegmentDef
    if kind == SegmentFamily.RULE.value:
        rdef = next(r for r in st.spec.rules if r.name == key)
        target = SegmentDef(rdef.name, rdef.label_zh, rdef.label_en)
        got = st.rule_members[key]
        if isinstance(got, UnitLabels):  # kept rows: every unit's membership, by unit
            kept = as_series(got).reindex(f[st.unit_column].to_numpy())
            member = kept.eq(True).to_numpy(dtype=bool)  # a unit without a row: no member
        else:
            member = got
    else:
        fam = next(x for x in st.families if x.name == kind)
        target = next(s for s in fam.segments if s.key == key)
        seg_of = as_series(fam.assignment).reindex(f[st.unit_column].to_numpy())
        member = (seg_of == key).fillna(False).to_numpy(dtype=bool)
    tr = release_tree(
        f,
        member,
        TreeParams(
            target=target,
            features=tuple(spec.features),
            domains=st.domains,
            max_depth=spec.max_depth,
        ),
        loss=_only(releases, SegmentFamily.TREE),
        ctx=st.ctx,
    )
    st.tree_rules = tr.table
    st.records.extend(tr.records)
