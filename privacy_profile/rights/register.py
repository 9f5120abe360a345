"""The request register: every rights request, its due date and its completion, in SQLite.

The register is a file the caller names (created with mode 0600). It never holds a raw id:
per subject it keeps the keyed look-up digest, the pseudonym in every pseudonymisation domain
and the SHA-256 of the activation token (:mod:`privacy_profile.rights.identity`). Requests are
received, then processed (:mod:`privacy_profile.rights.fulfil`) and completed; each step is
appended to the hash-chained run log with digests only, so ``audit verify --rights-register``
can match the register against the log.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from privacy_profile.errors import InputError
from privacy_profile.ingest.keys import KeyRing
from privacy_profile.lineage.audit import RIGHTS_COMPLETED, RIGHTS_REQUEST
from privacy_profile.lineage.runlog import RunLog
from privacy_profile.policy.model import Policy
from privacy_profile.rights.correction import parse_corrections
from privacy_profile.rights.identity import SubjectIdentity, identify
from privacy_profile.rights.suppression import (
    ALL_PURPOSES,
    CorrectionEntry,
    Scope,
    SuppressionEntry,
    SuppressionList,
)

__all__ = [
    "REQUEST_COMPLETED",
    "REQUEST_RECEIVED",
    "RequestKind",
    "RightsRegister",
    "RightsRequest",
    "format_status",
    "load_suppression",
    "read_register_requests",
]

REQUEST_RECEIVED = RIGHTS_REQUEST
REQUEST_COMPLETED = RIGHTS_COMPLETED
Clock = Callable[[], dt.datetime]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class RequestKind(StrEnum):
    ACCESS = "access"
    ERASE = "erase"
    CORRECT = "correct"
    OPT_OUT = "opt-out"


@dataclass(frozen=True)
class RightsRequest:
    """One request as the register holds it (no raw id: ``subject_digest`` only)."""

    request_id: str
    kind: RequestKind
    purpose: str
    scope: str | None
    subject_digest: str
    received: dt.datetime
    due: dt.datetime
    completed: dt.datetime | None = None
    outcome: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.completed is None

    def overdue(self, now: dt.datetime) -> bool:
        return self.is_open and now > self.due

    def log_payload(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "kind": self.kind.value,
            "purpose": self.purpose,
            "scope": self.scope,
            "subject_digest": self.subject_digest,
            "received": self.received.isoformat(),
            "due": self.due.isoformat(),
        }


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS subjects (
    subject_digest TEXT PRIMARY KEY, pseudonyms TEXT NOT NULL, token_digest TEXT);
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY, kind TEXT NOT NULL, purpose TEXT NOT NULL, scope TEXT,
    subject_digest TEXT NOT NULL REFERENCES subjects(subject_digest),
    received TEXT NOT NULL, due TEXT NOT NULL, completed TEXT, outcome TEXT);
CREATE TABLE IF NOT EXISTS suppressions (
    subject_digest TEXT NOT NULL, purpose TEXT NOT NULL, scope TEXT NOT NULL,
    request_id TEXT NOT NULL, since TEXT NOT NULL,
    PRIMARY KEY (subject_digest, purpose, scope));
CREATE TABLE IF NOT EXISTS corrections (
    request_id TEXT NOT NULL, subject_digest TEXT NOT NULL, table_name TEXT NOT NULL,
    column_name TEXT NOT NULL, value TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (request_id, table_name, column_name));
"""


def _connect(path: Path) -> sqlite3.Connection:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)
    try:
        conn = sqlite3.connect(path)
        conn.executescript(_SCHEMA)
    except sqlite3.Error as e:
        raise InputError(
            f"rights register {path} cannot be opened: {e}",
            hint="give the register's SQLite file (a new path creates one)",
        ) from None
    return conn


def _time(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def _row_request(r: tuple[Any, ...]) -> RightsRequest:
    return RightsRequest(
        request_id=r[0],
        kind=RequestKind(r[1]),
        purpose=r[2],
        scope=r[3],
        subject_digest=r[4],
        received=dt.datetime.fromisoformat(r[5]),  # NOT NULL in the schema
        due=dt.datetime.fromisoformat(r[6]),  # NOT NULL in the schema
        completed=_time(r[7]),
        outcome=json.loads(r[8]) if r[8] else {},
    )


_COLUMNS = "request_id, kind, purpose, scope, subject_digest, received, due, completed, outcome"


def read_register_requests(path: str | Path) -> list[RightsRequest]:
    """Every request of the register at ``path``, read-only (for ``audit verify``)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"rights register {p} does not exist", hint="give the register's path")
    try:
        conn = sqlite3.connect(f"file:{p.resolve()}?mode=ro", uri=True)
        try:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM requests ORDER BY received").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise InputError(f"rights register {p} cannot be read: {e}") from None
    return [_row_request(r) for r in rows]


class RightsRegister:
    """The register at ``path`` for ``policy``; ``run_log`` receives every step (needed to
    submit or complete a request; reading does not need it). ``create=False`` refuses a path
    where no register exists yet. ``clock`` is a test hook."""

    def __init__(
        self,
        path: str | Path,
        policy: Policy,
        *,
        run_log: RunLog | None = None,
        clock: Clock = _utcnow,
        create: bool = True,
    ) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise InputError(
                f"rights register {self.path} does not exist",
                hint="give the register `privacy-profile rights submit` wrote",
            )
        self.policy = policy
        self.run_log = run_log
        self._clock = clock
        self._conn = _connect(self.path)
        with self._tx() as c:
            row = c.execute("SELECT value FROM meta WHERE key = 'policy'").fetchone()
            if row is None:
                c.execute("INSERT INTO meta VALUES ('policy', ?)", (policy.name,))
            elif row[0] != policy.name:
                raise InputError(
                    f"rights register {self.path} belongs to policy {row[0]!r}, not "
                    f"{policy.name!r}",
                    hint="give the register of this policy",
                )

    def __enter__(self) -> RightsRegister:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        try:
            with self._conn:
                yield self._conn
        except sqlite3.Error as e:
            raise InputError(f"rights register {self.path}: {e}") from None

    def _log(self) -> RunLog:
        if self.run_log is None:
            raise InputError(
                "recording a rights request needs the run log",
                hint="give the run log (--runlog out/runs/runlog.jsonl)",
            )
        return self.run_log

    def now(self) -> dt.datetime:
        t = self._clock()
        return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)

    # ------------------------------------------------------------------ requests

    def _check_purpose(self, purpose: str) -> str:
        if purpose == ALL_PURPOSES:
            return purpose
        known = [p.data_use for p in self.policy.purposes]
        if purpose not in known:
            raise InputError(
                f"unknown purpose {purpose!r} (declared: {', '.join(known)}, or {ALL_PURPOSES})",
                hint="give a data use the policy declares, or 'all'",
            )
        return purpose

    def submit(
        self,
        kind: RequestKind | str,
        subject_id: str,
        keys: KeyRing,
        *,
        purpose: str = ALL_PURPOSES,
        scope: Scope | str | None = None,
        corrections: Mapping[str, str] | None = None,
    ) -> RightsRequest:
        """Record a request received now, due ``rights.deadline_days`` later.

        ``subject_id`` is the raw id: it is normalised, turned into keyed values at once and
        never stored. ``scope`` (opt-out only): ``activation`` (default) or ``profiling``.
        ``corrections`` (correct only): ``{"table.column": value}``.
        Raises InputError for a malformed id, an unknown purpose, kind or scope, or a value
        that cannot be corrected."""
        try:
            k = RequestKind(kind)
        except ValueError:
            kinds = ", ".join(x.value for x in RequestKind)
            raise InputError(f"unknown request kind {kind!r} (one of {kinds})") from None
        purpose = self._check_purpose(purpose)
        sc: str | None = None
        if k is RequestKind.OPT_OUT:
            try:
                sc = Scope(scope or Scope.ACTIVATION).value
            except ValueError:
                raise InputError(
                    f"unknown opt-out scope {scope!r}",
                    hint="use 'activation' (no personalised pushes) or 'profiling' (no profiling)",
                ) from None
            if sc == Scope.ERASURE:
                raise InputError("an opt-out's scope is 'activation' or 'profiling'")
        elif scope is not None:
            raise InputError(f"a scope is only given for opt-out requests, not {k.value}")
        fixes = (
            parse_corrections(corrections or {}, self.policy) if k is RequestKind.CORRECT else ()
        )
        if corrections and k is not RequestKind.CORRECT:
            raise InputError(f"corrected values are only given for correct requests, not {k.value}")
        ident = identify(subject_id, self.policy, keys)
        now = self.now()
        req = RightsRequest(
            request_id=f"rq-{now:%Y%m%d}-{secrets.token_hex(4)}",
            kind=k,
            purpose=purpose,
            scope=sc,
            subject_digest=ident.digest,
            received=now,
            due=now + dt.timedelta(days=self.policy.rights.deadline_days),
        )
        log = self._log()
        with self._tx() as c:
            c.execute(
                "INSERT INTO subjects VALUES (?, ?, ?) ON CONFLICT(subject_digest) DO UPDATE "
                "SET pseudonyms = excluded.pseudonyms, token_digest = excluded.token_digest",
                (
                    ident.digest,
                    json.dumps(dict(ident.pseudonyms), sort_keys=True),
                    ident.token_digest,
                ),
            )
            c.execute(
                f"INSERT INTO requests ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                (
                    req.request_id,
                    k.value,
                    purpose,
                    sc,
                    ident.digest,
                    req.received.isoformat(),
                    req.due.isoformat(),
                ),
            )
            for f in fixes:
                c.execute(
                    "INSERT INTO corrections VALUES (?, ?, ?, ?, ?, 0)",
                    (req.request_id, ident.digest, f.table, f.column, f.value),
                )
            log.append(req.request_id, REQUEST_RECEIVED, req.log_payload())
        return req

    def request(self, request_id: str) -> RightsRequest:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE request_id = ?", (request_id,)
        ).fetchone()
        if row is None:
            raise InputError(
                f"no request {request_id!r} in rights register {self.path}",
                hint="`privacy-profile rights status` lists the requests",
            )
        return _row_request(row)

    def requests(self) -> list[RightsRequest]:
        """Every request: overdue first (oldest due date first), then open, then completed."""
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM requests").fetchall()
        now = self.now()
        reqs = [_row_request(r) for r in rows]
        return sorted(
            reqs,
            key=lambda r: (0 if r.overdue(now) else 1 if r.is_open else 2, r.due, r.request_id),
        )

    def find(self, subject_id: str, keys: KeyRing) -> list[RightsRequest]:
        """The requests of a subject, looked up by the keyed digest of its raw id."""
        digest = identify(subject_id, self.policy, keys).digest
        return [r for r in self.requests() if r.subject_digest == digest]

    def subject(self, digest: str) -> SubjectIdentity:
        row = self._conn.execute(
            "SELECT pseudonyms, token_digest FROM subjects WHERE subject_digest = ?", (digest,)
        ).fetchone()
        if row is None:
            raise InputError(f"rights register {self.path} has no subject {digest}")
        return SubjectIdentity(digest=digest, pseudonyms=json.loads(row[0]), token_digest=row[1])

    # ------------------------------------------------------------------ effects

    def suppress(self, request: RightsRequest, scope: Scope, purpose: str) -> None:
        """Add the request's subject to the suppression list (idempotent)."""
        with self._tx() as c:
            c.execute(
                "INSERT OR IGNORE INTO suppressions VALUES (?, ?, ?, ?, ?)",
                (
                    request.subject_digest,
                    purpose,
                    scope.value,
                    request.request_id,
                    self.now().isoformat(),
                ),
            )

    def activate_corrections(self, request: RightsRequest) -> int:
        with self._tx() as c:
            cur = c.execute(
                "UPDATE corrections SET active = 1 WHERE request_id = ?", (request.request_id,)
            )
            return int(cur.rowcount)

    def suppressions_of(self, digest: str) -> list[tuple[str, str, str]]:
        """(purpose, scope, since) of a subject's suppressions."""
        rows = self._conn.execute(
            "SELECT purpose, scope, since FROM suppressions WHERE subject_digest = ? "
            "ORDER BY since",
            (digest,),
        ).fetchall()
        return [(str(a), str(b), str(c)) for a, b, c in rows]

    def complete(self, request: RightsRequest, outcome: Mapping[str, Any]) -> RightsRequest:
        """Mark the request completed with its outcome (counts and file names, no values)."""
        log = self._log()
        now = self.now()
        done = RightsRequest(**{**request.__dict__, "completed": now, "outcome": dict(outcome)})
        with self._tx() as c:
            c.execute(
                "UPDATE requests SET completed = ?, outcome = ? WHERE request_id = ?",
                (now.isoformat(), json.dumps(dict(outcome), sort_keys=True), request.request_id),
            )
            log.append(
                request.request_id,
                REQUEST_COMPLETED,
                {
                    "request_id": request.request_id,
                    "kind": request.kind.value,
                    "subject_digest": request.subject_digest,
                    "completed": now.isoformat(),
                    "outcome": dict(outcome),
                },
            )
        return done

    def suppression(self) -> SuppressionList:
        """A snapshot for ingestion: pass it as ``suppression=`` to a run."""
        subjects = {
            d: json.loads(p)
            for d, p in self._conn.execute("SELECT subject_digest, pseudonyms FROM subjects")
        }
        entries = tuple(
            SuppressionEntry(pseudonyms=subjects[d], purpose=p, scope=Scope(s))
            for d, p, s in self._conn.execute(
                "SELECT subject_digest, purpose, scope FROM suppressions ORDER BY since"
            )
        )
        fixes = tuple(
            CorrectionEntry(pseudonyms=subjects[d], table=t, column=c, value=v)
            for d, t, c, v in self._conn.execute(
                "SELECT c.subject_digest, c.table_name, c.column_name, c.value "
                "FROM corrections c JOIN requests r ON r.request_id = c.request_id "
                "WHERE c.active = 1 ORDER BY r.received"
            )
        )
        return SuppressionList(entries=entries, correction_entries=fixes)


def load_suppression(path: str | Path, policy: Policy) -> SuppressionList:
    """The suppression snapshot of the existing register at ``path`` (for ``run``/``sanitize``
    ``--rights-register``); raises InputError when there is no register there."""
    with RightsRegister(path, policy, create=False) as reg:
        return reg.suppression()


def format_status(requests: list[RightsRequest], now: dt.datetime) -> str:
    """A plain-text table of requests (overdue first, as :meth:`RightsRegister.requests`)."""
    if not requests:
        return "no requests in the register"
    lines = [f"{'request':<22} {'kind':<8} {'state':<10} {'due':<11} purpose / subject digest"]
    for r in requests:
        state = "OVERDUE" if r.overdue(now) else "open" if r.is_open else "completed"
        lines.append(
            f"{r.request_id:<22} {r.kind.value:<8} {state:<10} {r.due:%Y-%m-%d}  "
            f"{r.purpose} / {r.subject_digest}"
        )
    n_over = sum(r.overdue(now) for r in requests)
    n_open = sum(r.is_open for r in requests)
    lines.append(f"{len(requests)} request(s): {n_open} open, {n_over} overdue")
    return "\n".join(lines)
