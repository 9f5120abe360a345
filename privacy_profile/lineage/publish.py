"""Publishing a run: its outputs are written into a staging folder and appear with one
rename after the COMPLETE event is durable; a failed run publishes only its failure record
(START and FAIL, with what it charged), and its staged outputs are withdrawn."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

from privacy_profile._io import apply_modes
from privacy_profile._paths import check_output_root
from privacy_profile.dp import BudgetLedger
from privacy_profile.dp.ledger import Reservation
from privacy_profile.errors import InputError
from privacy_profile.lineage.facets import ColumnLineage, DatasetInfo
from privacy_profile.lineage.recorder import LineageRecorder
from privacy_profile.lineage.report import render_lineage_doc
from privacy_profile.policy.enums import OutputAccess

__all__ = [
    "STAGING_PREFIX",
    "as_published",
    "charged_account",
    "fail_unpublished",
    "publish",
    "render_docs",
    "run_folders",
]

STAGING_PREFIX = ".staging-"
"""A run's outputs are written into ``runs/.staging-<run_id>/`` until published."""


def run_folders(out: str | Path, run_id: str) -> tuple[Path, Path]:
    """``(run_dir, staging)`` of a new run under ``out/runs/``; refused when either exists.
    The staging folder is created owner-only (0700) at once: nothing written into it is
    readable by anyone else before :func:`publish` sets the policy's modes."""
    runs_dir = check_output_root(out) / "runs"
    run_dir = runs_dir / run_id
    staging = runs_dir / f"{STAGING_PREFIX}{run_id}"
    for taken in (run_dir, staging):
        if taken.exists():
            raise InputError(
                f"run folder {taken} already exists", hint="give a new run id, or none"
            )
    runs_dir.mkdir(parents=True, exist_ok=True)
    staging.mkdir(mode=0o700)
    return run_dir, staging


def as_published(
    outputs: list[DatasetInfo], lineage: list[ColumnLineage], staging: Path, run_dir: Path
) -> tuple[list[DatasetInfo], list[ColumnLineage]]:
    """Output datasets and column lineage named by where the files will be once published
    (they were measured in the staging folder)."""
    old, new = str(staging.resolve()), str(run_dir.resolve())

    def name(n: str) -> str:
        return new + n[len(old) :] if n.startswith(old) else n

    return (
        [replace(d, name=name(d.name)) for d in outputs],
        [replace(c, output=name(c.output)) for c in lineage],
    )


def _fsync_tree(root: Path) -> None:
    """Flush every file and folder under ``root`` to disk (before the publishing rename)."""
    for folder, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(folder))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(staging: Path, run_dir: Path, access: OutputAccess = OutputAccess.OWNER) -> None:
    """One rename makes the whole run folder appear at once (same file system). Before it,
    every file and folder of the run gets the modes of the policy's ``output_access`` (and so
    do the run log and the ``runs`` folder, which an auditor of the run must read)."""
    apply_modes(staging, file_mode=access.file_mode, dir_mode=access.dir_mode)
    runs_dir = run_dir.parent
    os.chmod(runs_dir, access.dir_mode)
    for shared in (runs_dir / "runlog.jsonl",):
        if shared.is_file():
            os.chmod(shared, access.file_mode)
    _fsync_tree(staging)
    os.rename(staging, run_dir)
    _fsync_dir(run_dir.parent)


def render_docs(
    events: Path, out_dir: Path, run_dir: Path, notes: list[str]
) -> tuple[Path, Path] | None:
    """Render lineage.md / lineage.html after COMPLETE. The release is complete by then: a
    failure to render leaves the documents out (noted) rather than withdrawing the run."""
    try:
        return render_lineage_doc(events, out_dir)
    except OSError as err:
        for p in out_dir.iterdir():
            if p != events:
                p.unlink(missing_ok=True)
        notes.append(
            f"the lineage documents could not be written ({type(err).__name__}); render them "
            f"with `privacy-profile lineage doc {run_dir / 'lineage' / 'events.jsonl'}`"
        )
        return None


def charged_account(
    ledger: BudgetLedger, run_id: str, reservation: Reservation | None
) -> dict[str, object]:
    """What a failed run charged, for its FAIL event: every ledger charge, the totals, and
    what happened to its reservation."""
    charges = ledger.charges_for_run(run_id)
    eps = sum(c.epsilon for c in charges)
    delta = sum(c.delta for c in charges)
    rho = sum(c.rho for c in charges)  # zCDP charges (converted with the window's rho)
    if reservation is None:
        held = "no budget was reserved"
    else:
        left = max(reservation.loss.epsilon - eps, 0.0)
        held = f"the unspent epsilon {left:g} of its reservation of {reservation.loss.epsilon:g} "
        held += "returns to the budget"
    summary = (
        f"nothing was released; the run charged nothing; {held}"
        if not charges
        else f"nothing was released; the run charged epsilon {eps:g}, delta {delta:g}"
        + (f", rho {rho:g}" if rho else "")
        + f" in {len(charges)} ledger charge(s), which stand; {held}"
    )
    return {
        "summary": summary,
        "budget": {"dataset": ledger.dataset},
        "epsilon": eps,
        "delta": delta,
        "dpMechanisms": [
            {
                "label": c.label,
                "mechanism": c.mechanism,
                "epsilon": c.epsilon,
                "delta": c.delta,
                "rho": c.rho,
                "sensitivity": c.sensitivity,
            }
            for c in charges
        ],
    }


def fail_unpublished(
    recorder: LineageRecorder,
    error: BaseException,
    ledger: BudgetLedger,
    run_id: str,
    reservation: Reservation | None,
    staging: Path,
    run_dir: Path,
    access: OutputAccess = OutputAccess.OWNER,
) -> None:
    """Record FAIL with what was charged, withdraw every staged output, and publish the
    failure record alone (``lineage/events.jsonl``: START and FAIL) so it can be audited."""
    recorder.fail(error, charged=charged_account(ledger, run_id, reservation))
    for p in sorted(staging.iterdir()):
        if p.name != "lineage":
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    for p in sorted((staging / "lineage").iterdir()):
        if p != recorder.events_path:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    publish(staging, run_dir, access)
