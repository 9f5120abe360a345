"""Rule segments: evaluate a parsed rule (see :mod:`privacy_profile.policy.rule_grammar`) on
every row of a feature table, vectorized; missing values compare false."""

from __future__ import annotations

from collections.abc import Iterable

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

__all__ = ["evaluate_rule", "parse_rule"]

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
