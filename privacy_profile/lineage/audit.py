"""``audit verify``: check a run against its run log, outputs, ledger and lineage.

:func:`verify_run` checks, in order, and stops at the first mismatch with an
:class:`~privacy_profile.errors.AuditError` whose message names the record, file or charge:

1. the run log's hash chain (every record's hash, link and seq);
2. the lineage events: START first, COMPLETE or FAIL last, one run id, and each line's
   SHA-256 equal to the run log's ``lineage_event`` record;
3. every output the run log records for the run: present, with the recorded SHA-256;
4. the DP mechanisms of the COMPLETE event's privacy facet equal the ledger's charges for the
   run (label, mechanism, epsilon, delta, sensitivity), both ways;
5. a re-scan of the outputs for pseudonym/token-shaped strings and, with a scanner, PII.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from privacy_profile.dp.ledger import read_charges
from privacy_profile.errors import AuditError, InputError
from privacy_profile.ingest.identifiers import IdentifierIndex
from privacy_profile.lineage.facets import PRIVACY_FACET_NAME
from privacy_profile.lineage.guard import ReleaseGuard, Scanner, describe_leaks
from privacy_profile.lineage.recorder import read_events
from privacy_profile.lineage.runlog import RunLog, RunLogRecord, file_sha256, verify_chain

__all__ = [
    "RIGHTS_COMPLETED",
    "RIGHTS_REQUEST",
    "AuditReport",
    "LedgerCharge",
    "LedgerLike",
    "read_ledger_charges",
    "verify_rights_register",
    "verify_run",
]


@dataclass(frozen=True, kw_only=True)
class LedgerCharge:
    """The fields of a ledger charge the audit compares (duck-compatible with dp's Charge)."""

    run_id: str
    mechanism: str
    label: str
    epsilon: float
    delta: float
    sensitivity: float


class _ChargeLike(Protocol):
    @property
    def mechanism(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def epsilon(self) -> float: ...
    @property
    def delta(self) -> float: ...
    @property
    def sensitivity(self) -> float: ...


class LedgerLike(Protocol):
    """Anything with ``charges_for_run`` (``privacy_profile.dp.ledger.BudgetLedger``)."""

    def charges_for_run(self, run_id: str) -> Sequence[_ChargeLike]: ...


def read_ledger_charges(
    ledger_path: str | Path, *, run_id: str, dataset: str | None = None
) -> list[LedgerCharge]:
    """Read a run's charges from the ledger file, read-only (no budget needed), through the
    ledger's own read API (:func:`privacy_profile.dp.ledger.read_charges`); pass ``ledger=`` to
    :func:`verify_run` to use an open :class:`~privacy_profile.dp.ledger.BudgetLedger`."""
    try:
        charges = read_charges(ledger_path, run_id=run_id, dataset=dataset)
    except InputError as e:
        raise AuditError(e.message, hint=e.hint) from None
    return [
        LedgerCharge(
            run_id=c.run_id,
            mechanism=c.mechanism,
            label=c.label,
            epsilon=c.epsilon,
            delta=c.delta,
            sensitivity=float(c.sensitivity),
        )
        for c in charges
    ]


@dataclass(frozen=True, kw_only=True)
class AuditReport:
    """What :func:`verify_run` checked (it raises on any mismatch, so all of this passed)."""

    run_id: str
    event_types: tuple[str, ...]
    run_log: Path
    run_log_head: str  # hash of the last record: anchor it elsewhere to detect a rewrite
    run_log_records: int
    outputs_checked: tuple[str, ...]
    ledger_charges_checked: int
    internal_checked: tuple[str, ...] = ()
    pii_rescanned: bool

    def summary(self) -> str:
        lines = [
            f"run {self.run_id}: OK",
            f"  run log {self.run_log}: {self.run_log_records} records, chain intact, "
            f"head {self.run_log_head}",
            f"  lineage events: {', '.join(self.event_types)} (hashes match the run log)",
            f"  outputs: {len(self.outputs_checked)} file(s), SHA-256 match"
            + (
                f"; internal evidence: {len(self.internal_checked)} file(s), SHA-256 match"
                if self.internal_checked
                else ""
            ),
            f"  ledger: {self.ledger_charges_checked} charge(s) match the lineage",
            "  re-scan: no pseudonym/token-shaped strings"
            + (", no PII findings" if self.pii_rescanned else " (PII scan not run: no scanner)"),
        ]
        return "\n".join(lines)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15)


def _fmt(m: tuple[str, str, float, float, float]) -> str:
    return f"label {m[0]!r} ({m[1]}, epsilon={m[2]:g}, delta={m[3]:g}, sensitivity={m[4]:g})"


def _compare_dp(lineage: list[dict[str, Any]], charges: Sequence[_ChargeLike]) -> None:
    want = sorted(
        (str(m["label"]), str(m["mechanism"]), m["epsilon"], m["delta"], m["sensitivity"])
        for m in lineage
    )
    have = sorted((c.label, str(c.mechanism), c.epsilon, c.delta, c.sensitivity) for c in charges)
    remaining = list(have)
    for w in want:
        for i, h in enumerate(remaining):
            if w[:2] == h[:2] and all(_close(x, y) for x, y in zip(w[2:], h[2:], strict=True)):
                del remaining[i]
                break
        else:
            same_label = [h for h in remaining if h[0] == w[0]]
            if same_label:
                raise AuditError(
                    f"ledger mismatch: the lineage records {_fmt(w)} but the ledger charged "
                    f"{_fmt(same_label[0])}"
                )
            raise AuditError(
                f"ledger mismatch: the lineage records {_fmt(w)} with no ledger charge"
            )
    if remaining:
        raise AuditError(
            f"ledger mismatch: the ledger charged {_fmt(remaining[0])} for this run, "
            "which the lineage does not record"
        )


def _latest_per_path(records: Iterable[RunLogRecord]) -> list[RunLogRecord]:
    """The last record of each output path: a file rewritten later (an erasure request removing
    a subject from an audience) is recorded again and checked against its newest hash."""
    latest: dict[str, RunLogRecord] = {}
    for rec in records:
        latest[str(rec.payload["path"])] = rec
    return list(latest.values())


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


def verify_run(
    run_dir: str | Path,
    *,
    run_log_path: str | Path | None = None,
    ledger: LedgerLike | None = None,
    ledger_path: str | Path | None = None,
    scanner: Scanner | None = None,
) -> AuditReport:
    """Verify one run directory; raise :class:`AuditError` with a precise message on any
    mismatch. The run log defaults to ``run_dir/../runlog.jsonl``."""
    run_dir = Path(run_dir)
    log = RunLog(run_log_path) if run_log_path is not None else RunLog.for_run_dir(run_dir)

    # 1. the chain
    records = verify_chain(log.path)

    # 2. the events
    events_path = run_dir / "lineage" / "events.jsonl"
    if not events_path.is_file():
        raise AuditError(f"{events_path} does not exist", hint="give a run directory")
    lines = [ln for ln in events_path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    events = read_events(events_path)  # AuditError naming the line if one is not JSON
    run_ids = {str(e.get("run", {}).get("runId")) for e in events}
    if len(run_ids) != 1:
        raise AuditError(f"{events_path}: events carry {len(run_ids)} run ids, expected one")
    run_id = run_ids.pop()
    types = tuple(str(e.get("eventType")) for e in events)
    if len(types) != 2 or types[0] != "START" or types[1] not in ("COMPLETE", "FAIL"):
        raise AuditError(
            f"{events_path}: events are {', '.join(types) or 'none'}; expected START then "
            "COMPLETE or FAIL"
        )
    mine = [r for r in records if r.run_id == run_id]
    logged = [r for r in mine if r.kind == "lineage_event"]
    if len(logged) != len(lines):
        raise AuditError(
            f"the run log records {len(logged)} lineage event(s) for run {run_id} but "
            f"{events_path} holds {len(lines)}"
        )
    for i, (line, rec) in enumerate(zip(lines, logged, strict=True), start=1):
        digest = "sha256:" + hashlib.sha256(line.encode("utf-8")).hexdigest()
        if digest != rec.payload.get("sha256") or types[i - 1] != rec.payload.get("eventType"):
            raise AuditError(
                f"{events_path}:{i} ({types[i - 1]}): SHA-256 differs from run log record "
                f"seq {rec.seq} (the event was modified)"
            )

    # 3. the outputs
    checked: list[Path] = []
    internal: list[Path] = []
    for rec in _latest_per_path(r for r in mine if r.kind in ("output", "internal_output")):
        path = log.resolve(str(rec.payload["path"]))
        if not path.is_file():
            raise AuditError(
                f"output {rec.payload['name']!r} recorded in run log seq {rec.seq} is missing "
                f"({path})"
            )
        actual = file_sha256(path)
        if actual != rec.payload["sha256"]:
            raise AuditError(
                f"output {rec.payload['name']!r} ({path}): SHA-256 {actual} differs from "
                f"{rec.payload['sha256']} recorded in run log seq {rec.seq} (the file changed)"
            )
        (checked if rec.kind == "output" else internal).append(path)

    # 4. the ledger
    final = events[-1]
    facet = final.get("run", {}).get("facets", {}).get(PRIVACY_FACET_NAME)
    dp: list[dict[str, Any]] = list(facet.get("dpMechanisms", [])) if facet else []
    n_charges = 0
    if ledger is not None or ledger_path is not None:
        if ledger is not None:
            charges: Sequence[_ChargeLike] = ledger.charges_for_run(run_id)
        else:
            if ledger_path is None:  # unreachable: one of the two was given
                raise AuditError("no ledger to check the run against")
            budget = facet.get("budget") if facet else None
            dataset = budget.get("dataset") if isinstance(budget, dict) else None
            charges = read_ledger_charges(ledger_path, run_id=run_id, dataset=dataset)
        _compare_dp(dp, charges)
        n_charges = len(charges)
    elif dp:
        raise AuditError(
            f"the lineage records {len(dp)} DP mechanism(s) but no ledger was given to check "
            "them against",
            hint="pass the ledger file (--ledger PATH)",
        )

    # 5. re-scan: token shapes and PII. The run's identifier index died with the run (its key
    # was never stored), so raw identifiers cannot be looked up again: an empty index.
    rescan = ReleaseGuard(IdentifierIndex(), scanner=scanner, public_values=[run_id])
    leaks = rescan.find_leaks_in_files(checked)
    if leaks:
        raise AuditError(
            f"re-scan of the outputs: {len(leaks)} leak(s) found:\n  " + describe_leaks(leaks),
            hint="the outputs hold identities: withdraw them and find how they bypassed the guard",
        )

    return AuditReport(
        run_id=run_id,
        event_types=types,
        run_log=log.path,
        run_log_head=records[-1].hash if records else "",
        run_log_records=len(records),
        outputs_checked=tuple(str(p) for p in checked),
        internal_checked=tuple(str(p) for p in internal),
        ledger_charges_checked=n_charges,
        pii_rescanned=scanner is not None,
    )
