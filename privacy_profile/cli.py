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
audit_app = typer.Typer(help="Verify what a run did, for auditors.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
lineage_app = typer.Typer(help="Lineage documents generated from run events.", no_args_is_help=True)
app.add_typer(lineage_app, name="lineage")

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


@audit_app.command("verify")
def audit_verify(
    run_dir: Annotated[Path, typer.Argument(help="The run directory (has lineage/events.jsonl).")],
    runlog: Annotated[
        Path | None,
        typer.Option(
            "--runlog", help="The hash-chained run log [default: RUN_DIR/../runlog.jsonl]."
        ),
    ] = None,
    ledger: Annotated[
        Path | None,
        typer.Option("--ledger", help="The budget ledger (SQLite) the run charged."),
    ] = None,
    pii_scan: Annotated[
        bool, typer.Option("--pii-scan/--no-pii-scan", help="Re-scan the outputs for PII.")
    ] = True,
) -> None:
    """Check a run's hash chain, output hashes, ledger charges and a re-scan of its outputs."""
    from privacy_profile.lineage.audit import verify_run

    scanner = None
    if pii_scan:
        from privacy_profile.pii import PiiScanner

        scanner = PiiScanner().scan_texts
    report = _run(
        lambda: verify_run(run_dir, run_log_path=runlog, ledger_path=ledger, scanner=scanner)
    )
    out.print(report.summary())


@lineage_app.command("doc")
def lineage_doc(
    events: Annotated[Path, typer.Argument(help="A run's lineage/events.jsonl.")],
    out_dir: Annotated[Path, typer.Argument(help="Where to write lineage.md, lineage.html.")],
) -> None:
    """Render the human-readable lineage document (Markdown and HTML) from a run's events."""
    from privacy_profile.lineage.report import render_lineage_doc

    md, html = _run(lambda: render_lineage_doc(events, out_dir))
    out.print(f"wrote {md}\nwrote {html}")


def main() -> None:
    """Console-script entry point."""
    app()
