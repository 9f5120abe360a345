"""The rule-segment grammar: a small, safe expression language over per-pseudonym features.

    monetary > 500 and province in ["浙江省", "上海市"]
    not (recency_days <= 30) or coupon_rate >= 0.5

Grammar (a tokenizer and a recursive-descent parser; nothing is ever ``eval``'d)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | comparison
    comparison := FEATURE OP literal | FEATURE ["not"] "in" "[" literal ("," literal)* "]"
    OP         := "==" | "!=" | "<" | "<=" | ">" | ">="
    literal    := NUMBER | "double-quoted" | 'single-quoted'

Identifiers are feature names (see :data:`~privacy_profile.policy.features.FEATURE_NAMES`)
or the policy's custom tags (``segmentation.tags``, categorical);
numeric features take numbers and every operator, categorical features take strings with
``==``, ``!=`` and ``in``. A missing feature value makes a comparison false. Every error is a
:class:`~privacy_profile.errors.PolicyError` naming the rule and the position.

Parsing lives with the policy (a rule is validated when the policy loads); evaluation on a
feature table is :func:`privacy_profile.segments.rules.evaluate_rule`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from privacy_profile.errors import PolicyError, PolicyIssue
from privacy_profile.policy.features import NUMERIC_FEATURES, CategoricalFeature

__all__ = [
    "And",
    "Compare",
    "Member",
    "Not",
    "Op",
    "Or",
    "RuleNode",
    "parse_rule",
    "rule_error",
    "rule_features",
]


class Op(StrEnum):
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


@dataclass(frozen=True)
class Compare:
    feature: str
    op: Op
    value: float | str


@dataclass(frozen=True)
class Member:
    feature: str
    values: tuple[float | str, ...]
    negate: bool = False


@dataclass(frozen=True)
class Not:
    operand: RuleNode


@dataclass(frozen=True)
class And:
    left: RuleNode
    right: RuleNode


@dataclass(frozen=True)
class Or:
    left: RuleNode
    right: RuleNode


RuleNode = Compare | Member | Not | And | Or


# --------------------------------------------------------------------------- tokens


class _Kind(StrEnum):
    NUMBER = "number"
    STRING = "string"
    IDENT = "identifier"
    OP = "operator"
    PUNCT = "punctuation"
    END = "end of rule"


@dataclass(frozen=True)
class _Token:
    kind: _Kind
    text: str
    pos: int


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
  | (?P<string>"[^"\\]*"|'[^'\\]*')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<punct>[()\[\],])
    """,
    re.VERBOSE,
)
_GROUP_KIND = {
    "number": _Kind.NUMBER,
    "string": _Kind.STRING,
    "ident": _Kind.IDENT,
    "op": _Kind.OP,
    "punct": _Kind.PUNCT,
}
_KEYWORDS = frozenset({"and", "or", "not", "in"})


def rule_error(rule: str, message: str, hint: str | None = None) -> PolicyError:
    """The PolicyError for a problem in rule ``rule``'s expression."""
    return PolicyError(
        PolicyIssue(
            file="<policy>",
            line=None,
            field=f"segmentation.rules[{rule}].expr",
            message=message,
            hint=hint,
        )
    )


def _tokenize(text: str, rule: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            ch = text[pos]
            hint = "use == for equality" if ch == "=" else 'quote text values: "浙江省"'
            raise rule_error(rule, f"unexpected character {ch!r} at position {pos}", hint)
        kind = m.lastgroup
        if kind != "ws":
            tokens.append(_Token(_GROUP_KIND[str(kind)], m.group(), pos))
        pos = m.end()
    tokens.append(_Token(_Kind.END, "", len(text)))
    return tokens


# --------------------------------------------------------------------------- parser


def _kinds() -> tuple[frozenset[str], frozenset[str]]:
    return frozenset(NUMERIC_FEATURES), frozenset(c.value for c in CategoricalFeature)


class _Parser:
    def __init__(self, text: str, rule: str, tags: frozenset[str] | None) -> None:
        self.rule = rule
        self.tokens = _tokenize(text, rule)
        self.i = 0
        self.numeric, self.categorical = _kinds()
        self.any_name = tags is None
        if tags is not None:
            self.categorical = self.categorical | tags

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind is _Kind.IDENT and tok.text == word

    def expect(self, kind: _Kind, text: str | None = None) -> _Token:
        tok = self.take()
        if tok.kind is not kind or (text is not None and tok.text != text):
            want = repr(text) if text is not None else kind.value
            got = tok.text or tok.kind.value
            raise rule_error(self.rule, f"expected {want} at position {tok.pos}, found {got!r}")
        return tok

    def parse(self) -> RuleNode:
        node = self.or_expr()
        tok = self.peek()
        if tok.kind is not _Kind.END:
            raise rule_error(
                self.rule,
                f"unexpected {tok.text!r} at position {tok.pos}",
                "join conditions with `and` / `or`",
            )
        return node

    def or_expr(self) -> RuleNode:
        node = self.and_expr()
        while self.is_word("or"):
            self.take()
            node = Or(node, self.and_expr())
        return node

    def and_expr(self) -> RuleNode:
        node = self.not_expr()
        while self.is_word("and"):
            self.take()
            node = And(node, self.not_expr())
        return node

    def not_expr(self) -> RuleNode:
        if self.is_word("not"):
            self.take()
            return Not(self.not_expr())
        tok = self.peek()
        if tok.kind is _Kind.PUNCT and tok.text == "(":
            self.take()
            node = self.or_expr()
            self.expect(_Kind.PUNCT, ")")
            return node
        return self.comparison()

    def literal(self) -> float | str:
        tok = self.take()
        if tok.kind is _Kind.NUMBER:
            return float(tok.text)
        if tok.kind is _Kind.STRING:
            return tok.text[1:-1]
        got = tok.text or tok.kind.value
        raise rule_error(
            self.rule,
            f"expected a number or a quoted text at position {tok.pos}, found {got!r}",
            'quote text values: "浙江省"',
        )

    def feature(self) -> tuple[str, bool]:
        tok = self.take()
        if tok.kind is not _Kind.IDENT or tok.text in _KEYWORDS:
            got = tok.text or tok.kind.value
            raise rule_error(
                self.rule, f"expected a feature name at position {tok.pos}, found {got!r}"
            )
        if tok.text in self.numeric:
            return tok.text, True
        if tok.text in self.categorical:
            return tok.text, False
        if self.any_name:  # syntax-only parse: custom tags are checked with the section
            return tok.text, not self._next_is_text()
        known = ", ".join(sorted(self.numeric | self.categorical))
        raise rule_error(
            self.rule, f"unknown feature {tok.text!r} at position {tok.pos}", f"use one of {known}"
        )

    def _next_is_text(self) -> bool:
        """Syntax-only parse: a name compared with quoted text is taken as categorical."""
        j = self.i + (2 if self.i < len(self.tokens) and self.tokens[self.i].text == "not" else 0)
        j += 1  # the operator or `in`
        if j < len(self.tokens) and self.tokens[j].text == "[":
            j += 1
        return j < len(self.tokens) and self.tokens[j].kind is _Kind.STRING

    def check_type(self, name: str, numeric: bool, value: float | str, pos: int) -> None:
        if numeric and not isinstance(value, float):
            raise rule_error(self.rule, f"{name} is numeric: compare it with a number (pos {pos})")
        if not numeric and not isinstance(value, str):
            raise rule_error(
                self.rule, f"{name} is categorical: compare it with quoted text (pos {pos})"
            )

    def comparison(self) -> RuleNode:
        name, numeric = self.feature()
        negate = False
        if self.is_word("not"):
            self.take()
            negate = True
            if not self.is_word("in"):
                raise rule_error(
                    self.rule, f"expected 'in' after 'not' at position {self.peek().pos}"
                )
        if self.is_word("in"):
            self.take()
            self.expect(_Kind.PUNCT, "[")
            values: list[float | str] = []
            while True:
                pos = self.peek().pos
                v = self.literal()
                self.check_type(name, numeric, v, pos)
                values.append(v)
                tok = self.take()
                if tok.kind is _Kind.PUNCT and tok.text == "]":
                    break
                if not (tok.kind is _Kind.PUNCT and tok.text == ","):
                    raise rule_error(self.rule, f"expected ',' or ']' at position {tok.pos}")
            return Member(name, tuple(values), negate)
        tok = self.take()
        if tok.kind is not _Kind.OP:
            got = tok.text or tok.kind.value
            raise rule_error(
                self.rule,
                f"expected a comparison after {name!r} at position {tok.pos}, found {got!r}",
                "use ==, !=, <, <=, >, >= or in [...]",
            )
        op = Op(tok.text)
        pos = self.peek().pos
        value = self.literal()
        self.check_type(name, numeric, value, pos)
        if not numeric and op not in (Op.EQ, Op.NE):
            raise rule_error(self.rule, f"{name} is categorical: use ==, != or in, not {op.value}")
        return Compare(name, op, value)


def parse_rule(
    text: str, *, rule: str, tags: frozenset[str] | set[str] | None = frozenset()
) -> RuleNode:
    """Parse ``text`` into an AST; raise PolicyError naming ``rule`` on any problem.

    ``tags``: the policy's custom categorical tags (``segmentation.tags``), usable besides the
    built-in features; ``None`` parses the syntax only (any name; the section checks names).
    """
    return _Parser(text, rule, None if tags is None else frozenset(tags)).parse()


def rule_features(node: RuleNode) -> set[str]:
    """The feature names a rule reads."""
    if isinstance(node, Compare | Member):
        return {node.feature}
    if isinstance(node, Not):
        return rule_features(node.operand)
    return rule_features(node.left) | rule_features(node.right)
