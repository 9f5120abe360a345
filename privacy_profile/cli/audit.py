"""``privacy-profile audit ...`` and ``lineage ...``: verify and document what a run did."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from privacy_profile.cli._app import call, out

__all__ = ["audit_app", "lineage_app"]

audit_app = typer.Typer(help="Verify what a run did, for auditors.", no_args_is_help=True)
lineage_app = typer.Typer(help="Lineage documents generated from run events.", no_args_is_help=True)


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
        typer.Option(
            "--ledger",
            help="The budget ledger the run charged: a SQLite file or a postgresql:// URL.",
        ),
    ] = None,
    pii_scan: Annotated[
        bool, typer.Option("--pii-scan/--no-pii-scan", help="Re-scan the outputs for PII.")
    ] = True,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="The run-log signing public key (64 hex digits or PEM): require a valid "
            "head signature covering the run.",
        ),
    ] = None,
    rights_register: Annotated[
        Path | None,
        typer.Option(
            "--rights-register", help="Also check this rights register against the run log."
        ),
    ] = None,
) -> None:
    """Check a run's hash chain, output hashes, ledger charges and a re-scan of its outputs."""
    from privacy_profile.lineage.audit import verify_run

    scanner = None
    if pii_scan:
        from privacy_profile.pii import PiiScanner

        scanner = PiiScanner().scan_texts
    from privacy_profile.lineage.signing import load_public_key

    pub = call(lambda: load_public_key(public_key)) if public_key is not None else None
    report = call(
        lambda: verify_run(
            run_dir, run_log_path=runlog, ledger_path=ledger, scanner=scanner, public_key=pub
        )
    )
    out.print(report.summary())
    if rights_register is not None:
        from privacy_profile.lineage.audit import verify_rights_register

        n = call(lambda: verify_rights_register(rights_register, report.run_log))
        out.print(f"  rights register {rights_register}: {n} request(s) match the run log")


@lineage_app.command("doc")
def lineage_doc(
    events: Annotated[Path, typer.Argument(help="A run's lineage/events.jsonl.")],
    out_dir: Annotated[Path, typer.Argument(help="Where to write lineage.md, lineage.html.")],
) -> None:
    """Render the human-readable lineage document (Markdown and HTML) from a run's events."""
    from privacy_profile.lineage.report import render_lineage_doc

    md, html = call(lambda: render_lineage_doc(events, out_dir))
    out.print(f"wrote {md}\nwrote {html}")
