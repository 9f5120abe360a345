"""``privacy-profile sanitize``, ``run`` and ``demo``: the pipeline commands, with their
progress bars and run summary."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from privacy_profile.cli._app import call, err, out
from privacy_profile.cli._common import (
    AllowDevKeysOption,
    DevKeysOption,
    InputOption,
    PolicyOption,
    PurposeOption,
    RightsRegisterOption,
    keys_for,
    load_policy,
    row_counts,
    suppression_for,
)

if TYPE_CHECKING:
    from privacy_profile.engine import Release
    from privacy_profile.ingest import KeyRing
    from privacy_profile.lineage.signing import RunLogSigner
    from privacy_profile.policy.loader import LoadedPolicy

__all__ = ["demo_cmd", "run_cmd", "sanitize_cmd"]


def _progress() -> tuple[Progress, Callable[[str, str], None]]:
    from privacy_profile.engine import STAGES

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )
    tasks = {name: progress.add_task(f"{name}", total=1, start=False) for name in STAGES}

    def on_stage(stage: str, status: str) -> None:
        task = tasks.get(stage)
        if task is None:
            return
        if status == "start":
            progress.start_task(task)
        else:
            progress.update(task, completed=1)

    return progress, on_stage


def _summary(release: Release) -> Table:
    table = Table(title=f"run {release.run_id}", show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("value", overflow="fold")
    for t in release.ingest.tables.values():
        excluded = ", ".join(f"{k} {v}" for k, v in sorted(t.excluded.items())) or "-"
        quarantined = ", ".join(f"{k} {v}" for k, v in sorted(t.quarantined.items())) or "-"
        table.add_row(
            f"rows in: {t.table}",
            f"{t.input_rows} = accepted {t.accepted_rows} + excluded {t.excluded_rows} "
            f"+ quarantined {t.quarantined_rows}",
        )
        table.add_row("  excluded", excluded)
        table.add_row("  quarantined", quarantined)
    seg = release.segments
    released = int((~seg["suppressed"]).sum()) if "suppressed" in seg.columns else len(seg)
    table.add_row(
        "segments released", f"{released} (suppressed below threshold: {len(seg) - released})"
    )
    table.add_row("epsilon spent (this run)", f"{release.epsilon_spent:.4g}")
    left = release.budget_remaining
    table.add_row("budget left", f"epsilon {left.epsilon:.4g}, delta {left.delta:.3g}")
    if release.development_keys:
        table.add_row("keys", "DEVELOPMENT keys (demo only)")
    table.add_row("marketing outputs", str(release.run_dir / "marketing"))
    table.add_row("lineage report", str(release.lineage_html or "not rendered (see notes)"))
    if release.report is not None:
        table.add_row("marketer report", str(release.report))
    return table


def _print_summary(release: Release) -> None:
    out.print(_summary(release))
    for note in release.notes:  # unwrapped: each note is one line
        out.print(f"note: {note}", soft_wrap=True)


def sanitize_cmd(
    policy: PolicyOption,
    purpose: PurposeOption,
    input_dir: InputOption,
    out_dir: Annotated[Path, typer.Option("--out", help="Where the Parquet tables are written.")],
    dev_keys: DevKeysOption = False,
    rights_register: RightsRegisterOption = None,
) -> None:
    """Validate, consent-gate, pseudonymize and generalize the inputs; write Parquet atomically."""
    from privacy_profile.ingest import sanitize_to_dir
    from privacy_profile.pii.for_policy import scanner_for

    loaded = load_policy(policy)
    keys = call(lambda: keys_for(loaded, dev_keys))
    suppression = suppression_for(rights_register, loaded)
    res = call(
        lambda: sanitize_to_dir(
            input_dir,
            loaded,
            purpose,
            keys,
            out_dir,
            scanner=scanner_for(loaded.policy),
            suppression=suppression,
        )
    )
    for t in res.result.report.tables.values():
        out.print(row_counts(t))
    out.print(f"wrote {len(res.files)} files to {out_dir}")


def _dry_run(loaded: LoadedPolicy, purpose: str, input_dir: str, keys: KeyRing) -> None:
    """Sanitize and pre-flight only: print the row counts and the verdict; exit 1 on failure."""
    from privacy_profile.engine import dry_run
    from privacy_profile.pii.for_policy import scanner_for

    found = call(
        lambda: dry_run(input_dir, loaded, purpose, keys, scanner=scanner_for(loaded.policy))
    )
    for t in found.ingest.tables.values():
        out.print(
            row_counts(t) + (f"; unknown values {t.unknown_values}" if t.unknown_values else "")
        )
    if found.ok:
        out.print(f"pre-flight passed ({', '.join(found.preflight.checks)}); no budget spent")
        return
    for i in found.preflight.issues:
        err.print(f"pre-flight failed - {i.check}: {i.reason}\n  fix: {i.fix}", markup=False)
    raise typer.Exit(1)


def _signer(signing_key: Path | None) -> RunLogSigner | None:
    """The run-log signer from --signing-key or the environment; a warning when there is none."""
    from privacy_profile.lineage.signing import SIGNING_KEY_ENV, RunLogSigner

    if signing_key is not None or os.environ.get(SIGNING_KEY_ENV):
        return call(lambda: RunLogSigner.from_environment(file=signing_key))
    err.print(
        f"[yellow]warning:[/] no run-log signing key ({SIGNING_KEY_ENV} or --signing-key): "
        "the run log head is not signed, so a rewrite of the log cannot be told apart",
        markup=True,
    )
    return None


def run_cmd(
    policy: PolicyOption,
    purpose: PurposeOption,
    input_dir: InputOption,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Where the run folder is written (not with --dry-run)."),
    ] = None,
    ledger: Annotated[
        Path | None,
        typer.Option(
            "--ledger",
            help="The budget ledger of this dataset: a SQLite file or a "
            "postgresql://user@host:port/db URL, password from PGPASSWORD or ~/.pgpass "
            "(durable; not with --dry-run).",
        ),
    ] = None,
    ledger_lease: Annotated[
        int | None,
        typer.Option(
            "--ledger-lease",
            min=1,
            metavar="SECONDS",
            help="How long the run's budget reservation holds without a renewal, in seconds "
            "(renewed every third of it while the run is alive; a crashed run's reservation "
            "is freed after it) [default: the policy's privacy.ledger_lease_seconds, 300].",
            show_default=False,
        ),
    ] = None,
    dev_keys: DevKeysOption = False,
    allow_dev_keys: AllowDevKeysOption = False,
    signing_key: Annotated[
        Path | None,
        typer.Option(
            "--signing-key",
            help="File (0600) with the run-log signing secret [default: $"
            "PRIVACY_PROFILE_SIGNING_KEY when set; else the run log is not signed].",
        ),
    ] = None,
    rights_register: RightsRegisterOption = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Sanitize and pre-flight only: report whether the run can deliver; no budget "
            "spent, nothing written.",
        ),
    ] = False,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="Where ingestion runs: pandas (this process) or spark (a Spark session).",
        ),
    ] = "pandas",
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master",
            envvar="SPARK_MASTER",
            help="Spark master URL for --engine spark [default: the active session's, or "
            "local[2]]; other settings come from the standard Spark configuration.",
            show_default=False,
        ),
    ] = None,
    spark_staging: Annotated[
        str | None,
        typer.Option(
            "--spark-staging",
            help="For --engine spark: the directory the executors write sanitized partitions "
            "to (a shared path or an hdfs://, s3:// or gs:// URI; needed on a cluster) "
            "[default: spark.privacy_profile.staging, or a private temporary directory with a "
            "local master].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Sanitize, build DP segments and personas, release them through the guard, with lineage.

    Pre-flight runs after sanitize and before any budget is charged: a run that cannot produce
    what the policy asks exits 1 with the reasons and fixes, spending nothing. Lineage events
    are also sent to a lineage server when openlineage-python's standard settings name one
    (OPENLINEAGE_URL, OPENLINEAGE_CONFIG or openlineage.yml); a failed send never fails the run.
    """
    from privacy_profile.dp.policy_ledger import open_ledger
    from privacy_profile.engine import sanitize_then_segment
    from privacy_profile.lineage.transport import sender_from_environment
    from privacy_profile.pii.for_policy import scanner_for
    from privacy_profile.spark.session import ingest_backend

    loaded = load_policy(policy)
    if dry_run:
        _dry_run(loaded, purpose, input_dir, call(lambda: keys_for(loaded, dev_keys)))
        return
    if out_dir is None or ledger is None:
        err.print("[bold red]error:[/] `run` needs --out and --ledger (or --dry-run)", markup=True)
        raise typer.Exit(2)
    target, book_path = out_dir, ledger
    keys = call(lambda: keys_for(loaded, dev_keys, run=True, allow=allow_dev_keys))
    signer = _signer(signing_key)
    sender = call(sender_from_environment)  # OpenLineage settings, when any are configured
    suppression = suppression_for(rights_register, loaded)
    backend = call(lambda: ingest_backend(engine, spark_master, staging=spark_staging))
    progress, on_stage = _progress()
    lease = None if ledger_lease is None else dt.timedelta(seconds=ledger_lease)
    with call(lambda: open_ledger(book_path, loaded.policy, lease=lease)) as book, progress:
        release = call(
            lambda: sanitize_then_segment(
                input_dir,
                loaded,
                purpose,
                keys,
                book,
                target,
                scanner=scanner_for(loaded.policy),
                progress=on_stage,
                lineage_sender=sender,
                signer=signer,
                suppression=suppression,
                backend=backend,
            )
        )
    if signer is not None:
        out.print(f"run log head signed; public key (for auditors): {signer.public_hex()}")
    _print_summary(release)


def demo_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="A new, empty or previous demo folder.")],
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            help="The policy YAML file [default: the packaged example policy wechat_shop].",
            show_default=False,
        ),
    ] = None,
    users: Annotated[int, typer.Option("--users", help="Synthetic users to generate.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic data.")] = 7,
) -> None:
    """Generate a realistic mini-program data set offline and run the whole pipeline on it."""
    from privacy_profile.demo.runner import run_demo
    from privacy_profile.policies import example_policy_path

    policy_file = policy if policy is not None else example_policy_path()
    progress, on_stage = _progress()
    with progress:
        result = call(
            lambda: run_demo(out_dir, policy_file, n_users=users, seed=seed, progress=on_stage)
        )
    out.print(f"generated {sum(result.rows.values())} rows under {result.input_dir}")
    _print_summary(result.release)
    out.print(f"report: {result.release.lineage_html or 'not rendered (see notes)'}")
