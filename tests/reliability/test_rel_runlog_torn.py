"""Issue 14 item 10: a torn last run-log line (crash mid-append) no longer blocks later runs;
the next append seals it as a recorded repair (digest of the torn bytes), never silently."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
from _rel_helpers import SmallShop, run_once
from typer.testing import CliRunner

from privacy_profile.cli import app
from privacy_profile.errors import AuditError
from privacy_profile.lineage.runlog import REPAIR_KIND, RunLog, verify_chain

runner = CliRunner()


def test_append_after_a_torn_line_records_a_repair(tmp_path: Path) -> None:
    log = RunLog(tmp_path / "runlog.jsonl")
    log.append("r1", "note", {"n": 1})
    torn = b'{"seq":1,"time":"2026-11-30T00:00:00+00:00","run_id":"r1","ki'
    with log.path.open("ab") as f:
        f.write(torn)
    rec = log.append("r2", "note", {"n": 2})
    records = verify_chain(log.path)
    assert [r.kind for r in records] == ["note", REPAIR_KIND, "note"]
    repair = records[1]
    assert repair.payload["torn_sha256"] == "sha256:" + hashlib.sha256(torn).hexdigest()
    assert repair.payload["torn_bytes"] == len(torn)
    side = tmp_path / str(repair.payload["saved_as"])
    assert side.read_bytes() == torn
    assert stat.S_IMODE(side.stat().st_mode) == 0o600
    assert rec.seq == 2 and rec.prev_hash == repair.hash


def test_a_complete_but_invalid_last_line_still_refuses(tmp_path: Path) -> None:

    log = RunLog(tmp_path / "runlog.jsonl")
    log.append("r1", "note", {"n": 1})
    with log.path.open("ab") as f:
        f.write(b"not json\n")  # a whole line: tampering, not a torn write
    with pytest.raises(AuditError, match="not valid"):
        log.append("r2", "note", {})


def test_later_run_succeeds_and_audit_reports_the_repair(
    small_shop: SmallShop, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = run_once(small_shop, small_shop.input_dir, out)
    with first.run_log.open("ab") as f:
        f.write(b'{"seq": 99, "kind": "outp')  # kill -9 in the middle of an append
    second = run_once(small_shop, small_shop.input_dir, out)
    result = runner.invoke(
        app,
        ["audit", "verify", str(second.run_dir), "--ledger", str(out / "ledger.sqlite")],
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert "REPAIR" in result.stdout and "torn last line" in result.stdout
