"""Load policy YAML files, keeping line numbers for every error.

``load_policy(path)`` parses with ruamel.yaml (safe, round-trip nodes keep their line
numbers), validates types with pydantic and the semantic rules of
:mod:`privacy_profile.policy.rules`, and raises one :class:`PolicyError` listing every problem
with its file, line and field.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from privacy_profile.errors import PolicyError, PolicyIssue
from privacy_profile.policy.model import Policy
from privacy_profile.policy.rules import check_policy

__all__ = ["LoadedPolicy", "load_policy", "load_policy_file", "policy_digest"]


@dataclass(frozen=True)
class LoadedPolicy:
    """A validated policy with where it came from and the digest lineage records."""

    policy: Policy
    path: Path
    digest: str  # sha256 of the file's bytes


def policy_digest(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _plain(node: Any) -> Any:
    """ruamel nodes -> plain Python (dict, list, scalars)."""
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, str) else k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if hasattr(node, "__float__") and type(node).__name__ == "ScalarFloat":
        return float(node)
    if type(node).__name__ in ("ScalarInt",):
        return int(node)
    if type(node).__name__ in ("ScalarBoolean",):
        return bool(node)
    if isinstance(node, str):
        return str(node)
    return node


def _line_of(doc: Any, path: tuple[str | int, ...]) -> int | None:
    """The 1-based line of the deepest node of ``path`` present in ``doc``."""
    node = doc
    line: int | None = None
    for part in path:
        if isinstance(node, CommentedMap) and part in node:
            pos = node.lc.key(part)
            line = pos[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            pos = node.lc.item(part)
            line = pos[0] + 1
            node = node[part]
        else:
            # pydantic adds union tags and model names to locations; skip what is not a node.
            continue
    if line is None and isinstance(doc, CommentedMap):
        line = int(doc.lc.line) + 1  # a missing top-level field: the document's first key
    return line


def _locate(doc: Any, issue: PolicyIssue, file: str) -> PolicyIssue:
    """An issue raised without a location ("<policy>"): give it the file and the line."""
    if issue.file != "<policy>":
        return issue
    path: tuple[str | int, ...] = tuple(p for p in issue.field.split(".") if p)
    if issue.field.startswith("segmentation.rules"):
        idx = _failing_rule(doc)
        if idx is not None:
            path = ("segmentation", "rules", idx, "expr")
    line = _line_of(doc, path)
    field = _field_name(path) if line is not None else issue.field
    return PolicyIssue(file, line, field, issue.message, issue.hint)


def _failing_rule(doc: Any) -> int | None:
    """The index of the first segmentation rule whose expression does not parse."""
    from privacy_profile.policy.rule_grammar import parse_rule

    seg = doc.get("segmentation") if isinstance(doc, CommentedMap) else None
    rules = seg.get("rules") if isinstance(seg, CommentedMap) else None
    if not isinstance(rules, CommentedSeq):
        return None
    for i, rule in enumerate(rules):
        if not isinstance(rule, CommentedMap):
            continue
        try:
            parse_rule(str(rule.get("expr", "")), rule=str(rule.get("name", "")))
        except PolicyError:
            return i
    return None


def _field_name(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "<document>"


def _pydantic_issues(doc: Any, exc: ValidationError, file: str) -> list[PolicyIssue]:
    issues = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        # Keep only the parts that are real document keys for the field name.
        shown = _real_path(doc, loc)
        msg = err["msg"].removeprefix("Value error, ")
        hint = _hint_for(err)
        if err["type"] == "extra_forbidden":
            msg = f"unknown field {loc[-1]!r}"
            hint = "remove it or fix its spelling (see docs/policy-reference.md)"
        elif err["type"] == "missing":
            msg = f"required field {loc[-1]!r} is missing"
            hint = "add it (see docs/policy-reference.md)"
        issues.append(
            PolicyIssue(
                file=file, line=_line_of(doc, loc), field=_field_name(shown), message=msg, hint=hint
            )
        )
    return issues


def _real_path(doc: Any, loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    node = doc
    out: list[str | int] = []
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            out.append(part)
            node = node[part]
        elif part == loc[-1] and isinstance(part, str) and "[" not in part and ":" not in part:
            out.append(part)  # a missing or extra key: name it
    return tuple(out)


def _hint_for(err: Any) -> str | None:
    t = err["type"]
    if t in ("enum", "literal_error"):
        expected = err.get("ctx", {}).get("expected")
        return f"use one of {expected}" if expected else None
    if t.endswith("_parsing") or t.endswith("_type"):
        return "check the value's type (see docs/policy-reference.md)"
    return None


def load_policy_file(path: str | Path) -> LoadedPolicy:
    """Load, validate and return a policy with its digest; raise PolicyError on any problem."""
    p = Path(path)
    file = str(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise PolicyError(
            PolicyIssue(file, None, "", f"cannot read policy file: {e.strerror}", "check the path")
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PolicyError(
            PolicyIssue(file, None, "", f"policy is not UTF-8 (byte {e.start})", "save it as UTF-8")
        ) from None
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        doc = yaml.load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = e.problem or e.context or "invalid YAML"
        raise PolicyError(
            PolicyIssue(
                file, line, "<yaml>", f"YAML syntax error: {problem}", "fix the YAML syntax"
            )
        ) from None
    except Exception as e:  # ruamel raises a few non-marked errors (e.g. duplicate keys)
        raise PolicyError(
            PolicyIssue(file, None, "<yaml>", f"YAML error: {e}", "fix the YAML syntax")
        ) from None
    if not isinstance(doc, CommentedMap):
        raise PolicyError(
            PolicyIssue(file, 1, "<document>", "a policy must be a YAML mapping", "see policies/")
        )
    try:
        policy = Policy.model_validate(_plain(doc))
    except ValidationError as e:
        raise PolicyError(_pydantic_issues(doc, e, file)) from None
    except PolicyError as e:  # raised inside a validator (a rule expression): add file and line
        raise PolicyError([_locate(doc, i, file) for i in e.issues]) from None
    issues = [
        PolicyIssue(file, _line_of(doc, path), _field_name(path), msg, hint)
        for path, msg, hint in check_policy(policy)
    ]
    if issues:
        raise PolicyError(issues)
    return LoadedPolicy(policy=policy, path=p, digest=policy_digest(raw))


def load_policy(path: str | Path) -> Policy:
    """Load and validate a policy file. Raises :class:`PolicyError` naming file, line and field."""
    return load_policy_file(path).policy


def policy_json(policy: Policy) -> str:
    """Canonical JSON of a policy (used for digests of in-memory policies)."""
    return json.dumps(policy.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
