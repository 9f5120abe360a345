"""Generated documentation: the CLI reference and the policy reference.

`python scripts/gen_docs.py` rewrites docs/cli.md, docs/policy-reference.md and
policies/policy.schema.json; tests fail when a committed copy is stale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from privacy_profile.policy.schema import policy_reference_markdown, policy_schema_text

__all__ = ["cli_commands", "cli_reference_markdown", "generated_files"]


def _walk(cmd: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    # typer vendors its own click: use duck typing rather than click's classes.
    out: list[tuple[list[str], Any]] = []
    if hasattr(cmd, "commands"):
        for name in sorted(cmd.commands):
            out.extend(_walk(cmd.commands[name], [*path, name]))
    else:
        out.append((path, cmd))
    return out


def cli_commands() -> list[tuple[list[str], Any]]:
    """Every leaf command of `privacy-profile` with its path of names."""
    from privacy_profile.cli import app

    root = typer.main.get_command(app)
    return _walk(root, [])


def _param_line(p: Any) -> str:
    if p.param_type_name == "argument":
        many = "..." if p.nargs == -1 else ""
        h = (getattr(p, "help", None) or "").strip()
        return f"- `{(p.name or '').upper()}{many}` (argument){': ' + h if h else ''}"
    names = ", ".join(f"`{o}`" for o in p.opts)
    help_text = (p.help or "").strip()
    req = " (required)" if p.required else ""
    default = ""
    if not p.required and p.default is not None and not p.is_flag and p.show_default is not False:
        default = f" [default: {p.default}]"
    return f"- {names}{req}: {help_text}{default}"


def cli_reference_markdown() -> str:
    lines = [
        "# CLI reference",
        "",
        "<!-- Generated from privacy_profile/cli/ by `python scripts/gen_docs.py`;"
        " a test fails when it is stale. Do not edit by hand. -->",
        "",
        "`privacy-profile` is a thin layer over the library: each command calls one library"
        " function. A user error prints one message on stderr and exits with status 1"
        " (2 for a usage error); no traceback.",
        "",
    ]
    for path, cmd in cli_commands():
        name = " ".join(path)
        lines.append(f"## `privacy-profile {name}`")
        lines.append("")
        doc = (cmd.help or "").strip()
        if doc:
            lines.append(doc)
            lines.append("")
        params = [p for p in cmd.params if p.name != "help"]
        if params:
            lines.extend(_param_line(p) for p in params)
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def generated_files(root: Path) -> dict[Path, str]:
    """Each generated file under the repository root and its expected content."""
    return {
        root / "docs" / "cli.md": cli_reference_markdown(),
        root / "docs" / "policy-reference.md": policy_reference_markdown(),
        root / "policies" / "policy.schema.json": policy_schema_text(),
    }
