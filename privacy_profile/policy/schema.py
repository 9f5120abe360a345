"""The policy's JSON Schema (for editors) and its Markdown reference (docs/policy-reference.md)."""

from __future__ import annotations

import json
from typing import Any

from privacy_profile.policy.model import Policy
from privacy_profile.policy.treatments import _SHORTHAND

__all__ = ["policy_json_schema", "policy_reference_markdown", "policy_schema_text"]

SCHEMA_ID = "https://privacy-profile.dev/schemas/policy-v1.json"


def policy_json_schema() -> dict[str, Any]:
    """The JSON Schema of a policy file (draft 2020-12)."""
    schema = Policy.model_json_schema(mode="validation")
    # The parameter-free treatments may be written as a bare word (see treatments._SHORTHAND).
    treatment = schema["$defs"]["Column"]["properties"]["treatment"]
    key = "oneOf" if "oneOf" in treatment else "anyOf"
    treatment[key] = [*treatment[key], {"enum": sorted(_SHORTHAND)}]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    return schema


def policy_schema_text() -> str:
    """The schema as committed in policies/policy.schema.json (stable formatting)."""
    return json.dumps(policy_json_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def _type_of(prop: dict[str, Any] | bool) -> str:
    if isinstance(prop, bool):
        return "any"
    if "$ref" in prop:
        return "`" + str(prop["$ref"]).rsplit("/", 1)[-1] + "`"
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    if "anyOf" in prop:
        return " or ".join(_type_of(p) for p in prop["anyOf"])
    if "oneOf" in prop:
        return " or ".join(_type_of(p) for p in prop["oneOf"])
    t = prop.get("type")
    if t == "array":
        return f"list of {_type_of(prop.get('items', {}))}"
    if t == "object" and "additionalProperties" in prop:
        return f"mapping name -> {_type_of(prop['additionalProperties'])}"
    return str(t) if t else "any"


def _constraints(prop: dict[str, Any]) -> str:
    keys = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "minLength", "pattern")
    parts = [f"{k}={prop[k]}" for k in keys if k in prop]
    return ", ".join(parts)


def policy_reference_markdown() -> str:
    """Markdown reference of every section and field, generated from the models."""
    schema = policy_json_schema()
    defs: dict[str, Any] = schema.get("$defs", {})
    out = [
        "# Policy reference",
        "",
        "<!-- Generated from privacy_profile/policy/model.py by `python scripts/gen_docs.py`;"
        " a test fails when it is stale. Do not edit by hand. -->",
        "",
        "A policy is one YAML file. Every section is a mapping with a fixed set of fields:"
        " an unknown or misspelt field is an error naming its line. The JSON Schema for editors"
        " is `policies/policy.schema.json` (also `privacy-profile policy schema`).",
        "",
        "Treatments are written as a mapping with an `action` (and, for `generalize`, a"
        " `method`); the parameter-free treatments `keep`, `drop`, `tokenize` and `scan` may"
        " also be written as a bare word.",
        "",
    ]

    def section(title: str, node: dict[str, Any]) -> None:
        out.append(f"## `{title}`")
        out.append("")
        desc = (node.get("description") or "").strip()
        if desc:
            out.append(desc)
            out.append("")
        props: dict[str, Any] = node.get("properties", {})
        required = set(node.get("required", []))
        if props:
            out.append("| field | type | required | default | description |")
            out.append("|---|---|---|---|---|")
            for name, prop in props.items():
                default = (
                    json.dumps(prop["default"], ensure_ascii=False) if "default" in prop else ""
                )
                cons = _constraints(prop)
                d = (prop.get("description") or "").replace("|", "\\|").replace("\n", " ")
                if cons:
                    d = f"{d} ({cons})" if d else f"({cons})"
                req = "yes" if name in required else ""
                out.append(f"| `{name}` | {_type_of(prop)} | {req} | {default} | {d} |")
            out.append("")
        elif "enum" in node:
            out.append("Values: " + ", ".join(f"`{v}`" for v in node["enum"]))
            out.append("")

    section("Policy (top level)", schema)
    for name in sorted(defs):
        section(name, defs[name])
    return "\n".join(out).rstrip() + "\n"
