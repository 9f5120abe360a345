"""The ``segmentation:`` section of a policy, validated at the YAML boundary.

A frozen pydantic v2 model with ``extra="forbid"``: one spelling per field, enums or Literals,
no data-derived bound anywhere. Everything below the boundary uses the frozen dataclasses of
:mod:`privacy_profile.segments` built from this model.

Each section (``rfm``, ``kmeans``, ``lifecycle``, ``rules``, ``personas``, ``tree``) is one
release (rule segments: one per rule) with its own ``epsilon``; :data:`FAMILY_RELEASES` declares
each family's releases once, :func:`privacy_profile.policy.releases.epsilon_split_issues` checks
the split against the policy's ``privacy`` caps, and the ledger enforces the total budget.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from privacy_profile.errors import PolicyError
from privacy_profile.policy.features import FEATURE_NAMES, NUMERIC_FEATURES, CategoricalFeature
from privacy_profile.policy.releases import ReleaseId, SegmentFamily
from privacy_profile.policy.rule_grammar import parse_rule, rule_features

__all__ = [
    "DEFAULT_DENY_LIST",
    "FAMILY_RELEASES",
    "FEATURE_NAMES",
    "NUMERIC_FEATURES",
    "PERSONA_DIMENSIONS",
    "CategoricalFeature",
    "KMeansFeature",
    "KMeansInit",
    "KMeansSpec",
    "LifecycleSpec",
    "NumericBounds",
    "PersonaFamily",
    "PersonasSpec",
    "RfmSpec",
    "RfmWeights",
    "RuleSegmentSpec",
    "SegmentationSpec",
    "Transform",
    "TreeSpec",
    "denied_term",
]

#: Persona dimensions: the categorical features plus the multi-valued ``top_categories``.
PERSONA_DIMENSIONS: tuple[str, ...] = (
    "age_band",
    "gender",
    "province",
    "channel",
    "spending_band",
    "top_categories",
)

DEFAULT_DENY_LIST: tuple[str, ...] = ("ethnicity", "religion", "health", "disability")

_NAME = r"^[a-z][a-z0-9_]*$"


def denied_term(name: str, deny_list: tuple[str, ...] | list[str]) -> str | None:
    """The deny-list term that ``name`` carries (as a whole word of a ``_.-`` separated
    name, case-insensitive), or None. ``health_status`` carries ``health``."""
    words = set(re.split(r"[^a-z0-9]+", name.lower()))
    lowered = name.lower()
    for term in deny_list:
        t = term.lower()
        if t in words or t == lowered:
            return term
    return None


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NumericBounds(_Frozen):
    """Public bounds [lower, upper]; values are clamped to them. Never taken from the data."""

    lower: float
    upper: float

    @model_validator(mode="after")
    def _order(self) -> NumericBounds:
        if not self.lower < self.upper:
            raise ValueError("`lower` must be below `upper`")
        return self


class RfmWeights(_Frozen):
    """How the RFM release's epsilon is split: the three split quantiles, the class sizes and
    the class means (R, F, M share the ``means`` part equally)."""

    splits: float = Field(default=1.0, gt=0)
    sizes: float = Field(default=1.0, gt=0)
    means: float = Field(default=1.0, gt=0)


class RfmSpec(_Frozen):
    """RFM-8: high/low splits of recency, frequency and monetary at DP quantiles."""

    epsilon: float = Field(gt=0)
    recency_days: NumericBounds
    frequency: NumericBounds
    monetary: NumericBounds
    split_quantile: float = Field(default=0.5, gt=0, lt=1)
    weights: RfmWeights = RfmWeights()


class Transform(StrEnum):
    IDENTITY = "identity"
    LOG1P = "log1p"


class KMeansInit(StrEnum):
    """Initial centroids: ``rfm_classes`` uses the released DP RFM-8 class means and sizes (a
    size-weighted k-means of them; free post-processing; needs the ``rfm`` section and RFM
    features only); ``random`` draws uniform starts inside the scaled bounds."""

    RFM_CLASSES = "rfm_classes"
    RANDOM = "random"


class KMeansMethodName(StrEnum):
    """The DP fit: ``lloyd`` runs our own DP Lloyd iterations through the DP core (noisy
    counts and sums per cluster, charged per iteration; on Spark each iteration is one
    aggregation on the cluster); ``diffprivlib`` runs diffprivlib's KMeans (one start, its own
    iteration count; it needs every point in one process, so it is refused, before any
    charge, when the per-unit rows stay on Spark)."""

    LLOYD = "lloyd"
    DIFFPRIVLIB = "diffprivlib"


class KMeansFeature(_Frozen):
    name: str
    lower: float
    upper: float
    transform: Transform = Transform.IDENTITY

    @model_validator(mode="after")
    def _check(self) -> KMeansFeature:
        if self.name not in NUMERIC_FEATURES:
            raise ValueError(
                f"unknown k-means feature {self.name!r}; use one of {', '.join(NUMERIC_FEATURES)}"
            )
        if not self.lower < self.upper:
            raise ValueError("`lower` must be below `upper`")
        if self.transform is Transform.LOG1P and self.lower <= -1:
            raise ValueError("log1p needs `lower` > -1")
        return self


class KMeansSpec(_Frozen):
    """DP k-means on features scaled to [0, 1] by their public bounds."""

    epsilon: float = Field(gt=0)
    k: int = Field(ge=2, le=20)
    features: list[KMeansFeature] = Field(min_length=1)
    init: KMeansInit = KMeansInit.RANDOM
    method: KMeansMethodName = KMeansMethodName.LLOYD
    iterations: int | None = Field(
        default=None,
        ge=1,
        le=20,
        description="DP Lloyd iterations (method lloyd only); the fit epsilon is split equally "
        "over them, so few iterations with more epsilon each usually do better than many. "
        "Default: 3 with init rfm_classes (a good start), 5 with init random.",
    )

    def lloyd_iterations(self) -> int:
        """The DP Lloyd iteration count: ``iterations``, or the default for ``init``."""
        if self.iterations is not None:
            return self.iterations
        return 3 if self.init is KMeansInit.RFM_CLASSES else 5

    size_share: float = Field(
        default=0.2, gt=0, lt=1, description="Share of epsilon for the DP cluster sizes."
    )

    @field_validator("features")
    @classmethod
    def _unique(cls, v: list[KMeansFeature]) -> list[KMeansFeature]:
        names = [f.name for f in v]
        if len(set(names)) != len(names):
            raise ValueError("each k-means feature may appear once")
        return v


class LifecycleSpec(_Frozen):
    """Lifecycle stages from activity windows, in days before the run date.

    new: first seen within ``new_within_days``; active: last seen within
    ``active_within_days``; returning: active, and no activity in the ``returning_gap_days``
    before the active window while active earlier; dormant: last seen before the active window
    but within ``churned_after_days``; churned: last seen longer ago.
    """

    epsilon: float = Field(gt=0)
    new_within_days: int = Field(ge=1)
    active_within_days: int = Field(ge=1)
    returning_gap_days: int = Field(ge=1)
    churned_after_days: int = Field(ge=1)

    @model_validator(mode="after")
    def _order(self) -> LifecycleSpec:
        if not self.active_within_days < self.churned_after_days:
            raise ValueError("`active_within_days` must be below `churned_after_days`")
        if self.new_within_days > self.churned_after_days:
            raise ValueError("`new_within_days` must not exceed `churned_after_days`")
        return self


class RuleSegmentSpec(_Frozen):
    """A segment written as a safe expression over features (never eval'd)."""

    name: str = Field(pattern=_NAME)
    label_zh: str = Field(min_length=1)
    label_en: str = Field(min_length=1)
    expr: str = Field(min_length=1)

    @model_validator(mode="after")
    def _parse(self) -> RuleSegmentSpec:
        # syntax here; feature names (built-in or custom tags) with the whole section
        parse_rule(self.expr, rule=self.name, tags=None)  # raises PolicyError naming the rule
        return self


class PersonaFamily(StrEnum):
    """A segment family personas can describe (``rule`` stands for every rule segment)."""

    RFM = "rfm"
    KMEANS = "kmeans"
    LIFECYCLE = "lifecycle"
    RULE = "rule"


class PersonasSpec(_Frozen):
    """Per-segment DP distributions of tag dimensions and DP top-N categories."""

    epsilon: float = Field(gt=0)
    dimensions: list[str] = Field(min_length=1)
    families: list[PersonaFamily] | None = Field(
        default=None,
        min_length=1,
        description="The segment families that get personas; the epsilon is split equally over "
        "(family x dimension) pairs, so fewer families means less noise per count. Default: "
        "every family the policy declares.",
    )
    false_release_probability: float | None = Field(
        default=None,
        gt=0,
        le=0.5,
        description="Noise-aware release threshold: a persona value is released only when its "
        "noisy count reaches the aggregation threshold plus a margin, the smallest integer m "
        "with P(noise > m) <= this probability; a value whose true count is below the "
        "threshold (an empty one in particular) is then released with at most this "
        "probability. Default: no margin (the threshold applies to the noisy count as it is).",
    )
    top_n: int = Field(default=5, ge=1, le=50)
    max_categories_per_user: int | None = Field(
        default=None, ge=1, description="Default: the policy's max_groups_contributed."
    )
    spending_bands: list[float] = Field(
        min_length=2, description="Edges of the spending bands on monetary, ascending."
    )

    @field_validator("spending_bands")
    @classmethod
    def _ascending(cls, v: list[float]) -> list[float]:
        if any(b2 <= b1 for b1, b2 in pairwise(v)):
            raise ValueError("spending_bands must be strictly ascending")
        return v

    @field_validator("dimensions")
    @classmethod
    def _unique_dims(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("each persona dimension may appear once")
        return v

    @field_validator("families")
    @classmethod
    def _unique_families(cls, v: list[PersonaFamily] | None) -> list[PersonaFamily] | None:
        if v is not None and len(set(v)) != len(v):
            raise ValueError("each persona family may appear once")
        return v


class TreeSpec(_Frozen):
    """A DP decision tree (diffprivlib) explaining one segment by quasi-identifiers."""

    epsilon: float = Field(gt=0)
    target: str = Field(
        pattern=r"^(rfm|lifecycle|rule|kmeans):[a-z0-9_]+$",
        description="The segment to explain, e.g. rfm:important_value or rule:big_spenders.",
    )
    features: list[str] = Field(
        min_length=1,
        description="Categorical features (age_band, gender, province, channel, spending_band, "
        "top_category) or custom tags (segmentation.tags), each with a value list.",
    )
    max_depth: int = Field(default=3, ge=1, le=6)


class SegmentationSpec(_Frozen):
    """The policy's ``segmentation:`` section."""

    reference_date: Literal["run_date"] = Field(
        default="run_date",
        description="Recency is measured to the run date the caller gives, never to the data.",
    )
    lookback_days: int | None = Field(
        default=None, ge=1, description="Only activity within this many days before the run."
    )
    rfm: RfmSpec | None = None
    kmeans: KMeansSpec | None = None
    lifecycle: LifecycleSpec | None = None
    rules_epsilon: float | None = Field(
        default=None, gt=0, description="Epsilon of each rule segment's release."
    )
    rules: list[RuleSegmentSpec] = Field(default_factory=list)
    personas: PersonasSpec | None = None
    tree: TreeSpec | None = None
    tags: dict[str, str] = Field(
        default_factory=dict,
        description="Custom categorical tags: tag name (lower_snake_case, used in persona "
        "dimensions, tree features and rules) -> a kept or generalized column of the subjects "
        "table (e.g. member_level: 会员等级). Give each a value list in tag_domains, or leave it "
        "out to use private group selection in personas (trees need a value list).",
    )
    tag_domains: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Public value lists of tag dimensions (persona groups released even when "
        "empty; needed by tree features). A persona dimension without one uses private group "
        "selection, which spends delta. spending_band's list comes from personas.spending_bands.",
    )
    tag_deny_list: list[str] = Field(
        default_factory=lambda: list(DEFAULT_DENY_LIST),
        min_length=1,
        description="Tags never used in rules, personas or trees.",
    )

    @model_validator(mode="after")
    def _check(self) -> SegmentationSpec:
        if self.rules and self.rules_epsilon is None:
            raise ValueError("rule segments need `rules_epsilon`")
        names = [r.name for r in self.rules]
        if len(set(names)) != len(names):
            raise ValueError("rule segment names must be unique")
        if self.kmeans is not None and self.kmeans.init is KMeansInit.RFM_CLASSES:
            if self.rfm is None:
                raise ValueError("kmeans.init rfm_classes needs the `rfm` section")
            rfm_names = {"recency_days", "frequency", "monetary"}
            if not {f.name for f in self.kmeans.features} <= rfm_names:
                raise ValueError("kmeans.init rfm_classes works on RFM features only")
        deny = tuple(self.tag_deny_list)
        builtin = set(PERSONA_DIMENSIONS) | set(FEATURE_NAMES)
        for tag, column in self.tags.items():
            if not re.match(_NAME, tag):
                raise ValueError(f"tag name {tag!r} must be lower_snake_case (e.g. member_level)")
            if tag in builtin:
                raise ValueError(f"tag {tag!r} is a built-in feature name: choose another name")
            for name in (tag, column):
                term = denied_term(name, deny)
                if term is not None:
                    raise ValueError(f"tag {tag!r} is a denied tag ({term!r} is on tag_deny_list)")
        dims_known = (*PERSONA_DIMENSIONS, *self.tags)
        if self.personas is not None and self.personas.families is not None:
            for fam in self.personas.families:
                declared = (
                    bool(self.rules)
                    if fam is PersonaFamily.RULE
                    else (getattr(self, fam.value) is not None)
                )
                if not declared:
                    what = "rule segments" if fam is PersonaFamily.RULE else f"the `{fam}` section"
                    raise ValueError(f"personas.families names {fam.value!r}, which needs {what}")
        if self.personas is not None:
            for dim in self.personas.dimensions:
                term = denied_term(dim, deny)
                if term is not None:
                    raise ValueError(
                        f"persona dimension {dim!r} is a denied tag ({term!r} is on "
                        "tag_deny_list): remove it from personas.dimensions"
                    )
                if dim not in dims_known:
                    raise ValueError(
                        f"unknown persona dimension {dim!r}; use some of "
                        f"{', '.join(dims_known)} (declare custom ones under tags)"
                    )
        for dim, values in self.tag_domains.items():
            term = denied_term(dim, deny)
            if term is not None:
                raise ValueError(f"tag_domains names a denied tag {dim!r} ({term!r})")
            if dim not in PERSONA_DIMENSIONS and dim not in FEATURE_NAMES and dim not in self.tags:
                raise ValueError(f"tag_domains: unknown dimension {dim!r}")
            if len(set(values)) != len(values) or not values:
                raise ValueError(f"tag_domains.{dim} must list distinct values")
        for r in self.rules:
            for feat in rule_features(parse_rule(r.expr, rule=r.name, tags=set(self.tags))):
                term = denied_term(feat, deny)
                if term is not None:
                    raise ValueError(f"rule {r.name!r} reads a denied tag {feat!r} ({term!r})")
        if self.tree is not None:
            categorical = {c.value for c in CategoricalFeature} | set(self.tags)
            if len(set(self.tree.features)) != len(self.tree.features):
                raise ValueError("each tree feature may appear once")
            for feat in self.tree.features:
                if feat not in categorical:
                    known = ", ".join(sorted(categorical))
                    raise ValueError(f"unknown tree feature {feat!r}; use some of {known}")
                if feat not in self.tag_domains and feat not in (
                    CategoricalFeature.SPENDING_BAND,
                    CategoricalFeature.TOP_CATEGORY,
                ):
                    raise ValueError(f"tree feature {feat!r} needs a value list in tag_domains")
                if feat == CategoricalFeature.TOP_CATEGORY and not (
                    {"top_category", "top_categories"} & set(self.tag_domains)
                ):
                    raise ValueError("tree feature 'top_category' needs tag_domains.top_categories")
            kind, _, name = self.tree.target.partition(":")
            if kind == "rule" and name not in names:
                raise ValueError(f"tree.target names rule {name!r}, which is not declared")
            if kind != "rule" and getattr(self, kind) is None:
                raise ValueError(f"tree.target needs the `{kind}` section")
        return self

    def releases(self) -> dict[ReleaseId, float]:
        """Each release and its epsilon share, in the order they run (see
        :data:`FAMILY_RELEASES`)."""
        out: dict[ReleaseId, float] = {}
        for releases_of in FAMILY_RELEASES.values():
            out.update(releases_of(self))
        return out


def _single(family: SegmentFamily) -> Callable[[SegmentationSpec], dict[ReleaseId, float]]:
    def releases(spec: SegmentationSpec) -> dict[ReleaseId, float]:
        section = getattr(spec, family.value)
        return {} if section is None else {ReleaseId(family): float(section.epsilon)}

    return releases


def _rule_releases(spec: SegmentationSpec) -> dict[ReleaseId, float]:
    if not spec.rules:
        return {}
    if spec.rules_epsilon is None:  # the model validator refuses this; keep the check real
        raise PolicyError("rule segments need `segmentation.rules_epsilon`")
    return {ReleaseId(SegmentFamily.RULE, r.name): spec.rules_epsilon for r in spec.rules}


def _no_releases(spec: SegmentationSpec) -> dict[ReleaseId, float]:
    return {}


#: Each family's releases and their epsilon shares, declared once, in release order.
#: ``recommendations`` are post-processing of the ``personas`` release.
FAMILY_RELEASES: Mapping[SegmentFamily, Callable[[SegmentationSpec], dict[ReleaseId, float]]] = (
    MappingProxyType(
        {
            SegmentFamily.RFM: _single(SegmentFamily.RFM),
            SegmentFamily.KMEANS: _single(SegmentFamily.KMEANS),
            SegmentFamily.LIFECYCLE: _single(SegmentFamily.LIFECYCLE),
            SegmentFamily.RULE: _rule_releases,
            SegmentFamily.PERSONAS: _single(SegmentFamily.PERSONAS),
            SegmentFamily.RECOMMENDATIONS: _no_releases,
            SegmentFamily.TREE: _single(SegmentFamily.TREE),
        }
    )
)
