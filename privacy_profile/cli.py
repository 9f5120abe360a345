"""The `privacy-profile` command line: a thin layer over the library.

Each command calls one library function. A library error (any PrivacyProfileError) becomes one
clear message on stderr and exit code 1 (2 for usage errors); never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from privacy_profile.errors import PrivacyProfileError
from privacy_profile.policy.explain import explain_policy
from privacy_profile.policy.loader import load_policy_file
from privacy_profile.policy.schema import policy_schema_text

__all__ = ["app", "main"]

app = typer.Typer(
    name="privacy-profile",
    help="Privacy-preserving user profiling: consent-gated ingestion, pseudonymization, "
    "PII scanning and differentially private segments with auditable lineage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
policy_app = typer.Typer(help="Validate, explain and describe policy files.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

T = TypeVar("T")


def _run(fn: Callable[[], T]) -> T:
    """Call a library function; turn its errors into one message and exit code 1."""
    try:
        return fn()
    except PrivacyProfileError as e:
        err.print(f"[bold red]error:[/] {e}", markup=True)
        raise typer.Exit(1) from None


@policy_app.command("validate")
def policy_validate(
    files: Annotated[list[Path], typer.Argument(help="Policy YAML files to validate.")],
) -> None:
    """Validate policy files; print every problem with file, line and field."""
    failed = 0
    for f in files:
        try:
            lp = load_policy_file(f)
        except PrivacyProfileError as e:
            failed += 1
            err.print(f"[bold red]invalid[/] {e}", markup=True)
        else:
            out.print(f"[green]valid[/] {f} ({lp.policy.name}, {lp.digest[:19]}...)", markup=True)
    if failed:
        raise typer.Exit(1)


@policy_app.command("explain")
def policy_explain(
    file: Annotated[Path, typer.Argument(help="The policy YAML file.")],
) -> None:
    """Print a plain-language summary a compliance officer can read and sign (Markdown)."""
    lp = _run(lambda: load_policy_file(file))
    sys.stdout.write(explain_policy(lp.policy, digest=lp.digest))


@policy_app.command("schema")
def policy_schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the policy JSON Schema (for editors; committed as policies/policy.schema.json)."""
    text = policy_schema_text()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        out.print(f"wrote {output}")


def main() -> None:
    """Console-script entry point."""
    app()
