"""The request register: due dates, ordering, what it stores, and unknown subjects."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from _rights_helpers import POLICY, SEED

from privacy_profile.errors import InputError
from privacy_profile.ingest import KeyRing
from privacy_profile.lineage.runlog import RunLog, verify_chain
from privacy_profile.policy import load_policy_file
from privacy_profile.rights import RightsRegister, format_status, identify, process_request
from privacy_profile.rights.register import REQUEST_COMPLETED, REQUEST_RECEIVED

POL = load_policy_file(POLICY).policy
KEYS = KeyRing.development(POL, seed=SEED)
T0 = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


def _register(tmp_path: Path, clock: Clock) -> RightsRegister:
    log = RunLog(tmp_path / "runs" / "runlog.jsonl")
    return RightsRegister(tmp_path / "rights.sqlite", POL, run_log=log, clock=clock)


def test_due_date_from_the_policy_and_overdue_first(tmp_path: Path) -> None:
    clock = Clock()
    with _register(tmp_path, clock) as reg:
        first = reg.submit("access", "o_first", KEYS)
        assert first.due - first.received == dt.timedelta(days=POL.rights.deadline_days)
        clock.now = T0 + dt.timedelta(days=15)
        second = reg.submit("opt-out", "o_second", KEYS, purpose="marketing.advertising.profiling")
        third = reg.submit("access", "o_third", KEYS)
        process_request(reg, third.request_id, export_dir=tmp_path / "export")
        clock.now = T0 + dt.timedelta(days=POL.rights.deadline_days + 1)
        order = [r.request_id for r in reg.requests()]
        assert order == [first.request_id, second.request_id, third.request_id]
        text = format_status(reg.requests(), reg.now())
        assert text.index("OVERDUE") < text.index("open") < text.index("completed")
        assert "3 request(s): 2 open, 1 overdue" in text


def test_the_register_keeps_keyed_values_only(tmp_path: Path) -> None:
    raw = "oWx-Raw-Subject-0001"
    with _register(tmp_path, Clock()) as reg:
        req = reg.submit("erase", f"  {raw} ", KEYS)  # normalised as ingestion does (trim)
        ident = identify(raw, POL, KEYS)
        assert req.subject_digest == ident.digest
        assert reg.subject(ident.digest).pseudonyms == ident.pseudonyms
        assert set(ident.pseudonyms) == {d.name for d in POL.pseudonymization_domains}
        assert reg.find(raw, KEYS)[0].request_id == req.request_id
    data = (tmp_path / "rights.sqlite").read_bytes()
    assert raw.encode() not in data
    assert ((tmp_path / "rights.sqlite").stat().st_mode & 0o777) == 0o600
    records = verify_chain(tmp_path / "runs" / "runlog.jsonl")
    assert [r.kind for r in records] == [REQUEST_RECEIVED]
    assert records[0].payload["subject_digest"] == ident.digest
    assert raw not in (tmp_path / "runs" / "runlog.jsonl").read_text(encoding="utf-8")


def test_an_unknown_subject_completes_with_nothing_found(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    with _register(tmp_path, Clock()) as reg:
        erase = reg.submit("erase", "o_nobody", KEYS)
        out = process_request(reg, erase.request_id, stores=[store], runs=[])
        assert out.summary["nothing_found"] is True
        assert out.request.completed is not None
        access = reg.submit("access", "o_nobody", KEYS)
        got = process_request(reg, access.request_id, stores=[store], export_dir=tmp_path / "x")
        assert got.summary["nothing_found"] is True
        with pytest.raises(InputError, match="was completed"):
            process_request(reg, access.request_id, export_dir=tmp_path / "x")
    kinds = [r.kind for r in verify_chain(tmp_path / "runs" / "runlog.jsonl")]
    assert kinds.count(REQUEST_COMPLETED) == 2


def test_a_failed_log_append_records_nothing(tmp_path: Path) -> None:
    log = tmp_path / "runlog.jsonl"
    log.write_text("not json\n", encoding="utf-8")
    reg = RightsRegister(tmp_path / "r.sqlite", POL, run_log=RunLog(log))
    with reg, pytest.raises(Exception, match="last record is not valid"):
        reg.submit("access", "o_1", KEYS)
    conn = sqlite3.connect(tmp_path / "r.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM requests").fetchone() == (0,)
    conn.close()


def test_a_register_of_another_policy_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    RightsRegister(path, POL).close()
    other = POL.model_copy(update={"name": "another-policy"})
    with pytest.raises(InputError, match="belongs to policy"):
        RightsRegister(path, other)
