"""A DP decision tree explaining one segment by quasi-identifiers, released as readable rules.

diffprivlib's ``DecisionTreeClassifier`` (random, data-independent splits; each leaf's label by
the permute-and-flip mechanism) on ordinal codes of categorical tags whose value lists are
public (from the policy); bounds and classes are given, never read from the data, and a
``PrivacyLeakWarning`` is an error. Half the epsilon fits the tree, half releases DP counts of
members and non-members per leaf (leaves are disjoint: parallel composition), from which the
DP share of each rule is computed. A leaf becomes a rule when its noisy member count reaches
the aggregation threshold and either the tree labels it "member" or its DP share of members is
above the segment's overall DP share (a minority segment rarely wins a leaf's majority)::

    age_band in {25-34, 35-44} and province = 浙江省
        -> 重要价值客户 / important value (DP share 0.41)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from diffprivlib.accountant import BudgetAccountant
from diffprivlib.models import DecisionTreeClassifier

from privacy_profile.dp import (
    Aggregation,
    MechanismRecord,
    MetricSpec,
    PrivacyLoss,
    PrivacyUnit,
    PublicGroups,
    dp_aggregate,
)
from privacy_profile.dp._diffprivlib import strict_diffprivlib
from privacy_profile.errors import PolicyError
from privacy_profile.segments._common import ReleaseContext, SegmentDef

__all__ = ["UNKNOWN", "TreeParams", "TreeRelease", "release_tree"]

UNKNOWN = "(unknown)"


@dataclass(frozen=True, kw_only=True)
class TreeParams:
    """The segment to explain, the tag features and their public value lists."""

    target: SegmentDef
    features: tuple[str, ...]
    domains: Mapping[str, tuple[str, ...]]
    max_depth: int = 3


@dataclass(frozen=True, kw_only=True)
class TreeRelease:
    """``table``: one row per rule (rule text, DP member count with interval, DP share)."""

    table: pd.DataFrame
    records: tuple[MechanismRecord, ...]


def _encode(features: pd.DataFrame, params: TreeParams) -> npt.NDArray[np.float64]:
    cols = []
    for name in params.features:
        domain = params.domains.get(name)
        if not domain:
            raise PolicyError(
                f"tree feature {name!r} needs a public value list",
                hint=f"add segmentation.tag_domains.{name}: [...] to the policy",
            )
        index = {v: i for i, v in enumerate(domain)}
        col = features[name].astype("string").fillna(UNKNOWN)
        unknown = len(domain)
        codes = [index.get(v, unknown) for v in col.tolist()]
        cols.append(np.asarray(codes, dtype=np.float64))
    return np.column_stack(cols)


def _leaf_paths(model: DecisionTreeClassifier) -> dict[int, list[tuple[int, bool, float]]]:
    t = model.tree_
    paths: dict[int, list[tuple[int, bool, float]]] = {}
    stack: list[tuple[int, list[tuple[int, bool, float]]]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        left, right = int(t.children_left[node]), int(t.children_right[node])
        if left == -1:
            paths[node] = path
            continue
        f, thr = int(t.feature[node]), float(t.threshold[node])
        stack.append((left, [*path, (f, True, thr)]))
        stack.append((right, [*path, (f, False, thr)]))
    return paths


def _render(path: Sequence[tuple[int, bool, float]], params: TreeParams) -> str:
    parts = []
    for j, name in enumerate(params.features):
        values = [*params.domains[name], UNKNOWN]
        allowed = np.ones(len(values), dtype=bool)
        codes = np.arange(len(values), dtype=np.float64)
        for f, is_left, thr in path:
            if f == j:
                allowed &= (codes <= thr) if is_left else (codes > thr)
        if allowed.all():
            continue
        kept = [v for v, ok in zip(values, allowed, strict=True) if ok]
        if len(kept) == 1:
            parts.append(f"{name} = {kept[0]}")
        else:
            parts.append(f"{name} in {{{', '.join(kept)}}}")
    return " and ".join(parts) if parts else "(everyone)"


def release_tree(
    features: pd.DataFrame,
    member: npt.NDArray[np.bool_],
    params: TreeParams,
    *,
    loss: PrivacyLoss,
    ctx: ReleaseContext,
) -> TreeRelease:
    """Fit the DP tree on ``features`` (one row per unit) against ``member``; release rules."""
    x = _encode(features, params)
    y = member.astype(np.int64)
    fit_loss = PrivacyLoss(epsilon=loss.epsilon / 2.0)
    count_loss = PrivacyLoss(epsilon=loss.epsilon / 2.0)
    ctx.ledger.charge(
        run_id=ctx.run_id,
        mechanism="diffprivlib_decision_tree",
        loss=fit_loss,
        sensitivity=1.0,
        label="tree/fit",
    )
    seed = int(ctx.rng.integers(2**32 - 1, 1)[0])
    upper = np.array([float(len(params.domains[n])) for n in params.features])
    model = DecisionTreeClassifier(
        max_depth=params.max_depth,
        epsilon=fit_loss.epsilon,
        bounds=(np.zeros(len(params.features)), upper),
        classes=[0, 1],
        random_state=np.random.RandomState(seed),
        accountant=BudgetAccountant(epsilon=fit_loss.epsilon, delta=0.0),
    )
    with strict_diffprivlib():
        model.fit(x, y)
    records = [
        MechanismRecord(
            label="tree/fit",
            mechanism="diffprivlib_decision_tree",
            aggregation="leaf_label",
            epsilon=fit_loss.epsilon,
            delta=0.0,
            sensitivity=1.0,
            scale=0.0,
            noise_sd=float("nan"),
        )
    ]
    paths = _leaf_paths(model)
    leaf = model.apply(x)
    units = pd.DataFrame(
        {ctx.unit_column: features[ctx.unit_column].to_numpy(), "leaf": leaf, "member": y}
    )
    keys = [(int(n), m) for n in sorted(paths) for m in (0, 1)]
    res = dp_aggregate(
        units,
        unit=PrivacyUnit.one_row_per_unit(ctx.unit_column),
        by=["leaf", "member"],
        metrics=[MetricSpec(aggregation=Aggregation.PRIVACY_ID_COUNT)],
        loss=count_loss,
        ledger=ctx.ledger,
        run_id=ctx.run_id,
        groups=PublicGroups(keys=tuple(keys)),
        threshold=0,  # every leaf count is needed; ctx.threshold is applied to rules below
        rng=ctx.rng,
        label="tree/leaf_counts",
    )
    records.extend(res.records)
    counts = res.table.set_index(["leaf", "member"])
    values = model.tree_.value
    n_in_all = float(counts.xs(1, level="member")["privacy_id_count"].clip(lower=0).sum())
    n_all = float(counts["privacy_id_count"].clip(lower=0).sum())
    base = n_in_all / max(n_all, 1.0)
    rows = []
    for node, path in sorted(paths.items()):
        r_in = counts.loc[(node, 1)]
        n_in = int(r_in["privacy_id_count"])
        if n_in < ctx.threshold:
            continue
        n_out = int(counts.loc[(node, 0)]["privacy_id_count"])
        share = float(np.clip(n_in / max(n_in + max(n_out, 0), 1), 0.0, 1.0))
        label_in = int(np.argmax(values[node][0])) == 1
        if not (label_in or share > base):
            continue
        rule = _render(path, params)
        rows.append(
            {
                "rule": f"{rule} -> {params.target.label} (DP share {share:.2f})",
                "conditions": rule,
                "segment": params.target.key,
                "label": params.target.label,
                "dp_members": n_in,
                "members_ci_low": max(float(r_in["privacy_id_count_low"]), 0.0),
                "members_ci_high": float(r_in["privacy_id_count_high"]),
                "dp_share": share,
                "dp_lift": share / base if base > 0 else float("nan"),
                "tree_label": "member" if label_in else "non-member",
                "epsilon": loss.epsilon,
            }
        )
    cols = [
        "rule",
        "conditions",
        "segment",
        "label",
        "dp_members",
        "members_ci_low",
        "members_ci_high",
        "dp_share",
        "dp_lift",
        "tree_label",
        "epsilon",
    ]
    table = pd.DataFrame(rows, columns=cols).sort_values("dp_share", ascending=False)
    return TreeRelease(table=table.reset_index(drop=True), records=tuple(records))
