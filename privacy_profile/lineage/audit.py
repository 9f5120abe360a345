"""``audit verify``: check a run against its run log, outputs, ledger and lineage.

:func:`verify_run` checks, in order, and stops at the first mismatch with an
:class:`~privacy_profile.errors.AuditError` whose message names the record, file or charge:

1. the run log's hash chain (every record's hash, link and seq);
2. the lineage events: START first, COMPLETE or FAIL last, one run id, and each line's
   SHA-256 equal to the run log's ``lineage_event`` record;
3. every output the run log records for the run: present, with the recorded SHA-256;
4. the DP mechanisms of the COMPLETE event's privacy facet equal the ledger's charges for the
   run (label, mechanism, epsilon, delta, sensitivity, rho), both ways;
5. a re-scan of the outputs for pseudonym/token-shaped strings and, with a scanner, PII.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from privacy_profile.dp.ledger import DELTA_UNIT as _DELTA_UNIT
from privacy_profile.dp.ledger import EPS_UNIT as _EPS_UNIT
from privacy_profile.dp.ledger import read_charges
from privacy_profile.errors import AuditError, InputError
from privacy_profile.ingest.identifiers import IdentifierIndex
from privacy_profile.lineage.facets import PRIVACY_FACET_NAME
from privacy_profile.lineage.guard import ReleaseGuard, Scanner, describe_leaks
from privacy_profile.lineage.recorder import CHARGES_FACET_NAME, read_events
from privacy_profile.lineage.runlog import (
    REPAIR_KIND,
    RunLog,
    RunLogRecord,
    file_sha256,
    verify_chain,
)
from privacy_profile.lineage.signing import HEAD_SIGNATURE_KIND, verify_head_signature

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "LEDGER_STATE_KIND",
    "RIGHTS_COMPLETED",
    "RIGHTS_REQUEST",
    "AuditReport",
    "LedgerCharge",
    "LedgerLike",
    "LedgerStateSource",
    "ledger_state_payload",
    "read_ledger_budget",
    "read_ledger_charges",
    "verify_rights_register",
    "verify_run",
]

LEDGER_STATE_KIND = "ledger_state"


@dataclass(frozen=True, kw_only=True)
class LedgerCharge:
    """The fields of a ledger charge the audit compares (duck-compatible with dp's Charge)."""

    run_id: str
    mechanism: str
    label: str
    epsilon: float
    delta: float
    sensitivity: float
    charge_id: int = 0
    charged_at: str = ""
    rho: float = 0.0


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
    @property
    def rho(self) -> float: ...


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
            charge_id=int(c.charge_id),
            charged_at=str(c.charged_at),
            rho=c.rho,
        )
        for c in charges
    ]


def read_ledger_budget(ledger_path: str | Path, dataset: str) -> dict[str, Any] | None:
    """The ledger's budget row for ``dataset`` (window, epsilon, delta), read-only."""
    p = Path(ledger_path)
    try:
        conn = sqlite3.connect(f"file:{p.resolve()}?mode=ro", uri=True)
        try:
            row = conn.execute(
                "SELECT window, epsilon_units, delta_units FROM budgets WHERE dataset = ?",
                (dataset,),
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise AuditError(f"ledger {p} cannot be read: {e}") from None
    if row is None:
        return None
    return {"window": row[0], "epsilon_units": int(row[1]), "delta_units": int(row[2])}


class LedgerStateSource(Protocol):
    """What :func:`ledger_state_payload` reads (``privacy_profile.dp.BudgetLedger``)."""

    dataset: str

    @property
    def window(self) -> Any: ...
    @property
    def budget(self) -> Any: ...
    def charges_for_run(self, run_id: str) -> Sequence[Any]: ...


def ledger_state_payload(ledger: LedgerStateSource, run_id: str) -> dict[str, Any]:
    """The ledger rows of a run (ids, labels, losses, times) and the budget row, for the run
    log at completion: a later backdated ``charged_at`` or raised budget breaks the match."""
    return {
        "dataset": ledger.dataset,
        "budget": {
            "window": ledger.window.spec,
            "epsilon_units": round(ledger.budget.epsilon * _EPS_UNIT),
            "delta_units": round(ledger.budget.delta * _DELTA_UNIT),
        },
        "charges": [
            {"charge_id": int(c.charge_id), "label": str(c.label), "charged_at": str(c.charged_at)}
            for c in ledger.charges_for_run(run_id)
        ],
    }


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
    repairs: tuple[str, ...] = ()  # torn run-log tails sealed by a later append
    development_keys: bool = False  # the lineage says the run used development keys
    signature: str = "unsigned"  # how the run log head covering the run is signed

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
        if self.development_keys:
            lines.insert(
                1,
                "  WARNING: the run used DEVELOPMENT keys (throwaway pseudonyms and tokens; "
                "demo only)",
            )
        lines.insert(2, f"  run log signature: {self.signature}")
        for r in self.repairs:
            lines.append(f"  run log REPAIR: {r}")
        return "\n".join(lines)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15)


def _fmt(m: tuple[str, str, float, float, float, float]) -> str:
    rho = f", rho={m[5]:g}" if m[5] else ""
    return f"label {m[0]!r} ({m[1]}, epsilon={m[2]:g}, delta={m[3]:g}, sensitivity={m[4]:g}{rho})"


def _compare_dp(lineage: list[dict[str, Any]], charges: Sequence[_ChargeLike]) -> None:
    want = sorted(
        (
            str(m["label"]),
            str(m["mechanism"]),
            m["epsilon"],
            m["delta"],
            m["sensitivity"],
            m.get("rho", 0.0),  # facet 1-0-0 has no rho (every charge was pure)
        )
        for m in lineage
    )
    have = sorted(
        (c.label, str(c.mechanism), c.epsilon, c.delta, c.sensitivity, c.rho) for c in charges
    )
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
    public_key: Ed25519PublicKey | None = None,
) -> AuditReport:
    """Verify one run directory; raise :class:`AuditError` with a precise message on any
    mismatch. The run log defaults to ``run_dir/../runlog.jsonl``. With ``public_key`` a valid
    Ed25519 head signature covering every record of the run is required (a truncated or
    re-hashed log fails)."""
    run_dir = Path(run_dir)
    log = RunLog(run_log_path) if run_log_path is not None else RunLog.for_run_dir(run_dir)

    # 1. the chain (and the torn tails a later append sealed)
    records = verify_chain(log.path)
    repairs = tuple(_describe_repair(log, r) for r in records if r.kind == REPAIR_KIND)

    # 2. the events
    events_path = run_dir / "lineage" / "events.jsonl"
    staging = run_dir.with_name(f".staging-{run_dir.name}")
    if not run_dir.exists() and staging.is_dir():
        raise AuditError(
            f"run {run_dir.name} was never published: it ended without COMPLETE or FAIL "
            f"(killed?); its unfinished files are in {staging}, which is not a release",
            hint="nothing of this run was released; delete the staging folder",
        )
    if not events_path.is_file():
        raise AuditError(f"{events_path} does not exist", hint="give a run directory")
    lines = [ln for ln in events_path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    events = read_events(events_path)  # AuditError naming the line if one is not JSON
    run_ids = {str(e.get("run", {}).get("runId")) for e in events}
    if len(run_ids) != 1:
        raise AuditError(f"{events_path}: events carry {len(run_ids)} run ids, expected one")
    run_id = run_ids.pop()
    if run_dir.resolve().name != run_id:
        raise AuditError(
            f"{events_path}: the events are of run {run_id} but the folder is "
            f"{run_dir.resolve().name!r} (events swapped between runs, or a renamed folder)"
        )
    types = tuple(str(e.get("eventType")) for e in events)
    mine = [r for r in records if r.run_id == run_id]
    if len(types) != 2 or types[0] != "START" or types[1] not in ("COMPLETE", "FAIL"):
        released = sum(1 for r in mine if r.kind == "output")
        raise AuditError(
            f"{events_path}: events are {', '.join(types) or 'none'}; expected START then "
            "COMPLETE or FAIL"
            + (
                f"; {released} released output file(s) are recorded for this unfinished run: "
                "treat them as not released"
                if released and "COMPLETE" not in types
                else ""
            )
        )
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

    signature = _check_signature(records, mine, public_key)

    # 3. the outputs
    checked: list[Path] = []
    internal: list[Path] = []
    expected = {events_path.resolve()}
    for rec in _latest_per_path(r for r in mine if r.kind in ("output", "internal_output")):
        path = _in_run_dir(log, run_dir, run_id, str(rec.payload["path"]), rec.seq)
        if types[1] == "FAIL":  # staged, then withdrawn: a failed run publishes no output
            if path.exists():
                raise AuditError(
                    f"run {run_id} FAILED but its output {rec.payload['name']!r} ({path}) "
                    "exists: a failed run must release nothing",
                    hint="withdraw the file: it was released without a COMPLETE run",
                )
            continue
        expected.add(path.resolve())
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

    extra = sorted(
        str(p.relative_to(run_dir))
        for p in run_dir.rglob("*")
        if p.is_file() and p.resolve() not in expected
    )
    if extra:
        raise AuditError(
            f"{run_dir}: {len(extra)} file(s) the run log does not record for run {run_id} "
            f"(first: {extra[0]}); every file in a run folder must be recorded",
            hint="a file was added after the run: remove it, or find who added it",
        )

    # 4. the ledger
    final = events[-1]
    facets = final.get("run", {}).get("facets", {})
    facet = facets.get(PRIVACY_FACET_NAME) or facets.get(CHARGES_FACET_NAME)  # FAIL: charged
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
        states = [r for r in mine if r.kind == LEDGER_STATE_KIND]
        if states:
            _compare_ledger_state(states[-1], charges, ledger_path)
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
        repairs=repairs,
        signature=signature,
        development_keys=any(
            bool(k.get("developmentKey"))
            for k in (facet or {}).get("keys", [])
            if isinstance(k, dict)
        ),
    )


def _check_signature(
    records: Sequence[RunLogRecord],
    mine: Sequence[RunLogRecord],
    public_key: Ed25519PublicKey | None,
) -> str:
    last = max((r.seq for r in mine if r.kind != HEAD_SIGNATURE_KIND), default=-1)
    sigs = [
        r
        for r in records
        if r.kind == HEAD_SIGNATURE_KIND and int(r.payload.get("signed_seq", -1)) >= last
    ]
    if public_key is None:
        if not sigs:
            return "unsigned (no head signature covers this run)"
        dev = " (DEVELOPMENT signing key)" if sigs[0].payload.get("development_key") else ""
        return f"present at seq {sigs[0].seq}{dev}, not verified: give --public-key"
    for r in sigs:
        signed = int(r.payload["signed_seq"])
        if (
            0 <= signed < len(records)
            and records[signed].hash == r.payload.get("signed_hash")
            and verify_head_signature(r.payload, public_key)
        ):
            dev = " (DEVELOPMENT signing key)" if r.payload.get("development_key") else ""
            return f"valid Ed25519 signature at seq {r.seq} over seq {signed}{dev}"
    raise AuditError(
        f"no valid head signature by the given public key covers the run's records "
        f"(last seq {last}; {len(sigs)} candidate signature(s)): the run log was truncated, "
        "re-hashed or signed with another key"
    )


def _in_run_dir(log: RunLog, run_dir: Path, run_id: str, recorded: str, seq: int) -> Path:
    """The recorded output inside the run folder *given* (a copy is checked as a copy, never
    the original files next to the run log)."""
    p = Path(recorded)
    parts = p.parts
    if not p.is_absolute() and parts and parts[0] == run_id:
        return run_dir.joinpath(*parts[1:])
    original = log.resolve(recorded).resolve()
    base = (log.path.resolve().parent / run_id).resolve()
    try:
        return run_dir / original.relative_to(base)
    except ValueError:
        raise AuditError(
            f"run log seq {seq}: output {recorded} is outside the run folder of run {run_id}"
        ) from None


def _compare_ledger_state(
    rec: RunLogRecord, charges: Sequence[Any], ledger_path: str | Path | None
) -> None:
    """The run log's ledger_state (written at completion) against the ledger now."""
    recorded = {int(c["charge_id"]): c for c in rec.payload.get("charges", [])}
    for c in charges:
        cid = int(getattr(c, "charge_id", 0) or 0)
        want = recorded.get(cid)
        if want is None or str(want["charged_at"]) != str(getattr(c, "charged_at", "")):
            raise AuditError(
                f"ledger charge {cid} ({c.label!r}): its time {getattr(c, 'charged_at', '')} "
                f"differs from {want['charged_at'] if want else 'nothing'} recorded in run log "
                f"seq {rec.seq} (the ledger row was edited, e.g. backdated)"
            )
    if ledger_path is not None:
        dataset = str(rec.payload.get("dataset", ""))
        budget = read_ledger_budget(ledger_path, dataset)
        if budget != rec.payload.get("budget"):
            raise AuditError(
                f"ledger {ledger_path}: the budget row of dataset {dataset!r} is {budget}, the "
                f"run log seq {rec.seq} recorded {rec.payload.get('budget')} (the budget was "
                "edited)"
            )


def _describe_repair(log: RunLog, rec: RunLogRecord) -> str:
    p = rec.payload
    side = log.path.with_name(str(p.get("saved_as", "")))
    kept = "kept"
    if not side.is_file():
        kept = "side file MISSING"
    elif file_sha256(side) != p.get("torn_sha256"):
        kept = "side file CHANGED"
    return (
        f"seq {rec.seq}: a torn last line ({p.get('torn_bytes')} bytes at offset "
        f"{p.get('offset')}, {p.get('torn_sha256')}) was sealed; {side.name} {kept}"
    )
