"""Streaming look-ups and atomic rewrites of the files the toolkit wrote.

Parquet stores are read batch by batch (bounded memory, whatever the file's size); a rewrite
streams the kept rows into a temporary file in the same folder, fsyncs it and renames it over
the original (``os.replace``), then fsyncs the folder: a crash leaves the old file or the new
one, never a half-written file. Token and quarantine CSVs of runs are small (one row per
subject or rejected row) and are rewritten the same way.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = [
    "BATCH_ROWS",
    "parquet_domain",
    "parquet_files",
    "parquet_matches",
    "read_csv_strings",
    "rewrite_csv_without",
    "rewrite_parquet_without",
    "token_digests",
]

BATCH_ROWS = 262_144
READ_BUFFER = 1 << 20


def _open(path: Path) -> pq.ParquetFile:
    """A streaming reader: no pre-buffering (Arrow would keep every row group's column chunks
    it read cached until the file closes, so memory would grow with the file)."""
    return pq.ParquetFile(path, pre_buffer=False, buffer_size=READ_BUFFER)


def parquet_files(stores: Sequence[Path]) -> Iterator[Path]:
    """Every ``*.parquet`` file under the sanitized stores, in a stable order."""
    for store in stores:
        yield from sorted(p for p in Path(store).rglob("*.parquet") if p.is_file())


def parquet_domain(path: Path) -> tuple[str | None, str | None]:
    """(pseudonymisation domain, purpose) from the metadata ``write_sanitized`` stores."""
    md = pq.read_schema(path).metadata or {}
    raw = md.get(b"privacy_profile")
    if raw is None:
        return None, None
    meta = json.loads(raw)
    return meta.get("pseudonymization_domain"), meta.get("purpose")


def _mask(batch: pa.RecordBatch | pa.Table, columns: Sequence[str], value: str) -> pa.Array:
    mask = None
    for c in columns:
        col = batch.column(c)
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            continue
        hit = pc.fill_null(pc.equal(col, pa.scalar(value, type=col.type)), False)
        mask = hit if mask is None else pc.or_(mask, hit)
    if mask is None:
        return pa.array([False] * batch.num_rows, type=pa.bool_())
    return mask


def parquet_matches(path: Path, columns: Sequence[str], value: str) -> pa.Table:
    """The rows of ``path`` where any of ``columns`` equals ``value`` (streamed)."""
    pf = _open(path)
    cols = [c for c in columns if c in pf.schema_arrow.names]
    parts = []
    if cols:
        for batch in pf.iter_batches(batch_size=BATCH_ROWS):
            mask = _mask(batch, cols, value)
            if pc.any(mask).as_py():
                parts.append(batch.filter(mask))
    schema = pf.schema_arrow
    return pa.Table.from_batches(parts, schema=schema) if parts else schema.empty_table()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace_atomically(path: Path, write: Callable[[int], None]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        write(fd)  # write() owns and closes fd after fsync
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _filtered(batch: pa.RecordBatch, cols: Sequence[str], value: str) -> pa.RecordBatch:
    return batch.filter(pc.invert(_mask(batch, cols, value)))


def rewrite_parquet_without(path: Path, columns: Sequence[str], value: str) -> int:
    """Remove the rows where any of ``columns`` equals ``value``; return how many. The file
    is untouched when none match; otherwise it is replaced atomically (streamed)."""
    pf = _open(path)
    cols = [c for c in columns if c in pf.schema_arrow.names]
    if not cols:
        return 0
    removed = 0
    for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=cols):
        removed += int(pc.sum(_mask(batch, cols, value)).as_py() or 0)
    if not removed:
        return 0
    schema = pf.schema_arrow

    def write(fd: int) -> None:
        with os.fdopen(fd, "wb") as fh:
            writer = pq.ParquetWriter(fh, schema)
            try:
                for batch in _open(path).iter_batches(batch_size=BATCH_ROWS):
                    writer.write_batch(_filtered(batch, cols, value))
            finally:
                writer.close()
            fh.flush()
            os.fsync(fh.fileno())

    _replace_atomically(path, write)
    return removed


def read_csv_strings(path: Path) -> pa.Table:
    """A CSV written by the toolkit, every column as text."""
    with open(path, newline="", encoding="utf-8") as fh:
        names = next(csv.reader(fh), [])
    opts = pacsv.ConvertOptions(column_types={n: pa.string() for n in names})
    return pacsv.read_csv(path, convert_options=opts)


def token_digests(tokens: pa.Array | pa.ChunkedArray) -> list[str | None]:
    return [
        None if t is None else "sha256:" + hashlib.sha256(t.encode("utf-8")).hexdigest()
        for t in tokens.to_pylist()
    ]


def rewrite_csv_without(path: Path, keep: pa.Array) -> int:
    """Rewrite a CSV keeping the rows where ``keep`` is true; return the rows removed."""
    table = read_csv_strings(path)
    removed: int = table.num_rows - int(pc.sum(keep).as_py() or 0)
    if not removed:
        return 0
    kept = table.filter(keep)

    def write(fd: int) -> None:
        with os.fdopen(fd, "wb") as fh:
            data = kept.to_pandas().to_csv(index=False).encode("utf-8")
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    _replace_atomically(path, write)
    return removed
