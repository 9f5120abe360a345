"""Readers for CSV, Parquet and JSON Lines, streaming in chunks of all-string columns.

Each chunk is a :class:`RawChunk`: a DataFrame whose index is the 1-based record number in the
file (header not counted) and whose columns are pandas ``string`` (types are parsed later, in
:mod:`privacy_profile.ingest.validate`, so that a bad value quarantines one row, not the file),
plus the records that could not be parsed at all (wrong field count, broken JSON), with their
record numbers. Encoding errors stop the run with an :class:`InputError` naming the file and
the fix (declare ``encoding: gbk`` or re-save as UTF-8).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from privacy_profile.errors import InputError
from privacy_profile.policy.model import FileFormat, Table

__all__ = ["DEFAULT_BLOCK_BYTES", "DEFAULT_CHUNK_ROWS", "RawChunk", "read_table"]

DEFAULT_CHUNK_ROWS = 500_000
DEFAULT_BLOCK_BYTES = 32 << 20

MALFORMED = "malformed_record"


@dataclass
class RawChunk:
    """Part of a file: string columns indexed by record number, plus unparsable records."""

    frame: pd.DataFrame
    columns: tuple[str, ...]
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (record number, detail)


def _encoding_error(path: Path, table: str, encoding: str, where: str) -> InputError:
    other = "gbk" if encoding.startswith("utf") else "utf-8"
    return InputError(
        f"{path}: table {table!r} is not valid {encoding} text ({where})",
        hint=f"declare the file's encoding in the policy (tables.{table}.encoding: {other}) "
        "or re-save the file as UTF-8",
    )


def read_table(
    path: Path,
    table_name: str,
    spec: Table,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> Iterator[RawChunk]:
    """Stream ``path`` as the policy declares (format, encoding) in chunks."""
    if not path.is_file():
        raise InputError(
            f"{path}: input file for table {table_name!r} not found",
            hint=f"put {spec.file_name(table_name)} in the input directory "
            f"or set tables.{table_name}.file",
        )
    if spec.format is FileFormat.CSV:
        yield from _read_csv(path, table_name, spec, block_bytes)
    elif spec.format is FileFormat.PARQUET:
        yield from _read_parquet(path, table_name, chunk_rows)
    else:
        yield from _read_jsonl(path, table_name, spec, chunk_rows)


# --------------------------------------------------------------------------- CSV


def _csv_header(path: Path, table: str, encoding: str) -> list[str]:
    with path.open("rb") as f:
        first = f.readline()
    try:
        text = first.decode(encoding)
    except UnicodeDecodeError:
        raise _encoding_error(path, table, encoding, "header line") from None
    if not text.strip():
        raise InputError(f"{path}: table {table!r} has no header line", hint="add a header row")
    return [str(c) for c in pd.read_csv(io.StringIO(text), nrows=0).columns]


def _records_for(good: int, start: int, bad: list[int]) -> tuple[np.ndarray, int]:
    """Record numbers of ``good`` parsed rows from ``start``, skipping known bad records."""
    bad_arr = np.asarray(sorted(bad), dtype=np.int64)
    extra = 0
    while True:
        cand = np.arange(start, start + good + extra, dtype=np.int64)
        keep = cand[~np.isin(cand, bad_arr)]
        if len(keep) >= good:
            keep = keep[:good]
            nxt = int(keep[-1]) + 1 if good else start
            return keep, nxt
        extra += good - len(keep)


def _read_csv(path: Path, table: str, spec: Table, block_bytes: int) -> Iterator[RawChunk]:
    encoding = spec.encoding
    names = _csv_header(path, table, encoding)
    bad_rows: list[tuple[int, str]] = []

    def on_bad(row: pacsv.InvalidRow) -> str:
        rec = (row.number - 1) if row.number is not None else -1
        bad_rows.append(
            (rec, f"expected {row.expected_columns} fields, found {row.actual_columns}")
        )
        return "skip"

    pa_enc = "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding
    try:
        reader = pacsv.open_csv(
            str(path),
            read_options=pacsv.ReadOptions(
                encoding=pa_enc, block_size=block_bytes, use_threads=False
            ),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_bad, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:
        raise _encoding_error(path, table, encoding, _where(e)) from None
    if encoding == "utf-8-sig" and names and names[0].startswith("\ufeff"):
        names[0] = names[0][1:]
    nxt = 1
    seen_bad: list[int] = []
    try:
        for batch in reader:
            df = batch.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
            df.columns = names
            seen_bad.extend(r for r, _ in bad_rows if r >= 0)
            idx, nxt = _records_for(len(df), nxt, seen_bad)
            df.index = pd.Index(idx, name="_row")
            malformed = list(bad_rows)
            bad_rows.clear()
            yield RawChunk(df, tuple(names), malformed)
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:
        if "UTF8" in str(e) or isinstance(e, UnicodeDecodeError):
            raise _encoding_error(path, table, encoding, _where(e)) from None
        raise InputError(
            f"{path}: table {table!r} cannot be parsed as CSV ({type(e).__name__})",
            hint="check quoting and delimiters; the file must be comma-separated with a header",
        ) from None
    if bad_rows:
        empty = pd.DataFrame({n: pd.Series([], dtype="string") for n in names})
        empty.index = pd.Index([], dtype=np.int64, name="_row")
        yield RawChunk(empty, tuple(names), list(bad_rows))


def _where(e: BaseException) -> str:
    if isinstance(e, UnicodeDecodeError):
        return f"undecodable byte at offset {e.start} of a block"
    msg = str(e)
    return msg.split(":")[0] if "column" in msg else "undecodable bytes"


# --------------------------------------------------------------------------- Parquet


def _read_parquet(path: Path, table: str, chunk_rows: int) -> Iterator[RawChunk]:
    try:
        pf = pq.ParquetFile(str(path))
    except (pa.ArrowException, OSError) as e:
        raise InputError(
            f"{path}: table {table!r} is not a readable Parquet file ({type(e).__name__})",
            hint="write the file with pandas/pyarrow `to_parquet`",
        ) from None
    names = [str(n) for n in pf.schema_arrow.names]
    start = 1
    for batch in pf.iter_batches(batch_size=chunk_rows):
        df = batch.to_pandas()
        df = df.astype({c: "string" for c in df.columns})
        df.columns = names
        df.index = pd.RangeIndex(start, start + len(df), name="_row")
        start += len(df)
        yield RawChunk(df, tuple(names))


# --------------------------------------------------------------------------- JSON Lines


def _cell(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return json.dumps(v, ensure_ascii=False)


def _read_jsonl(path: Path, table: str, spec: Table, chunk_rows: int) -> Iterator[RawChunk]:
    encoding = spec.encoding
    names: list[str] = []
    known: set[str] = set()
    rows: list[dict[str, str | None]] = []
    numbers: list[int] = []
    malformed: list[tuple[int, str]] = []

    def flush() -> RawChunk:
        df = pd.DataFrame.from_records(rows, columns=names) if rows else pd.DataFrame(columns=names)
        df = df.astype({c: "string" for c in names})
        df.index = pd.Index(np.asarray(numbers, dtype=np.int64), name="_row")
        return RawChunk(df, tuple(names), list(malformed))

    with path.open("rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                raise _encoding_error(path, table, encoding, f"line {lineno}") from None
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError:
                malformed.append((lineno, "not valid JSON"))
                continue
            if not isinstance(obj, dict):
                malformed.append((lineno, "not a JSON object"))
                continue
            for k in obj:
                if k not in known:
                    known.add(k)
                    names.append(str(k))
            rows.append({str(k): _cell(v) for k, v in obj.items()})
            numbers.append(lineno)
            if len(rows) >= chunk_rows:
                yield flush()
                rows, numbers, malformed = [], [], []
    if rows or malformed or not names:
        yield flush()
