"""Issue 14 item 5: tampering that `audit verify` used to call OK is now an error: an extra file
in the run folder, events swapped between runs, a copied-and-edited run folder checked against
the original log, a backdated ledger charge, a raised budget row, edited lineage documents and
charts."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from _rel_helpers import SmallShop, run_once

from privacy_profile.errors import AuditError
from privacy_profile.lineage.audit import verify_run


@dataclass(frozen=True)
class TwoRuns:
    root: Path
    a: str
    b: str


@pytest.fixture(scope="module")
def two_runs(small_shop: SmallShop, tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    root = tmp_path_factory.mktemp("tamper") / "out"
    a = run_once(small_shop, small_shop.input_dir, root)
    b = run_once(small_shop, small_shop.input_dir, root)
    return TwoRuns(root, a.run_id, b.run_id)


def _copy(runs: TwoRuns, tmp_path: Path) -> Path:
    dest = tmp_path / "out"
    shutil.copytree(runs.root, dest)
    return dest


def _verify(root: Path, run_id: str, **kw: object) -> str:
    return verify_run(root / "runs" / run_id, ledger_path=root / "ledger.sqlite", **kw).summary()  # type: ignore[arg-type]


def test_untampered_runs_verify(two_runs: TwoRuns, tmp_path: Path) -> None:
    root = _copy(two_runs, tmp_path)
    assert f"run {two_runs.a}: OK" in _verify(root, two_runs.a)
    assert f"run {two_runs.b}: OK" in _verify(root, two_runs.b)


def _edit_bytes(p: Path) -> None:
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x01
    p.write_bytes(bytes(data))


CASES: dict[str, tuple[Callable[[Path, TwoRuns], None], str]] = {
    "extra file with a phone in marketing": (
        lambda root, r: (root / "runs" / r.a / "marketing" / "extra.csv").write_text(
            "phone,email\n13800138000,li.lei@example.com\n", encoding="utf-8"
        ),
        "does not record",
    ),
    "events of run B in run A's folder": (
        lambda root, r: shutil.copy(
            root / "runs" / r.b / "lineage" / "events.jsonl",
            root / "runs" / r.a / "lineage" / "events.jsonl",
        ),
        "swapped",
    ),
    "edited lineage.html": (
        lambda root, r: (root / "runs" / r.a / "lineage" / "lineage.html").write_text(
            "<html>all fine</html>", encoding="utf-8"
        ),
        "SHA-256",
    ),
    "edited lineage.md": (
        lambda root, r: _edit_bytes(root / "runs" / r.a / "lineage" / "lineage.md"),
        "SHA-256",
    ),
    "edited chart PNG": (
        lambda root, r: _edit_bytes(root / "runs" / r.a / "lineage" / "budget_use.png"),
        "SHA-256",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tampering_is_detected(two_runs: TwoRuns, tmp_path: Path, case: str) -> None:
    root = _copy(two_runs, tmp_path)
    tamper, message = CASES[case]
    tamper(root, two_runs)
    with pytest.raises(AuditError, match=message):
        _verify(root, two_runs.a)


def test_copied_run_folder_is_checked_not_the_original(two_runs: TwoRuns, tmp_path: Path) -> None:
    copy = tmp_path / "copy" / two_runs.a
    shutil.copytree(two_runs.root / "runs" / two_runs.a, copy)
    seg = copy / "marketing" / "segments.csv"
    seg.write_text(seg.read_text("utf-8").replace("rfm", "RFM"), encoding="utf-8")
    with pytest.raises(AuditError, match="SHA-256"):
        verify_run(
            copy,
            run_log_path=two_runs.root / "runs" / "runlog.jsonl",
            ledger_path=two_runs.root / "ledger.sqlite",
        )


def _sql(root: Path, statement: str) -> None:
    conn = sqlite3.connect(root / "ledger.sqlite")
    with conn:
        conn.execute(statement)
    conn.close()


def test_backdated_ledger_charge(two_runs: TwoRuns, tmp_path: Path) -> None:
    root = _copy(two_runs, tmp_path)
    old = "2020-01-01T00:00:00+00:00"
    _sql(root, f"UPDATE charges SET charged_at = '{old}' WHERE run_id = '{two_runs.a}'")
    with pytest.raises(AuditError, match="backdated"):
        _verify(root, two_runs.a)


def test_raised_budget_row(two_runs: TwoRuns, tmp_path: Path) -> None:
    root = _copy(two_runs, tmp_path)
    _sql(root, "UPDATE budgets SET epsilon_units = epsilon_units * 10")
    with pytest.raises(AuditError, match="budget was edited"):
        _verify(root, two_runs.a)


def test_unfinished_run_with_released_files_is_named(two_runs: TwoRuns, tmp_path: Path) -> None:
    """kill -9 after the release stage: START only, marketing files on disk (issue 14 item 4)."""
    root = _copy(two_runs, tmp_path)
    events = root / "runs" / two_runs.a / "lineage" / "events.jsonl"
    events.write_text(events.read_text("utf-8").splitlines()[0] + "\n", encoding="utf-8")
    with pytest.raises(AuditError, match="released output file"):
        _verify(root, two_runs.a)


def test_failed_run_that_charged_reports_its_charges(
    small_shop: SmallShop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after charging: the charges stand and the FAIL event states them; the audit
    checks them against the ledger (OK when they match, an error on a mismatch)."""
    import privacy_profile.stages.release as release_stage

    def boom(*a: object, **k: object) -> object:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(release_stage, "marketing_documents", boom)
    out = tmp_path / "out"
    with pytest.raises(OSError):
        run_once(small_shop, small_shop.input_dir, out)
    run_dir = next(p for p in (out / "runs").iterdir() if p.is_dir())
    report = verify_run(run_dir, ledger_path=out / "ledger.sqlite")
    assert report.event_types == ("START", "FAIL")
    assert report.ledger_charges_checked > 0
    assert report.outputs_checked == ()
    _sql(
        out,
        f"DELETE FROM charges WHERE charge_id = (SELECT MAX(charge_id) FROM charges "
        f"WHERE run_id = '{run_dir.name}')",
    )
    with pytest.raises(AuditError, match="ledger mismatch"):
        verify_run(run_dir, ledger_path=out / "ledger.sqlite")
