"""The `privacy-profile` command line: a thin layer over the library.

Each command calls one library function. A library error (any PrivacyProfileError) becomes one
clear message on stderr and exit code 1 (2 for usage errors); never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from privacy_profile.errors import PrivacyProfileError
from privacy_profile.policy.explain import explain_policy
from privacy_profile.policy.loader import LoadedPolicy, load_policy_file

if TYPE_CHECKING:
    from privacy_profile.engine import Release
    from privacy_profile.ingest import KeyRing
    from privacy_profile.rights import RightsRequest, SuppressionList
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


def _version(value: bool) -> None:
    if value:
        from privacy_profile import __version__

        out.print(f"privacy-profile {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Privacy-preserving user profiling: consent-gated ingestion, pseudonymization, PII
    scanning and differentially private segments with auditable lineage."""


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


@policy_app.command("example")
def policy_example(
    name: Annotated[
        str, typer.Argument(help="The example's name, e.g. wechat_shop (see the list below).")
    ],
) -> None:
    """Print a shipped example policy (wechat_shop, wechat_shop_strict, taobao_userbehavior,
    uci_online_retail) to start your own from."""
    from privacy_profile.policies import example_policy_text

    sys.stdout.write(_run(lambda: example_policy_text(name)))


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
    report = _run(
        lambda: verify_run(run_dir, run_log_path=runlog, ledger_path=ledger, scanner=scanner)
    )
    out.print(report.summary())
    if rights_register is not None:
        from privacy_profile.lineage.audit import verify_rights_register

        n = _run(lambda: verify_rights_register(rights_register, report.run_log))
        out.print(f"  rights register {rights_register}: {n} request(s) match the run log")


@lineage_app.command("doc")
def lineage_doc(
    events: Annotated[Path, typer.Argument(help="A run's lineage/events.jsonl.")],
    out_dir: Annotated[Path, typer.Argument(help="Where to write lineage.md, lineage.html.")],
) -> None:
    """Render the human-readable lineage document (Markdown and HTML) from a run's events."""
    from privacy_profile.lineage.report import render_lineage_doc

    md, html = _run(lambda: render_lineage_doc(events, out_dir))
    out.print(f"wrote {md}\nwrote {html}")


# --------------------------------------------------------------------------- pipeline commands


def _keys(loaded: LoadedPolicy, dev_keys: bool) -> KeyRing:
    from privacy_profile.ingest import KeyRing

    if dev_keys:
        err.print(
            "[yellow]warning:[/] using in-memory DEVELOPMENT keys: pseudonyms are not stable "
            "across runs and must not be used in production (the lineage marks them).",
            markup=True,
        )
        return KeyRing.development(loaded.policy)
    return KeyRing.from_policy(loaded.policy, policy_dir=loaded.path.parent)


def _suppression(path: Path | None, loaded: LoadedPolicy) -> SuppressionList | None:
    if path is None:
        return None
    from privacy_profile.rights import load_suppression

    return _run(lambda: load_suppression(path, loaded.policy))


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
    table.add_row("lineage report", str(release.lineage_html))
    return table


def _print_summary(release: Release) -> None:
    out.print(_summary(release))
    for note in release.notes:  # unwrapped: each note is one line
        out.print(f"note: {note}", soft_wrap=True)


PolicyOption = Annotated[Path, typer.Option("--policy", help="The policy YAML file.")]
PurposeOption = Annotated[str, typer.Option("--purpose", help="The run's purpose (a data use).")]
InputOption = Annotated[Path, typer.Option("--input", help="Folder with one file per table.")]
DevKeysOption = Annotated[
    bool, typer.Option("--dev-keys", help="Use in-memory development keys (demo only).")
]
RightsRegisterOption = Annotated[
    Path | None,
    typer.Option(
        "--rights-register",
        help="The rights register: erased and opted-out subjects are suppressed before "
        "anything else, corrections merged (see docs/rights.md).",
    ),
]


@app.command("sanitize")
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

    loaded = _run(lambda: load_policy_file(policy))
    keys = _run(lambda: _keys(loaded, dev_keys))
    suppression = _suppression(rights_register, loaded)
    res = _run(
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
        out.print(
            f"{t.table}: {t.input_rows} in = {t.accepted_rows} accepted + {t.excluded_rows} "
            f"excluded + {t.quarantined_rows} quarantined"
        )
    out.print(f"wrote {len(res.files)} files to {out_dir}")


@app.command("run")
def run_cmd(
    policy: PolicyOption,
    purpose: PurposeOption,
    input_dir: InputOption,
    out_dir: Annotated[Path, typer.Option("--out", help="Where the run folder is written.")],
    ledger: Annotated[
        Path,
        typer.Option(
            "--ledger",
            help="The budget ledger of this dataset: a SQLite file, or a "
            "postgresql://user@host:port/db URL (password from PGPASSWORD or ~/.pgpass).",
        ),
    ],
    dev_keys: DevKeysOption = False,
    rights_register: RightsRegisterOption = None,
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
) -> None:
    """Sanitize, build DP segments and personas, release them through the guard, with lineage.

    Lineage events are also sent to a lineage server when openlineage-python's standard
    settings name one (OPENLINEAGE_URL, OPENLINEAGE_CONFIG or openlineage.yml); a failed send
    never fails the run.
    """
    from privacy_profile.dp.policy_ledger import open_ledger
    from privacy_profile.engine import sanitize_then_segment
    from privacy_profile.lineage.transport import sender_from_environment
    from privacy_profile.pii.for_policy import scanner_for
    from privacy_profile.spark.session import ingest_backend

    loaded = _run(lambda: load_policy_file(policy))
    keys = _run(lambda: _keys(loaded, dev_keys))
    sender = _run(sender_from_environment)  # OpenLineage settings, when any are configured
    suppression = _suppression(rights_register, loaded)
    backend = _run(lambda: ingest_backend(engine, spark_master))
    progress, on_stage = _progress()
    with _run(lambda: open_ledger(ledger, loaded.policy)) as book, progress:
        release = _run(
            lambda: sanitize_then_segment(
                input_dir,
                loaded,
                purpose,
                keys,
                book,
                out_dir,
                scanner=scanner_for(loaded.policy),
                progress=on_stage,
                lineage_sender=sender,
                suppression=suppression,
                backend=backend,
            )
        )
    _print_summary(release)


@app.command("demo")
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
        result = _run(
            lambda: run_demo(out_dir, policy_file, n_users=users, seed=seed, progress=on_stage)
        )
    out.print(f"generated {sum(result.rows.values())} rows under {result.input_dir}")
    _print_summary(result.release)
    out.print(f"report: {result.release.lineage_html}")


@app.command("init")
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

    draft = _run(lambda: init_policy(input_dir, out_file, force=force, scan=scan))
    out.print(draft.summary())
    out.print(f"wrote {out_file}: review every `# review:` comment, then `policy validate` it")


budget_app = typer.Typer(
    help="Inspect the privacy-budget ledger and plan refreshes.", no_args_is_help=True
)
app.add_typer(budget_app, name="budget")


@budget_app.command("show")
def budget_show(
    policy: PolicyOption,
    ledger: Annotated[Path, typer.Option("--ledger", help="The SQLite budget ledger.")],
) -> None:
    """Show the budget spent and left in the current window for the policy's dataset."""
    from privacy_profile.dp.policy_ledger import budget_status

    loaded = _run(lambda: load_policy_file(policy))
    status = _run(lambda: budget_status(ledger, loaded.policy))
    out.print(status)


@budget_app.command("plan")
def budget_plan(
    policy: PolicyOption,
    cadence: Annotated[
        str, typer.Option("--cadence", help="How often segments are refreshed: daily or weekly.")
    ] = "daily",
) -> None:
    """Show how much each refresh may spend so the budget lasts its window, and the expected
    noise of each release, under pure epsilon and under zCDP (nothing is charged)."""
    from privacy_profile.dp.policy_plan import plan_policy_refreshes

    if cadence not in ("daily", "weekly"):
        err.print("[bold red]error:[/] --cadence must be daily or weekly", markup=True)
        raise typer.Exit(2)
    loaded = _run(lambda: load_policy_file(policy))
    plan = _run(lambda: plan_policy_refreshes(loaded.policy, cadence))
    out.print(plan.render(), markup=False)


rights_app = typer.Typer(
    help="Individuals' rights requests: access, erasure, correction, opt-out (docs/rights.md).",
    no_args_is_help=True,
)
app.add_typer(rights_app, name="rights")
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
    out: dict[str, str] = {}
    for v in values:
        key, sep, value = v.partition("=")
        if not sep:
            err.print(f"[bold red]error:[/] --set {v!r}: expected TABLE.COLUMN=VALUE", markup=True)
            raise typer.Exit(2)
        out[key.strip()] = value
    return out


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

    loaded = _run(lambda: load_policy_file(policy))
    keys = _run(lambda: _keys(loaded, dev_keys))
    raw = _subject_id(subject_id)
    fixes = _corrections(set_values or [])

    def submit() -> RightsRequest:
        with RightsRegister(register, loaded.policy, run_log=RunLog(runlog)) as reg:
            return reg.submit(
                kind, raw, keys, purpose=purpose, scope=scope, corrections=fixes or None
            )

    req = _run(submit)
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

    loaded = _run(lambda: load_policy_file(policy))

    def process() -> Outcome:
        reg = RightsRegister(register, loaded.policy, run_log=RunLog(runlog), create=False)
        with reg:
            return process_request(
                reg, request_id, stores=store or [], runs=runs or [], export_dir=export
            )

    out.print(_run(process).describe())


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

    loaded = _run(lambda: load_policy_file(policy))
    keys = None if subject_id is None else _run(lambda: _keys(loaded, dev_keys))
    raw = None if subject_id is None else _subject_id(subject_id)

    def status() -> str:
        with RightsRegister(register, loaded.policy, create=False) as reg:
            if raw is None or keys is None:
                return format_status(reg.requests(), reg.now())
            return format_status(reg.find(raw, keys), reg.now())

    out.print(_run(status))


def main() -> None:
    """Console-script entry point."""
    app()
