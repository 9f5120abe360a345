"""What an executor task of the Spark engine carries and rebuilds: the table's task (policy,
sealed keys, gate, index key), the run context on the executor (:func:`executor_run`, the PII
scanner built once per Python worker), the staged Parquet files of sanitized rows (written and
read with pyarrow, never through the JVM), Spark row ids as record numbers, and the merge of
per-partition counts. Shared by the table pass (:mod:`privacy_profile.spark.ingest`) and the
check pass (:mod:`privacy_profile.spark.finish`).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy_profile.ingest.consent import PreparedGate
from privacy_profile.ingest.identifiers import IdentifierIndex, IndexDigests, IndexTwin
from privacy_profile.ingest.keys import KeyMaterial, KeyRing
from privacy_profile.ingest.pseudonymize import Pseudonymizer
from privacy_profile.ingest.report import TableReportBuilder
from privacy_profile.ingest.scan import TextScanner
from privacy_profile.ingest.table_stage import IngestRun
from privacy_profile.policy.model import Policy

__all__ = [
    "ROW",
    "RowIds",
    "SealedKey",
    "Staged",
    "Task",
    "executor_run",
    "merge_counts",
    "read_staged",
    "write_staged",
]

ROW = "_row"


@dataclass(frozen=True)
class SealedKey:
    """A key's fields for the executors; rebuilt there with :meth:`KeyMaterial.from_bytes`
    (which recomputes the fingerprint). ``repr`` never shows the secret."""

    key_id: str
    source: str
    development: bool
    secret: bytes = field(repr=False)

    @classmethod
    def of(cls, k: KeyMaterial) -> SealedKey:
        return cls(k.key_id, k.source, k.development, k.secret())

    def open(self) -> KeyMaterial:
        return KeyMaterial.from_bytes(
            self.secret, key_id=self.key_id, source=self.source, development=self.development
        )


@dataclass(frozen=True)
class Task:
    """Everything an executor needs for one table (pickled by Spark with the task)."""

    policy: Policy
    purpose: str
    domain: str
    keys: tuple[tuple[str, SealedKey], ...] = field(repr=False)
    custodian: SealedKey | None = field(repr=False)
    now: Any
    scan: bool
    name: str
    file: str
    gate: PreparedGate
    scan_dropped: frozenset[str]
    columns: tuple[str, ...]
    staging: str  # this table's staging directory (a local path or a pyarrow file system URI)
    index: IndexTwin = field(repr=False)  # the run's identifier index key: digests, not values
    csv_names: tuple[str, ...] | None = None  # a CSV read as lines: its header's names
    encoding: str = "utf-8"  # the CSV's encoding
    part_names: tuple[str, ...] | None = None  # a directory of part files: theirs, name order

    def key_ring(self) -> KeyRing:
        return KeyRing(
            domains={d: k.open() for d, k in self.keys},
            custodian=self.custodian.open() if self.custodian else None,
        )


_SCANNERS: dict[str, TextScanner] = {}  # one PII scanner per Python worker and configuration


def _scanner(policy: Policy) -> TextScanner:
    from privacy_profile.pii.for_policy import scanner_for

    key = json.dumps(policy.pii_scan.model_dump(mode="json"), sort_keys=True)
    if key not in _SCANNERS:
        _SCANNERS[key] = scanner_for(policy)
    return _SCANNERS[key]


def executor_run(task: Task, digests: list[IndexDigests] | None = None) -> IngestRun:
    """The run context on an executor: the task's keys and policy, the PII scanner of this
    worker, and an identifier index with the run's key (holding ``digests``, if given)."""
    from privacy_profile.ingest.sources import InputTables

    keys = task.key_ring()
    identifiers = IdentifierIndex.from_twin(task.index)
    if digests:
        identifiers.merge(digests)
    return IngestRun(
        policy=task.policy,
        purpose=task.policy.purpose(task.purpose),
        domain=task.domain,
        keys=keys,
        now=task.now,
        scanner=_scanner(task.policy) if task.scan else None,
        inputs=InputTables(),
        chunk_rows=1 << 30,
        block_bytes=1,
        identifiers=identifiers,
        pseudonymizer=Pseudonymizer(keys),
    )


def write_staged(staging: str, frame: pd.DataFrame) -> str:
    """Write one partition's sanitized rows (record number as the index) as a Parquet file in
    ``staging`` under a name no other task attempt uses; return the file's path."""
    import pyarrow as pa
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    fs, base = pafs.FileSystem.from_uri(staging)
    path = f"{base.rstrip('/')}/part-{uuid.uuid4().hex}.parquet"
    table = pa.Table.from_pandas(frame, preserve_index=True)
    pq.write_table(table, path, filesystem=fs, compression="lz4")
    return f"{staging.rstrip('/')}/{path.rsplit('/', 1)[1]}"


def read_staged(files: list[str]) -> pd.DataFrame:
    """The staged files' rows as one frame in record order, with the pandas loop's dtypes (the
    Parquet files carry the pandas schema)."""
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    frames = []
    for f in files:
        fs, path = pafs.FileSystem.from_uri(f)
        frames.append(pq.read_table(path, filesystem=fs).to_pandas())
    frame = pd.concat(frames) if len(frames) > 1 else frames[0]
    return frame.sort_index(kind="stable")


@dataclass(frozen=True)
class Staged:
    """The rows of one table the executors staged and left there (``TableProcessor.staged``):
    the table's task, its staged files (Spark row ids as their index), the row-id to record
    number map and the table's staging directory."""

    task: Task
    files: tuple[str, ...]
    ids: RowIds
    directory: str


class RowIds:
    """Spark row ids (``monotonically_increasing_id``: input partition << 33 + position) to
    1-based record numbers in file order.

    For one file, from the rows each input partition held (:meth:`__init__`). For a directory
    of part files, from the rows of each *segment* (:meth:`of_segments`): the rows of one input
    split of one part, keyed by (the part's index in name order, the split's start byte), each
    a run of consecutive ids (its first id and its row count); the segments in (part, start)
    order are the concatenated file's order, whatever partitions Spark packed them into. A CSV
    read as lines has ``header_lines`` = 1: every file's first line is its header, and record
    numbers are the concatenated file's (one header kept), as the pandas reader numbers them."""

    SHIFT = 33
    MASK = (1 << 33) - 1

    def __init__(self, held: Counter[int], *, header_lines: int = 0) -> None:
        # a CSV read as lines: line 1 is the header, record numbers are line numbers - 1
        segments = {(0, p): (p << self.SHIFT, n) for p, n in held.items()}
        self._build(segments, header_lines)

    @classmethod
    def of_segments(
        cls, segments: dict[tuple[int, int], tuple[int, int]], *, header_lines: int = 0
    ) -> RowIds:
        """From the segments of a directory's parts: (part index, split start) -> (first id,
        rows)."""
        ids = cls.__new__(cls)
        ids._build(segments, header_lines)
        return ids

    def _build(self, segments: dict[tuple[int, int], tuple[int, int]], header_lines: int) -> None:
        self.header_lines = header_lines
        rows: list[tuple[int, int, int, int]] = []  # (first id, record, part, part's record)
        before = 0  # lines of the segments before this one, headers included
        part, in_part, parts_seen = -1, 0, 0
        for key in sorted(segments):
            first_id, n = segments[key]
            if key[0] != part:
                part, in_part, parts_seen = key[0], 0, parts_seen + 1
            record = before + 1 - header_lines * parts_seen
            rows.append((first_id, record, part, in_part + 1 - header_lines))
            before += n
            in_part += n
        rows.sort()
        self._start = np.asarray([r[0] for r in rows], dtype=np.int64)
        self._record = np.asarray([r[1] for r in rows], dtype=np.int64)
        self._part = np.asarray([r[2] for r in rows], dtype=np.int64)
        self._local = np.asarray([r[3] for r in rows], dtype=np.int64)

    def _segment(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
        return np.searchsorted(self._start, ids, side="right") - 1

    def records(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return ids
        seg = self._segment(ids)
        out: npt.NDArray[np.int64] = self._record[seg] + (ids - self._start[seg])
        return out

    def locate(self, row_id: int) -> tuple[int, int]:
        """(index of the part file, record number inside that part) of one row id."""
        seg = int(self._segment(np.asarray([row_id], dtype=np.int64))[0])
        return int(self._part[seg]), int(self._local[seg] + (row_id - self._start[seg]))


def merge_counts(into: TableReportBuilder, part: TableReportBuilder) -> None:
    """Add a partition's counts (every counter of the report builder, and the per-column
    counters) to the table's."""
    into.input_rows += part.input_rows
    for f in dataclasses.fields(part):
        mine, theirs = getattr(into, f.name), getattr(part, f.name)
        if isinstance(theirs, Counter):
            mine.update(theirs)
        elif isinstance(theirs, dict) and all(isinstance(v, Counter) for v in theirs.values()):
            for c, found in theirs.items():
                mine.setdefault(c, Counter()).update(found)
