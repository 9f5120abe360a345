"""What several commands share: the common options and the policy, key and rights-register
loading every pipeline command starts with."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from privacy_profile.cli._app import call, err
from privacy_profile.policy.loader import LoadedPolicy, load_policy_file

if TYPE_CHECKING:
    from privacy_profile.ingest import KeyRing
    from privacy_profile.ingest.report import TableReport
    from privacy_profile.rights import SuppressionList

__all__ = [
    "AllowDevKeysOption",
    "DevKeysOption",
    "InputOption",
    "PolicyOption",
    "PurposeOption",
    "RightsRegisterOption",
    "keys_for",
    "load_policy",
    "row_counts",
    "suppression_for",
]

PolicyOption = Annotated[Path, typer.Option("--policy", help="The policy YAML file.")]
PurposeOption = Annotated[str, typer.Option("--purpose", help="The run's purpose (a data use).")]
# a string, not a Path: Path would turn s3://bucket/x into s3:/bucket/x
InputOption = Annotated[
    str,
    typer.Option(
        "--input",
        help="Folder with one file (or one directory of part files) per table: a local path, "
        "or a URI pyarrow opens "
        "(file://, hdfs://, s3://, gs://; credentials from the file system's own "
        "configuration, never in the URI).",
    ),
]
DevKeysOption = Annotated[
    bool, typer.Option("--dev-keys", help="Use in-memory development keys (demo only).")
]
AllowDevKeysOption = Annotated[
    bool,
    typer.Option(
        "--allow-development-keys-i-know",
        help="Let `run --dev-keys` charge a real ledger (refused without it; marked everywhere).",
    ),
]
RightsRegisterOption = Annotated[
    Path | None,
    typer.Option(
        "--rights-register",
        help="The rights register: erased and opted-out subjects are suppressed before "
        "anything else, corrections merged (see docs/rights.md).",
    ),
]


def load_policy(path: Path) -> LoadedPolicy:
    """Load and validate the policy file; its errors reach the boundary."""
    return call(lambda: load_policy_file(path))


def keys_for(
    loaded: LoadedPolicy, dev_keys: bool, *, run: bool = False, allow: bool = False
) -> KeyRing:
    """The policy's key ring, or development keys (with the warning they always carry)."""
    from privacy_profile.ingest import KeyRing

    if dev_keys and run:
        keys = KeyRing.development_for_run(loaded.policy, acknowledged=allow)
        err.print(
            "[bold red]WARNING: DEVELOPMENT KEYS[/] on a real ledger: this run's budget charges "
            "are real, its pseudonyms and tokens are throwaway; every output and "
            "`audit verify` say so.",
            markup=True,
        )
        return keys
    if dev_keys:
        err.print(
            "[yellow]warning:[/] using in-memory DEVELOPMENT keys: pseudonyms are not stable "
            "across runs and must not be used in production (the lineage marks them).",
            markup=True,
        )
        return KeyRing.development(loaded.policy)
    return KeyRing.from_policy(loaded.policy, policy_dir=loaded.path.parent)


def suppression_for(path: Path | None, loaded: LoadedPolicy) -> SuppressionList | None:
    """The subjects the rights register suppresses, or ``None`` without a register."""
    if path is None:
        return None
    from privacy_profile.rights import load_suppression

    return call(lambda: load_suppression(path, loaded.policy))


def row_counts(t: TableReport) -> str:
    """One table's reconciliation: rows in = accepted + excluded + quarantined."""
    return (
        f"{t.table}: {t.input_rows} in = {t.accepted_rows} accepted + {t.excluded_rows} "
        f"excluded + {t.quarantined_rows} quarantined"
    )
