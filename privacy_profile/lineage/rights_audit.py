"""The rights side of ``audit verify``: a rights register checked against the run log both
ways, and the run-log record kinds the rights register writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from privacy_profile.errors import AuditError
from privacy_profile.lineage.runlog import verify_chain

__all__ = ["RIGHTS_COMPLETED", "RIGHTS_REQUEST", "verify_rights_register"]

RIGHTS_REQUEST = "rights_request"
"""Run-log record kind of a received rights request (written by ``privacy_profile.rights``)."""
RIGHTS_COMPLETED = "rights_completed"
"""Run-log record kind of a completed rights request."""

_REGISTER_FIELDS = ("request_id", "kind", "purpose", "scope", "subject_digest", "received", "due")


def _register_rows(path: Path) -> list[dict[str, Any]]:
    """The requests of a rights register (SQLite), read-only, as the run log records them."""
    if not path.is_file():
        raise AuditError(f"rights register {path} does not exist", hint="give the register's path")
    try:
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        try:
            rows = conn.execute(
                f"SELECT {', '.join(_REGISTER_FIELDS)}, completed FROM requests ORDER BY received"
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise AuditError(f"rights register {path} cannot be read: {e}") from None
    return [dict(zip((*_REGISTER_FIELDS, "completed"), r, strict=True)) for r in rows]


def verify_rights_register(register_path: str | Path, run_log_path: str | Path) -> int:
    """Check a rights register against the run log both ways: every request has its
    ``rights_request`` record (same kind, purpose, scope, subject digest, received and due
    times), every completed request its ``rights_completed`` record, and every rights record of
    the log a request in the register. Returns the number of requests checked; raises
    :class:`AuditError`."""
    reg = Path(register_path)
    requests = _register_rows(reg)
    records = verify_chain(run_log_path)
    received = {r.payload.get("request_id"): r for r in records if r.kind == RIGHTS_REQUEST}
    completed = {r.payload.get("request_id"): r for r in records if r.kind == RIGHTS_COMPLETED}
    known = {q["request_id"] for q in requests}
    for q in requests:
        rid = q["request_id"]
        rec = received.get(rid)
        if rec is None:
            raise AuditError(
                f"rights register {reg}: request {rid} has no {RIGHTS_REQUEST} record in the "
                f"run log {run_log_path}"
            )
        if dict(rec.payload) != {k: q[k] for k in _REGISTER_FIELDS}:
            raise AuditError(
                f"rights register {reg}: request {rid} differs from run log seq {rec.seq} "
                "(the register was modified)"
            )
        done = completed.get(rid)
        is_open = q["completed"] is None
        if (done is None) != is_open:
            state = "open" if is_open else "completed"
            raise AuditError(
                f"rights register {reg}: request {rid} is {state} in the register but not in "
                "the run log"
            )
        if done is not None and done.payload.get("subject_digest") != q["subject_digest"]:
            raise AuditError(
                f"rights register {reg}: request {rid}'s completion in run log seq {done.seq} "
                "names another subject"
            )
    for rid, rec in [*received.items(), *completed.items()]:
        if rid not in known:
            raise AuditError(
                f"run log {run_log_path} seq {rec.seq}: rights request {rid} is missing from "
                f"the register {reg} (a request was deleted)"
            )
    return len(requests)
