"""The last ingestion steps of a table whose rows stay on Spark, run on the executors once every
table was read: the per-row identifier checks
(:func:`~privacy_profile.ingest.row_checks.check_rows`), the exclusion of the subjects
k-anonymity suppressed in the subjects table
(:func:`~privacy_profile.ingest.row_checks.exclude_subjects`) and the search for raw
identifier values in every string column (what
:func:`~privacy_profile.ingest.sanitize.refuse_raw_identifiers` does on the driver).

One task per staged file: it reads the file with pyarrow (the pandas loop's dtypes), turns
Spark's row ids into record numbers, runs the very functions the pandas loop runs, and writes
the kept rows as one Parquet file (record number in :data:`~privacy_profile.spark.tables.RECORD`,
times in microseconds, which Spark reads). Back to the driver come only counts, the quarantine
evidence of rejected rows (pseudonyms and keyed digests, no raw value) and the names of the
columns where a raw identifier was found. The executors get the run's identifier index as keyed
digests (:meth:`~privacy_profile.ingest.identifiers.IdentifierIndex.export`), never values.
"""

from __future__ import annotations

import pickle
import uuid
from dataclasses import dataclass
from typing import Any

import pandas as pd

from privacy_profile.ingest.backend import FinishedTable
from privacy_profile.ingest.identifiers import IndexDigests
from privacy_profile.ingest.report import TableReportBuilder
from privacy_profile.ingest.row_checks import check_rows, exclude_subjects
from privacy_profile.ingest.sanitize import string_leaks
from privacy_profile.ingest.table_stage import IngestRun, TableProcessor
from privacy_profile.spark.tables import RECORD, SparkTable
from privacy_profile.spark.tasks import ROW, Staged, executor_run, merge_counts, read_staged

__all__ = ["finish_staged"]


@dataclass(frozen=True)
class _FinishTask:
    staged: Staged
    digests: list[IndexDigests]  # the run's whole identifier index, as keyed digests
    suppressed: frozenset[str]
    out: str  # the directory of the finished files


@dataclass
class _Done:
    file: str | None
    rows: int
    report: TableReportBuilder
    quarantine: pd.DataFrame
    leaks: dict[str, int]  # "column (LABEL" -> values found
    columns: tuple[str, ...]  # the table's columns, in the pandas loop's order


def _write(out: str, frame: pd.DataFrame) -> str:
    import pyarrow as pa
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    fs, base = pafs.FileSystem.from_uri(out)
    path = f"{base.rstrip('/')}/part-{uuid.uuid4().hex}.parquet"
    table = pa.Table.from_pandas(frame, preserve_index=False)
    # Spark reads microsecond times, not nanoseconds (the values are whole seconds anyway)
    pq.write_table(
        table,
        path,
        filesystem=fs,
        compression="lz4",
        coerce_timestamps="us",
        allow_truncated_timestamps=True,
    )
    return f"{out.rstrip('/')}/{path.rsplit('/', 1)[1]}"


def _finish_file(task: _FinishTask, file: str) -> bytes:
    """One staged file through the checks (executor side); the pickled :class:`_Done`."""
    st = task.staged
    run: IngestRun = executor_run(st.task, task.digests)
    name = st.task.name
    spec = st.task.policy.tables[name]
    frame = read_staged([file])
    frame.index = pd.Index(st.ids.records(frame.index.to_numpy()), name=ROW)
    rb = TableReportBuilder(name, st.task.file)
    frame, checked = check_rows(run, name, spec, frame, rb)
    frame = exclude_subjects(frame, spec.subject_column, task.suppressed, rb)
    leaks = string_leaks(run.identifiers, frame)
    written = None
    if len(frame) and not leaks:
        kept = frame.copy()
        kept[RECORD] = frame.index.to_numpy(dtype="int64")
        written = _write(task.out, kept.reset_index(drop=True))
    return pickle.dumps(
        _Done(written, len(frame), rb, checked, leaks, tuple(str(c) for c in frame.columns)),
        protocol=pickle.HIGHEST_PROTOCOL,
    )


def finish_staged(
    spark: Any, run: IngestRun, proc: TableProcessor, suppressed: frozenset[str]
) -> FinishedTable:
    """Check the rows ``proc`` kept on Spark (see the module doc); the table stays there."""
    st: Staged = proc.staged
    out = f"{st.directory.rstrip('/')}/finished"
    import pyarrow.fs as pafs

    fs, path = pafs.FileSystem.from_uri(out)
    fs.create_dir(path, recursive=True)
    task = _FinishTask(st, run.identifiers.export(), suppressed, out)

    def one(file: str) -> bytes:
        return _finish_file(task, file)

    files = list(st.files)
    done = [
        pickle.loads(b)
        for b in spark.sparkContext.parallelize(files, max(len(files), 1)).map(one).collect()
    ]
    checked: list[pd.DataFrame] = []
    leaks: dict[str, int] = {}
    for d in done:
        merge_counts(proc.rb, d.report)
        if len(d.quarantine):
            checked.append(d.quarantine)
        for k, n in d.leaks.items():
            leaks[k] = leaks.get(k, 0) + n
    ingest_q = [q for q in proc.quarantines if len(q)]
    quarantine = pd.concat(ingest_q, ignore_index=True) if ingest_q else None
    if checked:  # after the stage quarantine, in record order, as the pandas loop has it
        rows_q = pd.concat(checked, ignore_index=True).sort_values("_row", kind="stable")
        quarantine = (
            rows_q.reset_index(drop=True)
            if quarantine is None
            else pd.concat([quarantine, rows_q], ignore_index=True)
        )
    if quarantine is None:
        quarantine = pd.DataFrame({"_row": pd.Series(dtype="int64")})
    found = tuple(
        f"{proc.name}.{k}, {n} distinct value{'s' if n != 1 else ''})"
        for k, n in sorted(leaks.items())
    )
    kept = [d.file for d in done if d.file is not None]
    rows = sum(d.rows for d in done)
    if found or not kept:
        return FinishedTable(None, quarantine, found)
    columns = next(d.columns for d in done if d.file is not None)
    source = spark.read.parquet(*kept)
    return FinishedTable(SparkTable(source, columns, rows, tuple(kept)), quarantine)
