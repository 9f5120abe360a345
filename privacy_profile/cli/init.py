"""``privacy-profile init``: draft a policy from sample files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from privacy_profile.cli._app import call, out

__all__ = ["init_cmd"]


def init_cmd(
    input_dir: Annotated[
        Path, typer.Option("--input", help="Folder with sample files (CSV, Parquet, JSONL).")
    ],
    out_file: Annotated[
        Path, typer.Option("--out", help="Where the drafted policy is written.")
    ] = Path("policy.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing --out file.")] = (
        False
    ),
    scan: Annotated[
        bool, typer.Option("--scan/--no-scan", help="Run the PII scanner on the samples.")
    ] = True,
) -> None:
    """Draft a policy from sample files: every guess marked `# review:`, no sample values."""
    from privacy_profile.profiling import init_policy

    draft = call(lambda: init_policy(input_dir, out_file, force=force, scan=scan))
    out.print(draft.summary())
    out.print(f"wrote {out_file}: review every `# review:` comment, then `policy validate` it")
