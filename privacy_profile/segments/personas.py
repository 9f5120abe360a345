"""Personas: per segment, DP distributions of tag dimensions and DP top-N categories.

Each (segment family, dimension) pair is one DP histogram over (segment, value) groups, with
an equal share of the personas epsilon (a unit is in one segment of a family, so the segments
of a family compose in parallel); the policy's ``personas.families`` picks the families.
``top_categories`` counts each unit in at most ``max_categories_per_user`` of its own most
frequent categories (contribution bounding). Value lists from the policy are public groups
(released even when empty); a dimension without one uses private group selection, which spends
delta. Groups whose noisy count is below the aggregation threshold are not released; with
``false_release_probability`` the threshold is raised by the noise margin of
:func:`release_margin`, so a value whose true count is below the threshold is released with at
most that probability. A dimension carrying a denied tag is refused.

Where the engine keeps the per-unit rows (a family's assignment given as
:class:`~privacy_profile.segments.units.UnitLabels`, the features as
:class:`~privacy_profile.segments.units.UnitRows`), a tag dimension's (unit, value, segment)
rows are formed per batch from the family's labelled rows and aggregated where they are
(:meth:`UnitRows.dp_aggregate`); only the top-categories dimension reads the family's labels on
the driver (two columns per labelled unit), where the top categories already are. The rows,
hence the released values and the DP random stream, are the pandas path's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from privacy_profile.dp import (
    Aggregation,
    Mechanism,
    MechanismRecord,
    MetricSpec,
    PrivacyLoss,
    PrivacyUnit,
    PrivateSelection,
    PublicGroups,
    ZcdpLoss,
    plan_budget,
)
from privacy_profile.dp.aggregate import COUNT_PART
from privacy_profile.errors import PolicyError
from privacy_profile.policy.segmentation import PERSONA_DIMENSIONS, denied_term
from privacy_profile.segments._common import ReleaseContext, SegmentDef, epsilon_of
from privacy_profile.segments.units import UnitLabels, UnitRows, as_series, unit_rows

__all__ = [
    "PERSONA_COLUMNS",
    "RECOMMENDATION_COLUMNS",
    "Family",
    "PersonaParams",
    "PersonaRelease",
    "release_margin",
    "release_personas",
]

UNKNOWN = "(unknown)"
PERSONA_COLUMNS = [
    "family",
    "segment",
    "label",
    "dimension",
    "value",
    "dp_count",
    "count_noise_sd",
    "count_ci_low",
    "count_ci_high",
    "dp_share",
    "release_threshold",
    "epsilon",
]
RECOMMENDATION_COLUMNS = ["family", "segment", "label", "rank", "category", "dp_count", "epsilon"]


@dataclass(frozen=True, kw_only=True)
class Family:
    """A segmentation: its segments and each unit's segment (internal): a pandas Series
    indexed by unit, or the label column of rows its engine keeps (:class:`UnitLabels`)."""

    name: str
    segments: tuple[SegmentDef, ...]
    assignment: pd.Series | UnitLabels


@dataclass(frozen=True, kw_only=True)
class PersonaParams:
    dimensions: tuple[str, ...]
    top_n: int
    max_categories_per_user: int
    domains: Mapping[str, tuple[str, ...]]
    deny_list: tuple[str, ...]
    false_release_probability: float | None = None
    tags: tuple[str, ...] = ()
    """The policy's custom tags (``segmentation.tags``): dimensions besides the built-in ones."""


@dataclass(frozen=True, kw_only=True)
class PersonaRelease:
    personas: pd.DataFrame
    recommendations: pd.DataFrame
    records: tuple[MechanismRecord, ...]


def release_margin(mechanism: Mechanism, scale: float, false_release_probability: float) -> int:
    """The smallest integer m >= 0 with P(Z > m) <= ``false_release_probability`` for one
    draw Z of ``mechanism``'s noise at ``scale``.

    Releasing a count only when ``true + Z >= threshold + m`` releases a count whose true value
    is below ``threshold`` (an empty one in particular) with probability at most
    P(Z >= m + 1) = P(Z > m). Discrete Laplace: P(Z >= k) = p^k / (1 + p), p = exp(-1/scale),
    for k >= 1, solved exactly (m is about scale * ln(1 / (2 alpha)), i.e.
    z = ln(1 / (2 alpha)) / sqrt(2) noise standard deviations; z = 2.77 at alpha = 0.01).
    """
    alpha = false_release_probability
    if not 0.0 < alpha <= 0.5:
        raise PolicyError(
            f"false_release_probability must be in (0, 0.5], got {alpha!r}",
            hint="e.g. 0.05 or 0.01",
        )
    if mechanism is Mechanism.DISCRETE_GAUSSIAN:
        # P(Z > m) = P(Z >= m + 1) <= P(N(0, sigma^2) >= m) (CKS 2020, Prop. 25)
        return max(math.ceil(scale * float(stats.norm.isf(alpha))), 0)
    if mechanism is not Mechanism.DISCRETE_LAPLACE:
        raise PolicyError(f"no release margin for {mechanism.value} counts")
    p = math.exp(-1.0 / scale) if scale > 0 else 0.0
    if p == 0.0:  # no noise at all
        return 0
    # P(Z > m) = P(Z >= m + 1) = p^(m+1) / (1 + p) <= alpha
    k = max(math.ceil(math.log(alpha * (1.0 + p)) / math.log(p)), 1)
    while k > 1 and p ** (k - 1) / (1.0 + p) <= alpha:  # guard against rounding, downwards
        k -= 1
    while p**k / (1.0 + p) > alpha:  # and upwards
        k += 1
    return k - 1


def check_dimensions(params: PersonaParams) -> None:
    """Refuse a denied or unknown dimension with a clear error."""
    for dim in params.dimensions:
        term = denied_term(dim, params.deny_list)
        if term is not None:
            raise PolicyError(
                f"persona dimension {dim!r} is a denied tag ({term!r} is on tag_deny_list)",
                hint=f"remove {dim!r} from segmentation.personas.dimensions",
            )
        if dim not in PERSONA_DIMENSIONS and dim not in params.tags:
            raise PolicyError(
                f"unknown persona dimension {dim!r}",
                hint=f"use some of {', '.join((*PERSONA_DIMENSIONS, *params.tags))}",
            )


class _LongFrames:
    """The long (unit, value, segment) rows of every (family, dimension) pair, from codes.

    Units of the feature table and of the category rows are factorized once; each family's
    assignment is looked up once per distinct unit (one hash table per family, not one per
    pair), and each dimension's values are converted to text once. A pair's rows are then a
    boolean mask and three gathers: the same rows, order, index and values as filtering
    ``features`` (or ``categories``) to the family's units with ``isin`` / ``reindex``.
    """

    def __init__(self, features: pd.DataFrame, categories: pd.DataFrame, unit: str) -> None:
        self.unit = unit
        self.features = features
        self.categories = categories
        n_feat = len(features)
        both = pd.concat(
            [features[unit], categories[unit]], ignore_index=True
        )  # one factorization for both row sets
        codes, uniques = pd.factorize(both, sort=False, use_na_sentinel=True)
        self.uniques = pd.Index(uniques)
        self.feat_codes = np.asarray(codes[:n_feat], dtype=np.int64)
        self.cat_codes = np.asarray(codes[n_feat:], dtype=np.int64)
        self._values: dict[str, npt.NDArray[np.object_]] = {}
        self._families: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[Any]]] = {}

    def _family(self, family: Family) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
        """Per distinct unit, the position of its segment in ``assignment`` (-1: none)."""
        got = self._families.get(family.name)
        if got is None:
            seg = as_series(family.assignment)
            where = np.asarray(pd.Index(seg.index).get_indexer(self.uniques), dtype=np.int64)
            got = (where, seg.to_numpy())
            self._families[family.name] = got
        return got

    def _dim_values(self, dim: str) -> npt.NDArray[np.object_]:
        got = self._values.get(dim)
        if got is None:
            v = self.features[dim].astype("string").fillna(UNKNOWN).astype(str)
            got = np.asarray(v.to_numpy(dtype=object), dtype=object)
            self._values[dim] = got
        return got

    def _cat_values(self) -> npt.NDArray[np.object_]:
        got = self._values.get("\0categories")
        if got is None:
            v = self.categories["category"].astype(str)
            got = np.asarray(v.to_numpy(dtype=object), dtype=object)
            self._values["\0categories"] = got
        return got

    def pairs(self, family: Family, dim: str) -> pd.DataFrame:
        where, seg_values = self._family(family)
        unit = self.unit
        if dim == "top_categories":
            src, codes = self.categories, self.cat_codes
            units: Any = src[unit].array  # keeps the categories' dtype, as filtering did
            values = self._cat_values()
        else:
            src, codes = self.features, self.feat_codes
            units = src[unit].to_numpy()
            values = self._dim_values(dim)
        pos = np.where(codes >= 0, where[np.maximum(codes, 0)], -1)
        rows = np.flatnonzero(pos >= 0)
        return pd.DataFrame(
            {unit: units[rows], "value": values[rows], "segment": seg_values[pos[rows]]},
            index=src.index[rows],
        )


@dataclass(frozen=True)
class _ValueSegment:
    """Per batch of a family's labelled rows: each row's ``dim`` value as text (missing:
    :data:`UNKNOWN`) and its segment, as :meth:`_LongFrames.pairs` forms them."""

    dim: str
    label: str

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        value = batch[self.dim].astype("string").fillna(UNKNOWN).astype(str)
        return pd.DataFrame(
            {
                "value": value.to_numpy(dtype=object),
                "segment": batch[self.label].astype(str).to_numpy(dtype=object),
            }
        )


@dataclass(frozen=True)
class _Labelled:
    """Per batch: the rows that carry a label."""

    label: str

    def __call__(self, batch: pd.DataFrame) -> npt.NDArray[np.bool_]:
        return np.asarray(batch[self.label].notna().to_numpy(dtype=bool), dtype=bool)


def _kept_pairs(family: Family, dim: str, unit: str) -> UnitRows | None:
    """A tag dimension's (unit, value, segment) rows where the family's labels are kept (None:
    the pandas path's rows are used)."""
    a = family.assignment
    if dim == "top_categories" or not isinstance(a, UnitLabels) or dim not in a.rows.columns:
        return None
    labelled = a.rows.where(_Labelled(a.column))
    both = labelled.with_columns(
        _ValueSegment(dim, a.column), {"value": "string", "segment": "string"}
    )
    return both.select([unit, "value", "segment"])


def _features_frame(
    features: pd.DataFrame | UnitRows, families: Sequence[Family], params: PersonaParams, unit: str
) -> pd.DataFrame:
    """The features the pandas path reads: the frame itself, or, for rows an engine keeps, the
    unit and the tag dimensions some family's labels do not carry (collected; none when every
    family was labelled by the engine), never the whole table."""
    if isinstance(features, pd.DataFrame):
        return features
    need = sorted(
        {
            d
            for f in families
            for d in params.dimensions
            if d != "top_categories"
            and not (isinstance(f.assignment, UnitLabels) and d in f.assignment.rows.columns)
        }
    )
    if not need:
        return pd.DataFrame({unit: pd.Series([], dtype="string")})
    return features.select([unit, *need]).to_pandas()


def release_personas(
    families: Sequence[Family],
    features: pd.DataFrame | UnitRows,
    categories: pd.DataFrame,
    params: PersonaParams,
    *,
    loss: PrivacyLoss | ZcdpLoss,
    ctx: ReleaseContext,
) -> PersonaRelease:
    """DP persona distributions and top-N recommendations for every segment of ``families``.
    Under zCDP (``loss`` a :class:`ZcdpLoss`) rho is split equally over the (family, dimension)
    pairs, each a discrete Gaussian count over public groups; a dimension without a public
    value list is refused (private selection is calibrated for discrete Laplace)."""
    check_dimensions(params)
    unit = ctx.unit_column
    pairs = [(f, d) for f in families for d in params.dimensions]
    if not pairs:
        empty = pd.DataFrame(columns=PERSONA_COLUMNS)
        return PersonaRelease(
            personas=empty,
            recommendations=pd.DataFrame(columns=RECOMMENDATION_COLUMNS),
            records=(),
        )
    n_private = sum(1 for _, d in pairs if d not in params.domains)
    zcdp = isinstance(loss, ZcdpLoss)
    if zcdp and n_private:
        private = sorted({d for _, d in pairs if d not in params.domains})
        raise PolicyError(
            f"personas under zcdp need a public value list for every dimension; {private} "
            "would select values privately",
            hint="add segmentation.tag_domains for them, or keep personas pure_dp",
        )
    rho_each = loss.rho / len(pairs) if isinstance(loss, ZcdpLoss) else 0.0
    eps_each = loss.epsilon / len(pairs) if isinstance(loss, PrivacyLoss) else 0.0
    delta_each = ctx.delta / n_private if n_private else 0.0
    frames: list[pd.DataFrame] = []
    records: list[MechanismRecord] = []
    long = _LongFrames(_features_frame(features, families, params, unit), categories, unit)
    for fam, dim in pairs:
        kept = _kept_pairs(fam, dim, unit)
        df: pd.DataFrame | UnitRows = kept if kept is not None else long.pairs(fam, dim)
        multi = dim == "top_categories"
        punit = PrivacyUnit(
            column=unit,
            max_groups_contributed=params.max_categories_per_user if multi else 1,
            max_rows_per_group=1,
        )
        groups: PublicGroups | PrivateSelection
        part: PrivacyLoss | ZcdpLoss
        if dim in params.domains:
            values = [*params.domains[dim], *([] if multi else [UNKNOWN])]
            groups = PublicGroups(keys=tuple((s.key, v) for s in fam.segments for v in values))
            part = ZcdpLoss(rho=rho_each) if zcdp else PrivacyLoss(epsilon=eps_each)
        else:
            if delta_each <= 0:
                raise PolicyError(
                    f"persona dimension {dim!r} has no public value list and no delta",
                    hint=f"add segmentation.tag_domains.{dim}, or a privacy.delta_per_query",
                )
            groups = PrivateSelection()
            part = PrivacyLoss(epsilon=eps_each, delta=delta_each)
        metrics = [MetricSpec(aggregation=Aggregation.PRIVACY_ID_COUNT)]
        cut = ctx.threshold
        if params.false_release_probability is not None:
            count = plan_budget(unit=punit, metrics=metrics, loss=part, groups=groups).part(
                COUNT_PART
            )
            cut += release_margin(count.mechanism, count.scale, params.false_release_probability)
        res = unit_rows(df).dp_aggregate(
            unit=punit,
            by=["segment", "value"],
            metrics=metrics,
            loss=part,
            ledger=ctx.ledger,
            run_id=ctx.run_id,
            groups=groups,
            threshold=cut,
            rng=ctx.rng,
            label=f"personas/{fam.name}/{dim}",
        )
        records.extend(res.records)
        t = res.table
        labels = {s.key: s.label for s in fam.segments}
        out = pd.DataFrame(
            {
                "family": fam.name,
                "segment": t["segment"].astype(str),
                "label": t["segment"].map(labels),
                "dimension": dim,
                "value": t["value"].astype(str),
                "dp_count": t["privacy_id_count"].astype(np.int64),
                "count_noise_sd": t["privacy_id_count_noise_sd"],
                "count_ci_low": np.maximum(t["privacy_id_count_low"], 0),
                "count_ci_high": t["privacy_id_count_high"],
                "release_threshold": max(cut, res.selection_threshold or 0),
                "epsilon": epsilon_of(loss),
            }
        )
        totals = out.groupby("segment")["dp_count"].transform("sum").clip(lower=1)
        out["dp_share"] = out["dp_count"].clip(lower=0) / totals
        frames.append(out[PERSONA_COLUMNS])
    personas = pd.concat(frames, ignore_index=True)
    rec = personas.loc[personas["dimension"] == "top_categories"]
    rec = rec.sort_values(["family", "segment", "dp_count"], ascending=[True, True, False])
    rec = rec.groupby(["family", "segment"], sort=False).head(params.top_n).copy()
    rec["rank"] = rec.groupby(["family", "segment"], sort=False).cumcount() + 1
    rec = rec.rename(columns={"value": "category"})[RECOMMENDATION_COLUMNS]
    return PersonaRelease(
        personas=personas, recommendations=rec.reset_index(drop=True), records=tuple(records)
    )
