"""Rule segments: evaluate a parsed rule (see :mod:`privacy_profile.policy.rule_grammar`) on
every row of a feature table, vectorized; missing values compare false.

:func:`evaluate_rule` is row-wise, so on per-unit rows kept by an engine
(:class:`~privacy_profile.segments.units.UnitRows`) it runs batch by batch where the rows are
(:func:`mark_rule`): a membership column for every unit, and the rule's segment key on the
units where it holds."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy_profile.policy.rule_grammar import (
    And,
    Compare,
    Member,
    Not,
    Op,
    RuleNode,
    parse_rule,
    rule_error,
)
from privacy_profile.segments.units import UnitRows

__all__ = [
    "MEMBER_COLUMN",
    "SEGMENT_COLUMN",
    "evaluate_rule",
    "is_member",
    "mark_rule",
    "parse_rule",
    "rule_columns",
    "rule_features",
]

#: The membership column (boolean, every unit) :func:`mark_rule` adds to the per-unit rows.
MEMBER_COLUMN = "_pp_rule_member"
#: The segment column :func:`mark_rule` adds: the rule's name where it holds, else missing.
SEGMENT_COLUMN = "_pp_rule_segment"

BoolArray = npt.NDArray[np.bool_]


def _column(df: pd.DataFrame, feature: str, rule: str) -> pd.Series:
    if feature not in df.columns:
        raise rule_error(rule, f"feature {feature!r} is not in the feature table")
    return df[feature]


def _compare(col: pd.Series, op: Op, value: float | str) -> BoolArray:
    if isinstance(value, float):
        x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            if op is Op.EQ:
                out = x == value
            elif op is Op.NE:
                out = (x != value) & ~np.isnan(x)
            elif op is Op.LT:
                out = x < value
            elif op is Op.LE:
                out = x <= value
            elif op is Op.GT:
                out = x > value
            else:
                out = x >= value
        return np.asarray(out, dtype=bool)
    present: BoolArray = np.asarray(col.notna().to_numpy(), dtype=bool)
    eq: BoolArray = np.asarray((col.astype("string") == value).fillna(False), dtype=bool)
    return eq if op is Op.EQ else present & ~eq


def _member(col: pd.Series, values: Iterable[float | str]) -> BoolArray:
    vals = list(values)
    if vals and isinstance(vals[0], float):
        x = pd.to_numeric(col, errors="coerce")
        return np.asarray(x.isin(vals).to_numpy(), dtype=bool)
    return np.asarray(col.astype("string").isin([str(v) for v in vals]).fillna(False), dtype=bool)


def evaluate_rule(node: RuleNode, features: pd.DataFrame, *, rule: str) -> BoolArray:
    """Evaluate ``node`` on every row of ``features`` (vectorized); missing values compare
    false (``not`` of a comparison on a missing value is true)."""
    if isinstance(node, Compare):
        return _compare(_column(features, node.feature, rule), node.op, node.value)
    if isinstance(node, Member):
        col = _column(features, node.feature, rule)
        hit = _member(col, node.values)
        return (col.notna().to_numpy() & ~hit) if node.negate else hit
    if isinstance(node, Not):
        return ~evaluate_rule(node.operand, features, rule=rule)
    left = evaluate_rule(node.left, features, rule=rule)
    right = evaluate_rule(node.right, features, rule=rule)
    return (left & right) if isinstance(node, And) else (left | right)


def rule_features(node: RuleNode) -> Iterator[str]:
    """The features ``node`` reads, in the order :func:`evaluate_rule` reads them."""
    if isinstance(node, Compare | Member):
        yield node.feature
    elif isinstance(node, Not):
        yield from rule_features(node.operand)
    else:
        yield from rule_features(node.left)
        yield from rule_features(node.right)


def rule_columns(batch: pd.DataFrame, *, node: RuleNode, rule: str) -> pd.DataFrame:
    """Per row of a batch (pure, row-wise): :data:`MEMBER_COLUMN`, whether rule ``rule``
    holds, and :data:`SEGMENT_COLUMN`, its name where it holds (missing elsewhere)."""
    member = evaluate_rule(node, batch, rule=rule)
    segment = np.full(len(member), None, dtype=object)
    segment[member] = rule
    return pd.DataFrame({MEMBER_COLUMN: member, SEGMENT_COLUMN: segment})


def is_member(batch: pd.DataFrame) -> BoolArray:
    """The rows of a batch :func:`mark_rule` marked as members (pure, row-wise)."""
    return np.asarray(batch[MEMBER_COLUMN].to_numpy(dtype=bool, na_value=False), dtype=bool)


def mark_rule(features: UnitRows, node: RuleNode, *, rule: str) -> UnitRows:
    """``features`` with :func:`rule_columns` computed where the rows are. A feature the rule
    reads and the rows lack is refused here, before any batch runs (the error
    :func:`evaluate_rule` gives)."""
    have = set(features.columns)
    for feature in rule_features(node):
        if feature not in have:
            raise rule_error(rule, f"feature {feature!r} is not in the feature table")
    return features.with_columns(
        partial(rule_columns, node=node, rule=rule),
        {MEMBER_COLUMN: "boolean", SEGMENT_COLUMN: "string"},
    )
