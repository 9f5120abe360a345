"""An append-only, hash-chained run log (JSON lines).

Each record is ``{seq, time, run_id, kind, payload, prev_hash, hash}`` where ``hash`` is
``sha256:`` + the SHA-256 of the canonical JSON of the record without ``hash`` (keys sorted,
no spaces, UTF-8) and ``prev_hash`` is the previous record's ``hash`` (the first record's is
:data:`GENESIS_HASH`). Editing, deleting or reordering a record breaks the chain, which
:func:`verify_chain` reports with the record's line and seq.

A crash in the middle of an append leaves a last line without its newline. The next append
does not refuse (that would block every later run) and does not drop it silently: it moves the
torn bytes to a side file and appends a ``repair`` record with their SHA-256, size and offset
before its own record; ``audit verify`` reports every repair.

Payloads hold metadata only (file names, hashes, sizes, counts, reasons), never data values.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from privacy_profile._clock import Clock, utcnow
from privacy_profile._io import private_opener
from privacy_profile.errors import AuditError

__all__ = [
    "GENESIS_HASH",
    "REPAIR_KIND",
    "HeadSigner",
    "RunLog",
    "RunLogRecord",
    "canonical_json",
    "file_sha256",
    "verify_chain",
]

GENESIS_HASH = "sha256:" + "0" * 64
REPAIR_KIND = "repair"  # a torn last line (crash mid-append) sealed by the next append


def canonical_json(obj: Any) -> str:
    """Canonical JSON: keys sorted, no whitespace, non-ASCII kept, NaN refused."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def file_sha256(path: str | Path) -> str:
    """``sha256:<hex>`` of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def _record_hash(body: Mapping[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(dict(body)).encode("utf-8")).hexdigest()


def _link_after(last: str | None, path: Path, damage: str) -> tuple[int, str]:
    """The seq and previous hash of the record that follows the line ``last`` (``None``: the
    log is empty); :class:`AuditError` (``damage`` says which record) when it is not valid."""
    if last is None:
        return 0, GENESIS_HASH
    try:
        rec = json.loads(last)
        return int(rec["seq"]) + 1, str(rec["hash"])
    except (ValueError, KeyError, TypeError):
        raise AuditError(
            f"{path}: {damage}; refusing to append",
            hint="run `privacy-profile audit verify` to locate the damage",
        ) from None


class HeadSigner(Protocol):
    """Signs a run-log head (:class:`privacy_profile.lineage.signing.RunLogSigner`)."""

    def payload(self, seq: int, head_hash: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class RunLogRecord:
    seq: int
    time: str
    run_id: str
    kind: str
    payload: Mapping[str, Any]
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "run_id": self.run_id,
            "kind": self.kind,
            "payload": dict(self.payload),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


class RunLog:
    """The run log at ``path`` (created on first append; never rewritten).

    Appends take an exclusive ``flock`` on the file, so concurrent runs on one machine chain
    correctly.
    """

    _publish: tuple[Path, Path] | None = None  # (staging folder, run folder): see staged()

    def __init__(self, path: str | Path, *, clock: Clock = utcnow) -> None:
        self.path = Path(path)
        self._clock = clock

    def staged(self, staging_dir: str | Path, run_dir: str | Path) -> RunLog:
        """This log, for a run written into ``staging_dir`` and published by renaming it to
        ``run_dir``: outputs are hashed where they are and recorded at the path they will have
        once published."""
        view = RunLog(self.path, clock=self._clock)
        view._publish = (Path(staging_dir).resolve(), Path(run_dir).resolve())
        return view

    @classmethod
    def for_run_dir(cls, run_dir: str | Path, *, clock: Clock = utcnow) -> RunLog:
        """The shared log next to the run directories: ``run_dir/../runlog.jsonl``."""
        return cls(Path(run_dir).resolve().parent / "runlog.jsonl", clock=clock)

    def append(
        self,
        run_id: str,
        kind: str,
        payload: Mapping[str, Any] | Callable[[int, str], Mapping[str, Any]],
    ) -> RunLogRecord:
        """Append one record; ``payload`` may be a function of (its seq, the previous hash),
        called under the lock (a head signature signs the record it follows)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                f.seek(0)
                data = f.read()
                if data and not data.endswith(b"\n"):
                    data = self._seal_torn_tail(f, data)
                seq, prev = _link_after(_last_line(data), self.path, "the last record is not valid")
                record, _ = self._write(f, seq, prev, run_id, kind, payload)
                return record
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def _write(
        self,
        f: BinaryIO,
        seq: int,
        prev: str,
        run_id: str,
        kind: str,
        payload: Mapping[str, Any] | Callable[[int, str], Mapping[str, Any]],
    ) -> tuple[RunLogRecord, bytes]:
        """Hash the record (seq, now, run id, kind, payload, prev hash), append its line to
        ``f`` (held under the lock) and fsync; returns the record and its line."""
        body = {
            "seq": seq,
            "time": self._clock().isoformat(),
            "run_id": run_id,
            "kind": kind,
            "payload": dict(payload(seq, prev) if callable(payload) else payload),
            "prev_hash": prev,
        }
        record = RunLogRecord(**body, hash=_record_hash(body))  # type: ignore[arg-type]
        line = (canonical_json(record.to_json()) + "\n").encode("utf-8")
        f.seek(0, os.SEEK_END)
        f.write(line)
        f.flush()
        os.fsync(f.fileno())
        return record, line

    def _seal_torn_tail(self, f: BinaryIO, data: bytes) -> bytes:
        """A crash mid-append left a last line without its newline: keep the torn bytes in a
        side file (``runlog.jsonl.torn-<offset>``, 0600), cut them from the log and return the
        intact part; the caller's next record follows a ``repair`` record carrying their
        SHA-256, size and offset, so the repair is in the chain and never silent."""
        cut = data.rfind(b"\n") + 1
        torn = data[cut:]
        side = self.path.with_name(f"{self.path.name}.torn-{cut}")
        with open(side, "wb", opener=private_opener) as out:
            out.write(torn)
            out.flush()
            os.fsync(out.fileno())
        f.truncate(cut)
        f.flush()
        os.fsync(f.fileno())
        intact = data[:cut]
        seq, prev = _link_after(
            _last_line(intact),
            self.path,
            "the record before the torn tail is not valid either",
        )
        repair = {
            "torn_sha256": "sha256:" + hashlib.sha256(torn).hexdigest(),
            "torn_bytes": len(torn),
            "offset": cut,
            "saved_as": side.name,
        }
        _, line = self._write(f, seq, prev, "", REPAIR_KIND, repair)
        return intact + line

    def sign_head(self, run_id: str, signer: HeadSigner) -> RunLogRecord:
        """Append a ``head_signature`` record signing the record before it (see
        :mod:`privacy_profile.lineage.signing`)."""
        return self.append(
            run_id, "head_signature", lambda seq, prev: signer.payload(seq - 1, prev)
        )

    def record_output(
        self, run_id: str, path: str | Path, *, name: str | None = None, internal: bool = False
    ) -> RunLogRecord:
        """Record an output file with its SHA-256 and size (path relative to the log's folder
        when inside it). ``internal`` marks evidence that stays inside the trust boundary
        (quarantine, ingest report): its hash is verified, but it is not re-scanned for
        pseudonyms, which it may legitimately hold."""
        p = Path(path).resolve()
        at = p
        if self._publish is not None and p.is_relative_to(self._publish[0]):
            at = self._publish[1] / p.relative_to(self._publish[0])
        try:
            shown = str(at.relative_to(self.path.resolve().parent))
        except ValueError:
            shown = str(at)
        payload = {
            "name": name or p.name,
            "path": shown,
            "sha256": file_sha256(p),
            "bytes": p.stat().st_size,
        }
        return self.append(run_id, "internal_output" if internal else "output", payload)

    def records(self) -> list[RunLogRecord]:
        return verify_chain(self.path)

    def resolve(self, recorded_path: str) -> Path:
        p = Path(recorded_path)
        return p if p.is_absolute() else self.path.resolve().parent / p


def _last_line(data: bytes) -> str | None:
    lines = [ln for ln in data.decode("utf-8").splitlines() if ln.strip()]
    return lines[-1] if lines else None


def verify_chain(path: str | Path) -> list[RunLogRecord]:
    """Check every record's hash and link; return the records or raise :class:`AuditError`."""
    p = Path(path)
    if not p.is_file():
        raise AuditError(f"run log {p} does not exist", hint="give the run log's path")
    out: list[RunLogRecord] = []
    prev = GENESIS_HASH
    for lineno, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{p}:{lineno}"
        try:
            rec = json.loads(line)
            body = {k: rec[k] for k in ("seq", "time", "run_id", "kind", "payload", "prev_hash")}
            stored = rec["hash"]
        except (ValueError, KeyError, TypeError):
            raise AuditError(
                f"run log {where}: record is not valid JSON with the expected fields"
            ) from None
        if set(rec) != {*body, "hash"}:
            raise AuditError(f"run log {where}: record has unexpected fields")
        expected_seq = len(out)
        if body["seq"] != expected_seq:
            raise AuditError(
                f"run log {where}: seq is {body['seq']}, expected {expected_seq} "
                "(a record was deleted, inserted or reordered)"
            )
        if body["prev_hash"] != prev:
            raise AuditError(
                f"run log {where} (seq {expected_seq}): prev_hash does not match the hash of "
                f"the previous record (the chain is broken)"
            )
        if _record_hash(body) != stored:
            raise AuditError(
                f"run log {where} (seq {expected_seq}): hash mismatch, the record was modified"
            )
        out.append(RunLogRecord(**body, hash=stored))
        prev = stored
    return out
