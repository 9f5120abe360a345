"""Ingestion on Spark: each data table is read by Spark (one pass over the file), and every Arrow
batch of every partition goes through the same stages as a pandas chunk (validation, consent
gate, retention, pseudonymization, generalization, free-text scan:
:class:`~privacy_profile.ingest.table_stage.TableProcessor`) with ``mapInPandas``.

What runs where:

* driver, before the table: the consent records and the subjects table (small) were read by
  :func:`~privacy_profile.ingest.sanitize.sanitize`, which decided the consent gate once per
  user; the gate (per-user decisions, no raw value besides the user ids it is keyed by) is
  shipped to the executors with the task. The column scan for undeclared identifiers runs on
  the driver on the pandas loop's own sample (its first chunk, read with the pandas reader),
  and its decision is shipped too.
* executors: one :class:`TableProcessor` per partition, fed every Arrow batch; the PII
  scanner is built once per Python worker (a lazy singleton keyed by the policy's
  ``pii_scan`` section).
* executors, at the end of a partition: its sanitized rows are written as one Parquet file
  to the run's staging directory (:func:`staging_root`); only the partition's counts,
  quarantine evidence, activation tokens, the keyed digests of the identifiers it read (under
  the run's index key, shipped with the task; the values themselves stay) and the file's name
  go back to the driver, so the sanitized table never passes through the driver's JVM.
* driver, after: Spark's row ids become record numbers (1-based, file order) from the rows
  each input partition held, as the tasks counted them; the per-partition results are merged
  in record order (counts, quarantine, tokens), the identifier digests are merged into the
  run's identifier index (the release guard's), the staged files named by
  the partitions (a retried task's leftovers are ignored) are read back with pyarrow and the
  staging directory is deleted; then scanned free text is checked once more against the full
  index, and k-anonymity is enforced on the whole table, exactly as the pandas loop does.

**Keys on executors.** Pseudonymization and tokenization run on the executors, so the key
material travels with the task (serialized by Spark inside the cluster, never logged or
written by this package). The executors, the driver and Spark's shuffle/broadcast files are
inside the trust boundary: on a shared cluster enable ``spark.authenticate``,
``spark.network.crypto.enabled`` and ``spark.io.encryption.enabled`` (see docs/scale.md). So
is the staging directory (pseudonymous rows, deleted after each table is read back).
"""

from __future__ import annotations

import atexit
import os
import pickle
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy_profile.errors import EngineError, InputError
from privacy_profile.ingest.backend import FinishedTable, PandasBackend
from privacy_profile.ingest.consent import PreparedGate
from privacy_profile.ingest.identifiers import IndexDigests
from privacy_profile.ingest.locations import InputLocation
from privacy_profile.ingest.parts import part_files
from privacy_profile.ingest.readers import (
    RawChunk,
    check_part_headers,
    csv_header,
    encoding_error,
    parse_csv_lines,
)
from privacy_profile.ingest.report import TableReportBuilder
from privacy_profile.ingest.table_stage import IngestRun, TableProcessor, quasi_identifiers
from privacy_profile.ingest.validate import TableSchema, check_columns, validate_chunk
from privacy_profile.policy.enums import FileFormat
from privacy_profile.policy.model import ColumnRole, Table
from privacy_profile.spark.tasks import (
    ROW,
    RowIds,
    SealedKey,
    Staged,
    Task,
    executor_run,
    merge_counts,
    read_staged,
    write_staged,
)

__all__ = ["STAGING_CONF", "SparkBackend", "staging_root"]

_LINE = "_pp_line"  # a CSV file's physical line (raw bytes), parsed on the executors
_FILE = "_pp_file"  # a directory's part files: the file a row came from (its name)
_BLOCK = "_pp_block"  # ... and the start byte of the input split that read it

#: The Spark configuration key naming the staging directory (``--conf
#: spark.privacy_profile.staging=hdfs:///tmp/pp``): a directory the executors write the
#: sanitized partitions to and the driver reads them back from.
STAGING_CONF = "spark.privacy_profile.staging"

#: A local input file smaller than this runs on the driver with the pandas loop: each Spark job
#: costs about a second of scheduling and JVM work, more than the pandas loop spends on such a
#: table. ``SparkBackend(driver_bytes=0)`` sends every table to Spark (the parity tests do).
DRIVER_BYTES = 64 * 1024 * 1024

#: Rows per Arrow batch handed to the stages (``spark.sql.execution.arrow.maxRecordsPerBatch``
#: while a table runs; Spark's default, 10,000, made the per-batch set-up of the stages cost
#: more than their per-row work). The pandas loop's chunks are 500,000 rows.
BATCH_ROWS = 200_000
_BATCH_CONF = "spark.sql.execution.arrow.maxRecordsPerBatch"


@dataclass
class _Part:
    """One partition's result, returned to the driver (its sanitized rows are in ``file``)."""

    file: str | None  # the staged Parquet file of the partition's sanitized rows, if any
    rows: int
    held: dict[int, int]  # rows read per input partition (Spark row ids, see RowIds)
    segments: dict[tuple[int, int], tuple[int, int]]  # parts: (part, split) -> (first id, rows)
    undecodable: list[int]  # Spark row ids of lines that do not decode (the first per batch)
    quarantines: list[pd.DataFrame]
    report: TableReportBuilder
    tokens: list[pd.DataFrame]
    identifiers: list[IndexDigests]  # keyed digests of the raw identifiers read (no value)


def _process(task: Task, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The executor side: the same stages as a pandas chunk, for every Arrow batch of one
    partition, with one run context and one :class:`TableProcessor` per partition (their set-up,
    keys and scanner included, is paid once per partition, not per batch)."""
    from pathlib import Path

    spec = task.policy.tables[task.name]
    schema = TableSchema(name=task.name, spec=spec, path=Path(task.file), now=task.now)
    ids = [
        (c, col.category)
        for c, col in spec.columns.items()
        if col.role is ColumnRole.DIRECT_IDENTIFIER and c in task.columns
    ]
    run = executor_run(task)
    rb = TableReportBuilder(task.name, task.file)
    proc = TableProcessor(run, task.name, spec, task.gate, rb)
    proc.col_scan_done = True
    proc.scan_dropped = set(task.scan_dropped)
    held: Counter[int] = Counter()  # rows per input partition (for the record numbers)
    segments: dict[tuple[int, int], tuple[int, int]] = {}
    headers_seen: set[int] = set()  # parts whose header line this partition already met
    undecodable: list[int] = []
    for pdf in batches:
        ids_ = pdf[ROW].astype("int64").to_numpy()
        parts, counts = np.unique(ids_ >> RowIds.SHIFT, return_counts=True)
        held.update(dict(zip(parts.tolist(), counts.tolist(), strict=True)))
        malformed: list[tuple[int, str]] = []
        if task.part_names is not None:
            body = _part_segments(task.part_names, pdf, ids_, segments, headers_seen)
            if task.csv_names is None:
                body = np.ones(len(ids_), dtype=bool)
        else:
            body = ids_ != 0  # one CSV file: id 0 is its first line, the header
        if task.csv_names is not None:  # physical lines: the CSV reader's own parsing
            lines = [bytes(x) for x in pdf[_LINE].to_numpy(dtype=object)[body]]
            parsed, malformed, bad = parse_csv_lines(
                lines, ids_[body], list(task.csv_names), task.encoding
            )
            if bad is not None:
                undecodable.append(bad)
            frame = parsed[list(task.columns)]
        else:
            frame = pd.DataFrame(
                {c: pdf[c].astype("string").array for c in task.columns},
                index=pd.Index(ids_, name=ROW),
            )
        rb.input_rows += len(frame) + len(malformed)
        for c, category in ids:  # digested with the run's key; the digests go to the driver
            run.identifiers.add(frame[c], category)
        v = validate_chunk(RawChunk(frame, task.columns, malformed), schema)
        for reason, n in v.reasons.items():
            rb.quarantine(reason, n)
        rb.unknown_values.update(v.unknown_values)
        proc.process(v)
    identifiers = run.identifiers.export()
    outputs = [o for o in proc.outputs if len(o)]
    file, rows = None, 0
    if outputs:
        frame = pd.concat(outputs) if len(outputs) > 1 else outputs[0]
        file, rows = write_staged(task.staging, frame), len(frame)
    part = _Part(
        file,
        rows,
        dict(held),
        segments,
        undecodable,
        proc.quarantines,
        rb,
        proc.tokens,
        identifiers,
    )
    yield pd.DataFrame({"part": [pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)]})


def _part_segments(
    names: tuple[str, ...],
    pdf: pd.DataFrame,
    ids: npt.NDArray[np.int64],
    segments: dict[tuple[int, int], tuple[int, int]],
    headers_seen: set[int],
) -> npt.NDArray[np.bool_]:
    """A batch of a directory's rows: add each (part, split) run of rows to ``segments``
    (first id, rows; see :class:`RowIds`) and return which rows are not a part's header line
    (for a CSV; a partition reads a split in order, so a part's header is the first row of its
    split that starts at byte 0, which this partition reads whole)."""
    index = {n: i for i, n in enumerate(names)}
    part = pdf[_FILE].map(index).to_numpy(dtype=np.int64)
    block = pdf[_BLOCK].astype("int64").to_numpy()
    keys = pd.DataFrame({"p": part, "b": block, "id": ids})
    for (p, b), g in keys.groupby(["p", "b"], sort=False)["id"]:
        key = (int(p), int(b))
        first, n = int(g.min()), len(g)
        if key in segments:
            first, n = min(first, segments[key][0]), n + segments[key][1]
        segments[key] = (first, n)
    starts = block == 0
    first_of_part = starts & ~pd.Series(np.where(starts, part, -1)).duplicated().to_numpy()
    header = first_of_part & ~np.isin(part, list(headers_seen))
    headers_seen.update(int(p) for p in part[header])
    body: npt.NDArray[np.bool_] = ~header
    return body


def staging_root(spark: Any, staging: str | None = None) -> tuple[str, bool]:
    """Where the executors stage sanitized partitions: ``staging``, else the session's
    :data:`STAGING_CONF`, else (a local master only) a new private temporary directory on this
    machine. Returns the directory (a local path or a file system URI pyarrow opens: hdfs://,
    s3://, gs://) and whether it was created here (and is removed after the run).

    A cluster needs a directory every executor and the driver reach: without one the run is
    refused before anything is read."""
    chosen = staging or spark.conf.get(STAGING_CONF, None)
    if chosen:
        if "://" not in chosen:
            chosen = os.path.abspath(chosen)
        return str(chosen), False
    master = str(spark.sparkContext.master)
    if not master.startswith("local"):
        raise InputError(
            f"the Spark engine on master {master!r} needs a staging directory shared by the "
            "executors and the driver",
            hint=f"pass --spark-staging (privacy-profile run), --conf {STAGING_CONF}=... "
            "(spark-submit) or SparkBackend(staging=...): a shared file system path or an "
            "hdfs://, s3:// or gs:// URI; it holds pseudonymous rows: keep it inside the "
            "trust boundary",
        )
    return tempfile.mkdtemp(prefix="privacy_profile-spark-"), True


def _spark_failures() -> tuple[type[BaseException], ...]:
    """The exceptions of a failed Spark job or a lost connection to the JVM."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JError)


def _parts_of(location: InputLocation, name: str, spec: Table) -> list[InputLocation] | None:
    """The part files of a table given as a directory (name order), else None (one file)."""
    return part_files(location, name, spec) if location.is_dir() else None


def _size(parts: list[InputLocation] | None) -> int:
    return sum(p.size() for p in parts or [])


def _row_ids(results: list[_Part], *, header_lines: int, parts: bool) -> RowIds:
    """The record numbers of the table's Spark row ids, from what the partitions counted."""
    if not parts:
        held: Counter[int] = Counter()
        for p in results:
            held.update(p.held)
        return RowIds(held, header_lines=header_lines)
    segments: dict[tuple[int, int], tuple[int, int]] = {}
    for p in results:  # a split's rows may have been spread over several tasks
        for key, (first, n) in p.segments.items():
            if key in segments:
                first, n = min(first, segments[key][0]), n + segments[key][1]
            segments[key] = (first, n)
    return RowIds.of_segments(segments, header_lines=header_lines)


class SparkBackend:
    """Runs the data tables' stages on a Spark session (see the module docstring).

    ``spark`` is a ``pyspark.sql.SparkSession`` (:func:`~privacy_profile.spark.spark_session`);
    ``partitions`` the number of partitions each table is split into (default: the session's
    default parallelism); ``staging`` the directory the executors write sanitized partitions
    to (default: :func:`staging_root`); ``batch_rows`` the rows per Arrow batch the stages get;
    ``keep_tables`` leaves each data table's sanitized rows on Spark (a
    :class:`~privacy_profile.spark.tables.SparkTable` in the result; False reads them back to
    the driver, as before). Rows kept on Spark are deleted by :meth:`cleanup` (the engine calls
    it at the end of a run; at the latest, when the process exits).
    """

    name = "spark"

    def __init__(
        self,
        spark: Any,
        *,
        partitions: int | None = None,
        driver_bytes: int = DRIVER_BYTES,
        staging: str | None = None,
        batch_rows: int = BATCH_ROWS,
        keep_tables: bool = True,
    ) -> None:
        if batch_rows < 1:
            raise InputError(
                f"batch_rows must be at least 1, got {batch_rows}", hint="use e.g. 200000"
            )
        self.spark = spark
        self.batch_rows = batch_rows
        self.partitions = partitions
        self.driver_bytes = driver_bytes
        self.staging = staging
        self.keep_tables = keep_tables
        self._created: list[str] = []  # private staging roots made here (removed by cleanup)
        self._kept: list[str] = []  # staging directories of tables kept on Spark
        atexit.register(self.cleanup)

    def describe(self) -> dict[str, str]:
        sc = self.spark.sparkContext
        return {
            "engine": self.name,
            "spark_application_id": str(sc.applicationId),
            "spark_master": str(sc.master),
            "spark_version": str(sc.version),
        }

    # -- reading ---------------------------------------------------------------------------------
    def _read(self, run: IngestRun, name: str, spec: Table) -> tuple[Any, tuple[str, ...], bool]:
        """The table, its header and whether it is read as lines, in one pass over the file:
        string columns (or, for a CSV, its physical lines) plus ``_row``, Spark's row id
        (see :class:`RowIds`); the record numbers (file order) are derived on the driver
        afterwards from the rows each input partition held, which the tasks count.

        A CSV file is read as the raw bytes of its physical lines (split on ``\\n`` only) and
        decoded and parsed on the executors by the CSV reader's own code
        (:func:`~privacy_profile.ingest.readers.parse_csv_lines`): blank lines, a record with
        too many or too few fields, an unbalanced quote and a line that does not decode are
        handled exactly as on pandas (Spark's CSV source pads or truncates such a record).

        Spark reads a file's splits in file order and ``monotonically_increasing_id`` is
        (input partition << 33) + position in it, so the id orders rows as the file does. The
        table is spread round-robin over the session's parallelism when the file came in fewer
        partitions (a file under 128 MiB is one); the ids travel with the rows."""
        from pyspark.sql import functions as F

        location = run.inputs.location(name, spec)
        parts = _parts_of(location, name, spec)
        paths = [str(p) for p in parts] if parts is not None else [str(location)]
        source: str | list[str] = paths if parts is not None else paths[0]
        # a directory's rows carry their part file and input split (see RowIds.of_segments)
        where = []
        if parts is not None:
            meta = F.col("_metadata")
            where = [
                meta["file_name"].alias(_FILE),
                meta["file_block_start"].cast("long").alias(_BLOCK),
            ]
        reader = self.spark.read
        lines = spec.format is FileFormat.CSV
        if lines:
            if parts is not None:
                header = tuple(check_part_headers(parts, name, spec) or ())
            else:
                header = tuple(csv_header(location, name, spec.encoding))
            # raw bytes of each physical line (split on the \\n byte, which no supported
            # encoding uses inside a character), decoded and parsed on the executors
            raw = reader.option("lineSep", "\n").text(source)
            numbered = raw.select(
                F.col("value").cast("binary").alias(_LINE),
                F.monotonically_increasing_id().alias(ROW),
                *where,
            )
        else:
            if parts is not None:
                check_part_headers(parts, name, spec)
            if spec.format is FileFormat.PARQUET:
                df = reader.parquet(*paths)
            else:
                df = reader.json(source, primitivesAsString=True)
            header = tuple(df.columns)
            columns = [df[c].cast("string").alias(c) for c in df.columns]
            numbered = df.select(*columns, F.monotonically_increasing_id().alias(ROW), *where)
        n = int(self.partitions or self.spark.sparkContext.defaultParallelism)
        # a directory of CSV parts keeps Spark's partitions: a part's header is recognised as
        # the first line of its first split, which must reach one task whole and in order
        spread = not (lines and parts is not None)
        if spread and numbered.rdd.getNumPartitions() < n:
            numbered = numbered.repartition(max(n, 1))
        return numbered, header, lines

    # -- the table -------------------------------------------------------------------------------
    def run_table(
        self, run: IngestRun, name: str, spec: Table, gate: PreparedGate, rb: TableReportBuilder
    ) -> TableProcessor:
        # an in-memory table is already on the driver; rights suppression (a register
        # snapshot applied while reading) runs on the driver in this release; so does a small
        # file (see DRIVER_BYTES)
        path = run.inputs.location(name, spec) if name not in run.inputs.frames else None
        if (
            path is None
            or run.subject_filter is not None
            or (path.is_file() and path.size() < self.driver_bytes)
            or (path.is_dir() and _size(_parts_of(path, name, spec)) < self.driver_bytes)
        ):
            return PandasBackend().run_table(run, name, spec, gate, rb)
        if not path.is_file() and not path.is_dir():
            raise InputError(
                f"{path}: input file for table {name!r} not found",
                hint=f"put {spec.file_name(name)} in the input directory",
            )
        try:
            df, header, lines = self._read(run, name, spec)
            return self._run_spark(run, name, spec, gate, rb, path, df, header, lines)
        except _spark_failures() as e:
            # the message of a failed Spark job can quote input rows: only its type is shown
            raise EngineError(
                f"the Spark job for table {name!r} failed ({type(e).__name__}); nothing was "
                "spent or released",
                hint="see the Spark application's logs (application id "
                f"{self.spark.sparkContext.applicationId}); an executor out of memory wants "
                "more executor memory or more partitions; PRIVACY_PROFILE_DEBUG=1 shows the "
                "cause",
            ) from e

    def _run_spark(
        self,
        run: IngestRun,
        name: str,
        spec: Table,
        gate: PreparedGate,
        rb: TableReportBuilder,
        path: InputLocation,
        df: Any,
        header: tuple[str, ...],
        lines: bool,
    ) -> TableProcessor:
        schema = TableSchema(name=name, spec=spec, path=path, now=run.now)
        parts = _parts_of(path, name, spec)
        rb.undeclared_columns_dropped.extend(check_columns(header, schema))
        columns = tuple(c for c in header if c in spec.columns)
        proc = TableProcessor(run, name, spec, gate, rb)
        if run.policy.pii_scan.column_scan and run.scanner is not None:
            # the very sample the pandas loop scans: its first non-empty validated chunk, read
            # here with the pandas reader (a Spark pass for it cost more than the scan itself)
            chunks = run.inputs.read(
                name, spec, chunk_rows=run.chunk_rows, block_bytes=run.block_bytes
            )
            for chunk in chunks:
                first = validate_chunk(chunk, schema).frame
                if len(first):
                    proc._column_scan(first)
                    break
        proc.col_scan_done = True
        root = self._staging_root()
        staging = f"{root.rstrip('/')}/{uuid.uuid4().hex}-{name}"
        task = Task(
            policy=run.policy,
            purpose=run.purpose.data_use,
            domain=run.domain,
            keys=tuple((d, SealedKey.of(k)) for d, k in sorted(run.keys.domains.items())),
            custodian=SealedKey.of(run.keys.custodian) if run.keys.custodian else None,
            now=run.now,
            scan=run.scanner is not None,
            name=name,
            file=rb.file,
            gate=gate,
            scan_dropped=frozenset(proc.scan_dropped),
            columns=columns,
            staging=staging,
            index=run.identifiers.twin(),
            csv_names=header if lines else None,
            encoding=spec.encoding,
            part_names=None if parts is None else tuple(p.name for p in parts),
        )

        def process(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            return _process(task, batches)

        import pyarrow.fs as pafs

        fs, staging_path = pafs.FileSystem.from_uri(staging)
        batch_before = self.spark.conf.get(_BATCH_CONF, None)
        # k-anonymity over a table's quasi-identifiers needs the whole table in one place: such
        # a table (rare outside the subjects table) is read back to the driver, as are the
        # tables of a backend told to keep nothing on Spark
        keep = self.keep_tables and not quasi_identifiers(run.policy, name, spec)
        kept = False
        try:
            fs.create_dir(staging_path, recursive=True)
            self.spark.conf.set(_BATCH_CONF, str(self.batch_rows))
            where = [] if parts is None else [_FILE, _BLOCK]
            selected = df.select(_LINE, ROW, *where) if lines else df.select(*columns, ROW, *where)
            rows = selected.mapInPandas(process, "part binary").collect()
            results: list[_Part] = [pickle.loads(r["part"]) for r in rows]
            ids = _row_ids(results, header_lines=1 if lines else 0, parts=parts is not None)
            bad = [b for p in results for b in p.undecodable]
            if bad:
                records = ids.records(np.asarray(bad, dtype=np.int64))
                first = bad[int(np.argmin(records))]
                at, record = path, int(records.min())
                if parts is not None:  # the part file and the row inside it
                    index, record = ids.locate(first)
                    at = parts[index]
                raise encoding_error(at, name, spec.encoding, f"row {record}, line {record + 1}")
            files = [p.file for p in results if p.file is not None]
            if files and keep:  # the rows stay in the staged files (finish_table)
                proc.staged = Staged(task, tuple(files), ids, staging)
                self._kept.append(staging)
                kept = True
            elif files:
                # record order, as the pandas loop leaves them (partitions may come round-robin)
                out = read_staged(files)
                out.index = pd.Index(ids.records(out.index.to_numpy()), name=ROW)
                # a directory's parts may come in any partition order: sort by record
                proc.outputs = [out.sort_index(kind="stable") if parts is not None else out]
        finally:
            if batch_before is None:
                self.spark.conf.unset(_BATCH_CONF)
            else:
                self.spark.conf.set(_BATCH_CONF, batch_before)
            if not kept:
                fs.delete_dir(staging_path)
        # the identifiers each partition read join the run's index (as digests under its key):
        # the row checks after every table (sanitize) see all of them, as on pandas
        tokens: list[pd.DataFrame] = []
        for p in results:
            merge_counts(rb, p.report)
            run.identifiers.merge(p.identifiers)
            for q in p.quarantines:
                if len(q):
                    q[ROW] = ids.records(q[ROW].to_numpy())
                proc.quarantines.append(q)
            tokens.extend(p.tokens)
        quarantines = [q for q in proc.quarantines if len(q)]
        if quarantines:
            merged = pd.concat(quarantines, ignore_index=True)
            proc.quarantines = [merged.sort_values(ROW, kind="stable").reset_index(drop=True)]
        proc.tokens = tokens
        return proc

    # -- the rows kept on Spark ------------------------------------------------------------------
    def _staging_root(self) -> str:
        """This backend's staging root (a private temporary directory it created, for a
        local master without a configured one; see :func:`staging_root`)."""
        root, created = staging_root(self.spark, self.staging)
        if created:
            self._created.append(root)
        return root

    def finish_table(
        self, run: IngestRun, proc: TableProcessor, suppressed: frozenset[str]
    ) -> FinishedTable:
        """The per-row checks, the exclusion of subjects k-anonymity suppressed and the search
        for raw identifiers, on the executors, over the rows ``proc`` kept on Spark (see
        :mod:`privacy_profile.spark.finish`); the table stays on Spark."""
        from privacy_profile.spark.finish import finish_staged

        try:
            return finish_staged(self.spark, run, proc, suppressed)
        except _spark_failures() as e:
            raise EngineError(
                f"the Spark job checking table {proc.name!r} failed ({type(e).__name__}); "
                "nothing was spent or released",
                hint="see the Spark application's logs (application id "
                f"{self.spark.sparkContext.applicationId}); PRIVACY_PROFILE_DEBUG=1 shows the "
                "cause",
            ) from e

    def cleanup(self) -> None:
        """Delete the staged rows of every table this backend kept on Spark (the engine calls
        this when its run ends; after it, those tables can no longer be read)."""
        import pyarrow.fs as pafs

        for root in self._created:
            shutil.rmtree(root, ignore_errors=True)
        self._created.clear()
        for d in self._kept:
            try:
                fs, path = pafs.FileSystem.from_uri(d)
                fs.delete_dir(path)
            except (OSError, FileNotFoundError):  # already gone
                continue
        self._kept.clear()
