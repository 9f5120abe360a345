"""``audit verify``: check a run against its run log, outputs, ledger and lineage.

:func:`verify_run` checks, in order, and stops at the first mismatch with an
:class:`~privacy_profile.errors.AuditError` whose message names the record, file or charge:

1. the run log's hash chain (every record's hash, link and seq);
2. the lineage events: START first, COMPLETE or FAIL last, one run id, and each line's
   SHA-256 equal to the run log's ``lineage_event`` record;
3. every output the run log records for the run: present, with the recorded SHA-256;
4. the DP mechanisms of the COMPLETE event's privacy facet equal the ledger's charges for the
   run (label, mechanism, epsilon, delta, sensitivity, rho), both ways
   (:mod:`privacy_profile.lineage.ledger_audit`);
5. a re-scan of the outputs for pseudonym/token-shaped strings and, with a scanner, PII.

:func:`verify_rights_register` (:mod:`privacy_profile.lineage.rights_audit`) checks a rights
register against the run log; both are importable from here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from privacy_profile.errors import AuditError
from privacy_profile.ingest.identifiers import IdentifierIndex
from privacy_profile.lineage.facets import PRIVACY_FACET_NAME
from privacy_profile.lineage.guard import ReleaseGuard, Scanner, describe_leaks
from privacy_profile.lineage.ledger_audit import (
    LEDGER_STATE_KIND,
    ChargeLike,
    LedgerCharge,
    LedgerLike,
    LedgerStateSource,
    compare_dp,
    compare_ledger_state,
    ledger_state_payload,
    read_ledger_budget,
    read_ledger_charges,
)
from privacy_profile.lineage.recorder import CHARGES_FACET_NAME, read_events
from privacy_profile.lineage.rights_audit import (
    RIGHTS_COMPLETED,
    RIGHTS_REQUEST,
    verify_rights_register,
)
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


@dataclass(frozen=True, kw_only=True)
class _Events:
    """A run's lineage events, checked against the run log (step 2)."""

    path: Path
    events: list[dict[str, Any]]
    run_id: str
    types: tuple[str, ...]
    mine: list[RunLogRecord]  # the run log records of this run


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
    ev = _check_events(run_dir, records)
    signature = _check_signature(records, ev.mine, public_key)

    # 3. the outputs
    checked, internal = _check_outputs(log, run_dir, ev)

    # 4. the ledger
    facets = ev.events[-1].get("run", {}).get("facets", {})
    facet = facets.get(PRIVACY_FACET_NAME) or facets.get(CHARGES_FACET_NAME)  # FAIL: charged
    n_charges = _check_ledger(ev, facet, ledger, ledger_path)

    # 5. re-scan: token shapes and PII. The run's identifier index died with the run (its key
    # was never stored), so raw identifiers cannot be looked up again: an empty index.
    rescan = ReleaseGuard(IdentifierIndex(), scanner=scanner, public_values=[ev.run_id])
    leaks = rescan.find_leaks_in_files(checked)
    if leaks:
        raise AuditError(
            f"re-scan of the outputs: {len(leaks)} leak(s) found:\n  " + describe_leaks(leaks),
            hint="the outputs hold identities: withdraw them and find how they bypassed the guard",
        )

    return AuditReport(
        run_id=ev.run_id,
        event_types=ev.types,
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


def _check_events(run_dir: Path, records: Sequence[RunLogRecord]) -> _Events:
    """Step 2: START then COMPLETE or FAIL, one run id (the folder's), each line's SHA-256
    equal to its ``lineage_event`` record."""
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
    return _Events(path=events_path, events=events, run_id=run_id, types=types, mine=mine)


def _check_outputs(log: RunLog, run_dir: Path, ev: _Events) -> tuple[list[Path], list[Path]]:
    """Step 3: every recorded output present with its SHA-256 (none after a FAIL), and no
    file in the run folder the run log does not record. Returns (outputs, internal files)."""
    run_id = ev.run_id
    checked: list[Path] = []
    internal: list[Path] = []
    expected = {ev.path.resolve()}
    for rec in _latest_per_path(r for r in ev.mine if r.kind in ("output", "internal_output")):
        path = _in_run_dir(log, run_dir, run_id, str(rec.payload["path"]), rec.seq)
        if ev.types[1] == "FAIL":  # staged, then withdrawn: a failed run publishes no output
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
    return checked, internal


def _check_ledger(
    ev: _Events,
    facet: dict[str, Any] | None,
    ledger: LedgerLike | None,
    ledger_path: str | Path | None,
) -> int:
    """Step 4: the lineage's DP mechanisms against the ledger's charges, and the run log's
    ledger_state against the ledger now. Returns the number of charges checked."""
    dp: list[dict[str, Any]] = list(facet.get("dpMechanisms", [])) if facet else []
    if ledger is None and ledger_path is None:
        if dp:
            raise AuditError(
                f"the lineage records {len(dp)} DP mechanism(s) but no ledger was given to "
                "check them against",
                hint="pass the ledger file (--ledger PATH)",
            )
        return 0
    if ledger is not None:
        charges: Sequence[ChargeLike] = ledger.charges_for_run(ev.run_id)
    else:
        if ledger_path is None:  # unreachable: one of the two was given
            raise AuditError("no ledger to check the run against")
        budget = facet.get("budget") if facet else None
        dataset = budget.get("dataset") if isinstance(budget, dict) else None
        charges = read_ledger_charges(ledger_path, run_id=ev.run_id, dataset=dataset)
    compare_dp(dp, charges)
    states = [r for r in ev.mine if r.kind == LEDGER_STATE_KIND]
    if states:
        compare_ledger_state(states[-1], charges, ledger_path)
    return len(charges)


def _latest_per_path(records: Iterable[RunLogRecord]) -> list[RunLogRecord]:
    """The last record of each output path: a file rewritten later (an erasure request removing
    a subject from an audience) is recorded again and checked against its newest hash."""
    latest: dict[str, RunLogRecord] = {}
    for rec in records:
        latest[str(rec.payload["path"])] = rec
    return list(latest.values())


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
