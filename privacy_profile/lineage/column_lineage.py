"""Column lineage of a run's releases: which input columns each released column derives from.

Built from what the run used: the feature columns the segment stage read (a
:class:`~privacy_profile.segments.FeatureColumns`), the families the policy enabled and the
features each family used (RFM's three, k-means' declared features, a rule's expression, the
tree's features, the persona dimensions). A released column derives from

- the input columns of the features it aggregates (``mean_monetary`` <- ``orders.amount`` and
  the ``orders.status`` that decides which orders count), as a DP aggregation;
- the privacy unit's column (every DP count counts units), as a DP aggregation;
- for a grouping column (``segment``, ``dimension``, ``value``, ``category``, ``conditions``),
  the inputs of the features that decide the group, as a GROUP_BY;
- for an activation audience's ``token``, the unit's column as a tokenization, filtered by the
  segment's features.

Columns set by the policy alone (``family``, ``epsilon``, ``release_threshold``, bilingual labels
of a fixed class) list the features that decide the row's group, never a data value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from privacy_profile.lineage.facets import ColumnLineage, SourceField, Transform
from privacy_profile.policy.model import Policy
from privacy_profile.policy.rule_grammar import parse_rule, rule_features
from privacy_profile.policy.segmentation import SegmentationSpec
from privacy_profile.segments import FeatureColumns

__all__ = ["FEATURE_INPUTS", "InputColumn", "ReleaseLineage", "family_features"]

# Each feature's inputs: ("orders" | "events", role attribute) or ("users", attribute).
FEATURE_INPUTS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "recency_days": (("orders", "ordered_at"), ("orders", "status")),
    "frequency": (("orders", "order_id"), ("orders", "status")),
    "monetary": (("orders", "amount"), ("orders", "status")),
    "avg_order_value": (("orders", "amount"), ("orders", "order_id"), ("orders", "status")),
    "coupon_rate": (("orders", "coupon_used"), ("orders", "status")),
    "price_sensitivity": (("orders", "coupon_used"), ("orders", "amount"), ("orders", "status")),
    "tenure_days": (("users", "registered_at"), ("orders", "ordered_at"), ("events", "ts")),
    "active_days": (("orders", "ordered_at"), ("events", "ts")),
    "events": (("events", "event_type"),),
    "cart_events": (("events", "event_type"),),
    "fav_events": (("events", "event_type"),),
    "view_events": (("events", "event_type"),),
    "purchase_events": (("events", "event_type"),),
    "age_band": (("users", "age_band"),),
    "gender": (("users", "gender"),),
    "province": (("users", "province"),),
    "channel": (("users", "channel"),),
    "spending_band": (("orders", "amount"), ("orders", "status")),
    "top_category": (("events", "category"), ("orders", "category")),
    "top_categories": (("events", "category"), ("orders", "category")),
}
"""The input roles each per-unit feature is computed from (see ``segments/features.py``);
a policy's custom tags are their own subjects column."""

_LIFECYCLE = ("tenure_days", "active_days", "recency_days")
_GROUPING = {"segment", "label", "label_zh", "label_en", "suppressed", "family", "tree_label"}


@dataclass(frozen=True, order=True)
class InputColumn:
    """An input column by its dataset identity."""

    namespace: str
    name: str
    field: str


def family_features(spec: SegmentationSpec) -> dict[str, tuple[str, ...]]:
    """The features each enabled family's grouping depends on."""
    out: dict[str, tuple[str, ...]] = {}
    if spec.rfm is not None:
        out["rfm"] = ("recency_days", "frequency", "monetary")
    if spec.kmeans is not None:
        out["kmeans"] = tuple(f.name for f in spec.kmeans.features)
    if spec.lifecycle is not None:
        out["lifecycle"] = _LIFECYCLE
    if spec.rules:
        feats: list[str] = []
        for r in spec.rules:
            feats += sorted(rule_features(parse_rule(r.expr, rule=r.name, tags=set(spec.tags))))
        out["rule"] = tuple(dict.fromkeys(feats))
    if spec.tree is not None:
        out["tree"] = tuple(str(f) for f in spec.tree.features)
    return out


class ReleaseLineage:
    """Column lineage for the released tables and audiences of one run.

    ``locate(table)`` gives the (namespace, name) of the policy table's input dataset.
    """

    def __init__(
        self,
        policy: Policy,
        columns: FeatureColumns,
        locate: Mapping[str, tuple[str, str]],
    ) -> None:
        if policy.segmentation is None:
            raise ValueError("column lineage needs a segmentation section")
        self.spec = policy.segmentation
        self._policy = policy
        self._columns = columns
        self._locate = locate
        unit_table, _, unit = policy.privacy.privacy_unit_column.partition(".")
        self.unit = self._input(unit_table, unit)
        self.families = family_features(self.spec)

    # -- inputs -------------------------------------------------------------------------------
    def _input(self, table: str, column: str) -> InputColumn | None:
        spec = self._policy.tables.get(table)
        where = self._locate.get(table)
        if spec is None or where is None or column not in spec.columns:
            return None  # not an input column of this policy (e.g. no coupon column)
        return InputColumn(where[0], where[1], column)

    def _role(self, source: str, attr: str) -> tuple[str, str] | None:
        c = self._columns
        if source == "users":
            column = getattr(c, attr)
            return (c.users, column) if c.users and column else None
        role = c.orders if source == "orders" else c.events
        if role is None:
            return None
        column = getattr(role, attr)
        return (role.table, column) if column else None

    def feature_inputs(self, feature: str) -> tuple[InputColumn, ...]:
        """The input columns of one feature (those this policy declares), sorted."""
        roles = [self._role(src, attr) for src, attr in FEATURE_INPUTS.get(feature, ())]
        users = self._columns.users
        if users is not None:
            roles += [(users, col) for col, tag in self._columns.tags if tag == feature]
        found = {
            col
            for where in roles
            if where is not None
            for col in [self._input(where[0], where[1])]
            if col is not None
        }
        return tuple(sorted(found))

    def _features_inputs(self, features: Iterable[str]) -> tuple[InputColumn, ...]:
        found: set[InputColumn] = set()
        for f in features:
            found.update(self.feature_inputs(f))
        return tuple(sorted(found))

    def _family_inputs(self, families: Iterable[str]) -> tuple[InputColumn, ...]:
        feats: list[str] = []
        for fam in families:
            feats += self.families.get(fam, ())
        return self._features_inputs(feats)

    # -- outputs ------------------------------------------------------------------------------
    def _entry(
        self,
        output: str,
        field: str,
        groups: Sequence[InputColumn],
        aggregates: Sequence[InputColumn] = (),
        *,
        with_unit: bool = False,
    ) -> ColumnLineage | None:
        sources: dict[tuple[InputColumn, Transform], None] = {}
        if with_unit and self.unit is not None:
            sources[(self.unit, Transform.DP_AGGREGATE)] = None
        for c in aggregates:
            sources[(c, Transform.DP_AGGREGATE)] = None
        for c in groups:
            sources[(c, Transform.GROUP_BY)] = None
        if not sources:
            return None
        return ColumnLineage(
            output=output,
            field=field,
            sources=tuple(
                SourceField(namespace=c.namespace, name=c.name, field=c.field, transform=t)
                for c, t in sources
            ),
        )

    def table(
        self, kind: str, output: str, fields: Sequence[str], families: Iterable[str]
    ) -> list[ColumnLineage]:
        """Column lineage of one released table (``segments``, ``personas``,
        ``recommendations``, ``tree_rules``) whose rows belong to ``families``."""
        fams = sorted(set(families))
        group_in = self._family_inputs(fams)
        out: list[ColumnLineage] = []
        for field in fields:
            entry = self._field(kind, output, field, group_in)
            if entry is not None:
                out.append(entry)
        return out

    def _field(
        self, kind: str, output: str, field: str, group_in: Sequence[InputColumn]
    ) -> ColumnLineage | None:
        if field in _GROUPING or field == "rule":
            return self._entry(output, field, group_in)
        if kind == "personas" and field in ("dimension", "value"):
            dims = self.spec.personas.dimensions if self.spec.personas else []
            return self._entry(output, field, [*self._features_inputs(dims), *group_in])
        if kind == "recommendations" and field in ("category", "rank"):
            return self._entry(
                output, field, [*self.feature_inputs("top_categories"), *group_in], with_unit=True
            )
        if kind == "tree_rules" and field == "conditions":
            return self._entry(output, field, self._family_inputs(["tree"]))
        if field in ("epsilon", "release_threshold"):
            return None  # set by the policy: no input column
        feature = _feature_of(field)
        if feature is not None:  # mean_/split_/centroid_ of a feature
            return self._entry(
                output, field, group_in, self.feature_inputs(feature), with_unit=True
            )
        # counts, shares, intervals and lifts: DP counts of units within the group
        return self._entry(output, field, group_in, with_unit=True)

    def audience(self, output: str, family: str) -> list[ColumnLineage]:
        """An activation audience file: the unit's tokens, filtered by the segment's features."""
        if self.unit is None:
            return []
        sources = [
            SourceField(
                namespace=self.unit.namespace,
                name=self.unit.name,
                field=self.unit.field,
                transform=Transform.TOKENIZE,
            ),
            *(
                SourceField(
                    namespace=c.namespace, name=c.name, field=c.field, transform=Transform.FILTER
                )
                for c in self._family_inputs([family])
            ),
        ]
        return [ColumnLineage(output=output, field="token", sources=tuple(sources))]


def _feature_of(field: str) -> str | None:
    for prefix in ("mean_", "split_", "centroid_"):
        if field.startswith(prefix):
            rest = field.removeprefix(prefix)
            for suffix in ("_ci_low", "_ci_high"):
                rest = rest.removesuffix(suffix)
            return rest if rest in FEATURE_INPUTS else None
    return None
