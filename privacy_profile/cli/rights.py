"""``privacy-profile rights ...``: individuals' rights requests (access, erasure, correction,
opt-out)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from privacy_profile.cli._app import call, err, out
from privacy_profile.cli._common import DevKeysOption, PolicyOption, keys_for, load_policy

if TYPE_CHECKING:
    from privacy_profile.rights import RightsRequest

__all__ = ["rights_app"]

rights_app = typer.Typer(
    help="Individuals' rights requests: access, erasure, correction, opt-out (docs/rights.md).",
    no_args_is_help=True,
)
RegisterOption = Annotated[
    Path, typer.Option("--register", help="The rights register (SQLite, created with mode 0600).")
]
RunLogOption = Annotated[
    Path,
    typer.Option("--runlog", help="The hash-chained run log the steps are appended to."),
]


def _subject_id(value: str) -> str:
    """``-`` reads the raw id from stdin (keeps it out of the shell history)."""
    return sys.stdin.readline().rstrip("\n") if value == "-" else value


def _corrections(values: list[str]) -> dict[str, str]:
    fixes: dict[str, str] = {}
    for v in values:
        key, sep, value = v.partition("=")
        if not sep:
            err.print(f"[bold red]error:[/] --set {v!r}: expected TABLE.COLUMN=VALUE", markup=True)
            raise typer.Exit(2)
        fixes[key.strip()] = value
    return fixes


@rights_app.command("submit")
def rights_submit(
    kind: Annotated[str, typer.Argument(help="access, erase, correct or opt-out.")],
    subject_id: Annotated[
        str,
        typer.Option("--subject-id", help="The subject's raw id ('-' reads it from stdin)."),
    ],
    policy: PolicyOption,
    register: RegisterOption,
    runlog: RunLogOption,
    purpose: Annotated[
        str, typer.Option("--purpose", help="A data use of the policy, or 'all'.")
    ] = "all",
    scope: Annotated[
        str | None,
        typer.Option("--scope", help="opt-out only: activation (default) or profiling."),
    ] = None,
    set_values: Annotated[
        list[str] | None,
        typer.Option("--set", help="correct only: TABLE.COLUMN=VALUE (repeatable)."),
    ] = None,
    dev_keys: DevKeysOption = False,
) -> None:
    """Record a request (received now, due after rights.deadline_days); the raw id is not stored."""
    from privacy_profile.lineage.runlog import RunLog
    from privacy_profile.rights import RightsRegister

    loaded = load_policy(policy)
    keys = call(lambda: keys_for(loaded, dev_keys))
    raw = _subject_id(subject_id)
    fixes = _corrections(set_values or [])

    def submit() -> RightsRequest:
        with RightsRegister(register, loaded.policy, run_log=RunLog(runlog)) as reg:
            return reg.submit(
                kind, raw, keys, purpose=purpose, scope=scope, corrections=fixes or None
            )

    req = call(submit)
    out.print(f"request {req.request_id} ({req.kind.value}) received, due {req.due:%Y-%m-%d}")


@rights_app.command("process")
def rights_process(
    request_id: Annotated[str, typer.Argument(help="The request id `rights submit` printed.")],
    policy: PolicyOption,
    register: RegisterOption,
    runlog: RunLogOption,
    store: Annotated[
        list[Path] | None,
        typer.Option("--store", help="A sanitized store (`sanitize --out`); repeatable."),
    ] = None,
    runs: Annotated[
        list[Path] | None,
        typer.Option("--runs", help="A runs folder (out/runs) or run folder; repeatable."),
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option("--export", help="access only: the folder the export is written to."),
    ] = None,
) -> None:
    """Carry out a request (access export, erasure, opt-out, correction) and complete it."""
    from privacy_profile.lineage.runlog import RunLog
    from privacy_profile.rights import Outcome, RightsRegister, process_request

    loaded = load_policy(policy)

    def process() -> Outcome:
        reg = RightsRegister(register, loaded.policy, run_log=RunLog(runlog), create=False)
        with reg:
            return process_request(
                reg, request_id, stores=store or [], runs=runs or [], export_dir=export
            )

    out.print(call(process).describe())


@rights_app.command("status")
def rights_status(
    policy: PolicyOption,
    register: RegisterOption,
    subject_id: Annotated[
        str | None,
        typer.Option(
            "--subject-id", help="Only this subject's requests (keyed look-up; '-' reads stdin)."
        ),
    ] = None,
    dev_keys: DevKeysOption = False,
) -> None:
    """List the requests: overdue first, then open, then completed."""
    from privacy_profile.rights import RightsRegister, format_status

    loaded = load_policy(policy)
    keys = None if subject_id is None else call(lambda: keys_for(loaded, dev_keys))
    raw = None if subject_id is None else _subject_id(subject_id)

    def status() -> str:
        with RightsRegister(register, loaded.policy, create=False) as reg:
            if raw is None or keys is None:
                return format_status(reg.requests(), reg.now())
            return format_status(reg.find(raw, keys), reg.now())

    out.print(call(status))
