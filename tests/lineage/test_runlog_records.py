"""The bytes of a run-log record, written by append and by the repair of a torn tail: one
canonical JSON line per record whose hash is the SHA-256 of the record without it, linked to
the previous one; an invalid record before the torn tail refuses the append."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from privacy_profile.errors import AuditError
from privacy_profile.lineage.runlog import GENESIS_HASH, REPAIR_KIND, RunLog

NOW = dt.datetime(2026, 11, 30, 1, 2, 3, tzinfo=dt.UTC)


def _expected_line(seq: int, run_id: str, kind: str, payload: dict[str, object], prev: str) -> str:
    body = {
        "seq": seq,
        "time": NOW.isoformat(),
        "run_id": run_id,
        "kind": kind,
        "payload": payload,
        "prev_hash": prev,
    }
    compact = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    full = {**body, "hash": "sha256:" + hashlib.sha256(compact.encode("utf-8")).hexdigest()}
    return json.dumps(full, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_appended_and_repair_records_are_canonical_hashed_and_linked(tmp_path: Path) -> None:
    log = RunLog(tmp_path / "runlog.jsonl", clock=lambda: NOW)
    first = log.append("r1", "note", {"n": 1, "名": "值"})
    torn = b'{"seq":1,"ki'
    with log.path.open("ab") as f:
        f.write(torn)
    third = log.append("r2", "note", lambda seq, prev: {"seq_seen": seq, "prev_seen": prev})
    lines = log.path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == _expected_line(0, "r1", "note", {"n": 1, "名": "值"}, GENESIS_HASH)
    cut = len(lines[0].encode("utf-8")) + 1  # the torn bytes start after the first line
    repair = {
        "torn_sha256": "sha256:" + hashlib.sha256(torn).hexdigest(),
        "torn_bytes": len(torn),
        "offset": cut,
        "saved_as": f"runlog.jsonl.torn-{cut}",
    }
    assert lines[1] == _expected_line(1, "", REPAIR_KIND, repair, first.hash)
    repair_hash = json.loads(lines[1])["hash"]
    payload = {"seq_seen": 2, "prev_seen": repair_hash}
    assert lines[2] == _expected_line(2, "r2", "note", payload, repair_hash)
    assert third.hash == json.loads(lines[2])["hash"] and len(lines) == 3


def test_an_invalid_record_before_a_torn_tail_refuses_the_append(tmp_path: Path) -> None:
    log = RunLog(tmp_path / "runlog.jsonl", clock=lambda: NOW)
    log.path.write_bytes(b'{"not": "a record"}\n{"seq":1,"ki')
    with pytest.raises(AuditError, match="the record before the torn tail is not valid either"):
        log.append("r", "note", {})
