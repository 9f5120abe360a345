"""Readers for CSV, Parquet and JSON Lines, streaming in chunks of all-string columns.

Each chunk is a :class:`RawChunk`: a DataFrame whose index is the 1-based record number in the
file (header not counted) and whose columns are pandas ``string`` (types are parsed later, in
:mod:`privacy_profile.ingest.validate`, so that a bad value quarantines one row, not the file),
plus the records that could not be parsed at all (wrong field count, broken JSON), with their
record numbers. Encoding errors stop the run with an :class:`InputError` naming the file and
the fix (declare ``encoding: gbk`` or re-save as UTF-8) and the first row that does not decode.
CSV records are one per physical line and numbered by line (row = line - 1): a stray quote
quarantines its own line, never the rest of the file. Parquet columns must hold scalar values
(nested types are refused). A table's path may be a directory of part files (a Spark or Hive
export, :mod:`privacy_profile.ingest.parts`): its parts are read in name order as one table,
record numbers continuing from part to part. The file is an
:class:`~privacy_profile.ingest.locations.InputLocation`: a local path, or a URI read through
the pyarrow file system it names.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from privacy_profile.errors import InputError
from privacy_profile.ingest.locations import InputLocation, input_location
from privacy_profile.ingest.parts import part_files
from privacy_profile.policy.model import FileFormat, Table

__all__ = [
    "DEFAULT_BLOCK_BYTES",
    "DEFAULT_CHUNK_ROWS",
    "RawChunk",
    "check_part_headers",
    "csv_header",
    "encoding_error",
    "parse_csv_lines",
    "part_header",
    "read_table",
]

DEFAULT_CHUNK_ROWS = 500_000
DEFAULT_BLOCK_BYTES = 32 << 20

MALFORMED = "malformed_record"


@dataclass
class RawChunk:
    """Part of a file: string columns indexed by record number, plus unparsable records."""

    frame: pd.DataFrame
    columns: tuple[str, ...]
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (record number, detail)


def encoding_error(path: InputLocation, table: str, encoding: str, where: str) -> InputError:
    other = "gbk" if encoding.startswith("utf") else "utf-8"
    return InputError(
        f"{path}: table {table!r} is not valid {encoding} text ({where})",
        hint=f"declare the file's encoding in the policy (tables.{table}.encoding: {other}) "
        "or re-save the file as UTF-8",
    )


def read_table(
    file: str | os.PathLike[str] | InputLocation,
    table_name: str,
    spec: Table,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> Iterator[RawChunk]:
    """Stream ``file`` (a path, a URI or a location) as the policy declares (format,
    encoding) in chunks."""
    path = input_location(file)
    if path.is_dir():
        yield from _read_parts(path, table_name, spec, chunk_rows, block_bytes)
        return
    if not path.is_file():
        raise InputError(
            f"{path}: input file for table {table_name!r} not found",
            hint=f"put {spec.file_name(table_name)} in the input directory "
            f"or set tables.{table_name}.file",
        )
    yield from _read_one(path, table_name, spec, chunk_rows, block_bytes)


def _read_one(
    path: InputLocation, table: str, spec: Table, chunk_rows: int, block_bytes: int
) -> Generator[RawChunk, None, int]:
    """Stream one file; return how many record numbers it used (its data lines for CSV and
    JSON Lines, blank ones included; its rows for Parquet)."""
    if spec.format is FileFormat.CSV:
        return (yield from _read_csv(path, table, spec, block_bytes))
    if spec.format is FileFormat.PARQUET:
        return (yield from _read_parquet(path, table, chunk_rows))
    return (yield from _read_jsonl(path, table, spec, chunk_rows))


def part_header(part: InputLocation, table: str, spec: Table) -> list[str]:
    """The column names a CSV or Parquet file starts with (its header line; its schema)."""
    if spec.format is FileFormat.CSV:
        return csv_header(part, table, spec.encoding)
    source, fs = part.arrow_source()
    try:
        schema = pq.read_schema(source, filesystem=fs)
    except (pa.ArrowException, OSError) as e:
        raise _not_parquet(part, table, e) from None
    return [str(n) for n in schema.names]


def _not_parquet(path: InputLocation, table: str, e: BaseException) -> InputError:
    """The error for a file of a Parquet table that pyarrow cannot read."""
    return InputError(
        f"{path}: table {table!r} is not a readable Parquet file ({type(e).__name__})",
        hint="write the file with pandas/pyarrow `to_parquet`",
    )


def check_part_headers(parts: list[InputLocation], table: str, spec: Table) -> list[str] | None:
    """The column names every CSV or Parquet part file starts with, the same in every part and
    in the same order (else an :class:`InputError` naming the first part that differs); None
    for JSON Lines, whose records name their own fields."""
    if spec.format is FileFormat.JSONL:
        return None
    first = part_header(parts[0], table, spec)
    for part in parts[1:]:
        names = part_header(part, table, spec)
        if names != first:
            missing = [n for n in first if n not in names]
            extra = [n for n in names if n not in first]
            detail = (
                f"missing {missing}, extra {extra}" if missing or extra else "another column order"
            )
            raise InputError(
                f"{part}: the header of this part file of table {table!r} differs from the "
                f"first part's ({parts[0].name}): {detail}",
                hint="export every part with the same columns in the same order",
            )
    return first


def _read_parts(
    folder: InputLocation, table: str, spec: Table, chunk_rows: int, block_bytes: int
) -> Iterator[RawChunk]:
    """A directory of part files as one table: the parts in name order, their record numbers
    continuing from one part to the next (as in the file the parts concatenate to, one header
    kept); an error inside a part names the part file and its own row."""
    parts = part_files(folder, table, spec)
    check_part_headers(parts, table, spec)
    offset = 0
    for part in parts:
        used = yield from _shifted(_read_one(part, table, spec, chunk_rows, block_bytes), offset)
        offset += used


def _shifted(chunks: Generator[RawChunk, None, int], offset: int) -> Generator[RawChunk, None, int]:
    """``chunks`` with ``offset`` added to every record number; returns what ``chunks`` does."""
    while True:
        try:
            chunk = next(chunks)
        except StopIteration as stop:
            return int(stop.value)
        if offset:
            chunk.frame.index = pd.Index(chunk.frame.index.to_numpy() + offset, name="_row")
            chunk.malformed = [(n + offset, d) for n, d in chunk.malformed]
        yield chunk


# --------------------------------------------------------------------------- CSV


def _csv_header(path: InputLocation, table: str, encoding: str) -> list[str]:
    with path.open_binary() as f:
        first = f.readline()
    try:
        text = first.decode(encoding)
    except UnicodeDecodeError:
        raise encoding_error(path, table, encoding, "header line") from None
    if not text.strip():
        raise InputError(f"{path}: table {table!r} has no header line", hint="add a header row")
    try:
        names = next(csv.reader([text.rstrip("\r\n")], strict=True))
    except (csv.Error, StopIteration):
        raise InputError(
            f"{path}: table {table!r}: the header line cannot be parsed as CSV (unbalanced quote)",
            hint="fix the header row: comma-separated column names",
        ) from None
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise InputError(
                f"{path}: table {table!r}: the header names column {n!r} twice",
                hint="give every column a distinct name",
            )
        seen.add(n)
    return names


def _lines(path: InputLocation, block_bytes: int) -> Iterator[tuple[int, bytes]]:
    """Blocks of whole physical lines after the header: (line number of the block's first
    line, bytes ending with a newline except possibly at the end of the file)."""
    with path.open_binary() as f:
        f.readline()  # the header, parsed separately
        line = 2
        rest = b""
        while True:
            data = f.read(block_bytes)
            if not data:
                break
            data = rest + data
            cut = data.rfind(b"\n")
            if cut < 0:
                rest = data
                continue
            block, rest = data[: cut + 1], data[cut + 1 :]
            yield line, block
            line += block.count(b"\n")
        if rest:
            yield line, rest


def _parse_block(
    block: bytes, names: list[str], pa_enc: str
) -> tuple[pa.Table, list[tuple[int, str]]]:
    """Parse one block with Arrow: the table of good records and the bad records, each bad one
    as (its position among the block's records, 1-based; detail)."""
    bad: list[tuple[int, str]] = []

    def on_bad(row: pacsv.InvalidRow) -> str:
        bad.append(
            (
                row.number if row.number is not None else -1,
                f"expected {row.expected_columns} fields, found {row.actual_columns}",
            )
        )
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(block),
        read_options=pacsv.ReadOptions(
            encoding=pa_enc, column_names=names, use_threads=False, block_size=len(block) + 1
        ),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_bad, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=[""],
        ),
    )
    return table, bad


def _line_by_line(
    lines: list[bytes], records: np.ndarray, names: list[str], encoding: str
) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """The exact path for a block whose records do not map one to one onto its lines (an
    unbalanced quote, or a line break inside a quoted value): each line is parsed on its own,
    so one stray quote quarantines one row and never swallows the rows after it.
    ``records[i]`` is line ``i``'s record number."""
    rows: list[list[str | None]] = []
    numbers: list[int] = []
    bad: list[tuple[int, str]] = []
    for i, raw in enumerate(lines):
        rec = int(records[i])
        text = raw.decode(encoding).rstrip("\r")
        if not text:
            continue
        try:
            fields = next(csv.reader([text], strict=True))
        except csv.Error:
            bad.append((rec, "unbalanced quote (a quoted value must end on its line)"))
            continue
        if len(fields) != len(names):
            bad.append((rec, f"expected {len(names)} fields, found {len(fields)}"))
            continue
        rows.append([v if v != "" else None for v in fields])
        numbers.append(rec)
    df = pd.DataFrame(rows, columns=names, dtype="string") if rows else _empty(names)
    df.index = pd.Index(np.asarray(numbers, dtype=np.int64), name="_row")
    return df, bad


def _empty(names: list[str]) -> pd.DataFrame:
    return pd.DataFrame({n: pd.Series([], dtype="string") for n in names})


def csv_header(path: InputLocation, table: str, encoding: str) -> list[str]:
    """The column names of a CSV file's header line (a UTF-8 byte order mark removed), checked
    as the CSV reader checks them."""
    names = _csv_header(path, table, encoding)
    if encoding == "utf-8-sig" and names and names[0].startswith("\ufeff"):
        names[0] = names[0][1:]
    return names


def _read_csv(
    path: InputLocation, table: str, spec: Table, block_bytes: int
) -> Generator[RawChunk, None, int]:
    """CSV with one record per physical line; row numbers are line numbers minus one.

    Arrow parses each block of whole lines; when the block's record count differs from its
    count of non-empty lines (a stray quote opened a value that ran over line ends), the block
    is parsed again line by line and each broken line is a malformed record with its number.
    A quoted value holding a line break is therefore not supported: its lines are quarantined.
    """
    encoding = spec.encoding
    names = csv_header(path, table, encoding)
    pa_enc = "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding
    py_enc = "utf-8" if encoding == "utf-8-sig" else encoding
    last = 1  # the line number of the last line read (1: the header)
    for first, block in _lines(path, block_bytes):
        if pa_enc == "utf8":  # before Arrow, whose bad-row callback cannot decode the row
            where = _undecodable(block, first, py_enc)
            if where is not None:
                raise encoding_error(path, table, encoding, where)

        def undecodable(block: bytes = block, first: int = first) -> None:
            where = _undecodable(block, first, py_enc)
            if where is not None:
                raise encoding_error(path, table, encoding, where)

        n_lines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
        records = np.arange(first - 1, first - 1 + n_lines, dtype=np.int64)
        df, malformed = _parse_lines(block, records, names, pa_enc, py_enc, undecodable)
        last = first + n_lines - 1
        yield RawChunk(df, tuple(names), malformed)
    return last - 1


def parse_csv_lines(
    lines: list[bytes], records: np.ndarray, names: list[str], encoding: str
) -> tuple[pd.DataFrame, list[tuple[int, str]], int | None]:
    """Parse physical lines of a CSV file in ``encoding`` (raw bytes, no header, no ``\\n``)
    exactly as the CSV reader parses a block of the file: ``records[i]`` is line ``i``'s record
    number (the frame's index and the malformed records' numbers); blank lines are skipped; a
    line with too many or too few fields or an unbalanced quote is a malformed record. The
    third value is the record number of the first line that does not decode (then nothing is
    parsed: the caller stops the run with :func:`encoding_error`). The Spark engine parses its
    partitions' lines with it."""
    pa_enc = "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding
    py_enc = "utf-8" if encoding == "utf-8-sig" else encoding
    block = b"\n".join(lines) + b"\n" if lines else b""
    try:
        block.decode(py_enc)
    except UnicodeDecodeError:
        for i, raw in enumerate(lines):
            try:
                raw.decode(py_enc)
            except UnicodeDecodeError:
                return _empty(names), [], int(records[i])

    def never() -> None:  # the block decodes (checked above)
        return None

    df, malformed = _parse_lines(block, records, names, pa_enc, py_enc, never)
    return df, malformed, None


def _parse_lines(
    block: bytes,
    records: np.ndarray,
    names: list[str],
    pa_enc: str,
    py_enc: str,
    check_encoding: Callable[[], None],
) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """A block of whole physical lines as records (``records[i]``: line ``i``'s number) and
    its malformed records; ``check_encoding`` raises the located encoding error when Arrow
    could not decode the block."""
    if not block:
        return _empty(names).set_axis(pd.Index([], dtype=np.int64, name="_row")), []
    nonempty = _nonempty_lines(block)
    parsed: pa.Table | None = None
    try:
        parsed, bad = _parse_block(block, names, pa_enc)
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:
        check_encoding()
        if not isinstance(e, pa.ArrowInvalid):  # pragma: no cover - decoded above
            raise
    if (
        parsed is not None
        and parsed.num_rows + len(bad) == len(nonempty)
        and all(b > 0 for b, _ in bad)
    ):
        recs = records[nonempty]  # record number of each non-empty line
        good = np.ones(len(recs), dtype=bool)
        good[np.asarray([b - 1 for b, _ in bad], dtype=np.int64)] = False
        df = parsed.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
        df.columns = names
        df.index = pd.Index(recs[good], name="_row")
        return df, [(int(recs[b - 1]), d) for b, d in bad]
    return _line_by_line(_split_lines(block), records, names, py_enc)


def _split_lines(block: bytes) -> list[bytes]:
    lines = block.split(b"\n")
    return lines[:-1] if block.endswith(b"\n") else lines


def _nonempty_lines(block: bytes) -> np.ndarray:
    """0-based indexes of the block's lines that hold anything but a line ending."""
    if not block.startswith((b"\n", b"\r\n")) and b"\n\n" not in block and b"\n\r\n" not in block:
        n = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
        return np.arange(n, dtype=np.int64)  # no blank line (the common case, memchr speed)
    arr = np.frombuffer(block, dtype=np.uint8)
    nl = np.flatnonzero(arr == 10)
    ends = nl if block.endswith(b"\n") else np.append(nl, len(arr))
    starts = np.concatenate([[0], nl + 1])[: len(ends)]
    length = ends - starts
    has_cr = np.zeros(len(ends), dtype=bool)
    pos = ends - 1
    ok = length > 0
    has_cr[ok] = arr[pos[ok]] == 13
    return np.flatnonzero(length - has_cr > 0).astype(np.int64)


def _undecodable(block: bytes, first: int, encoding: str) -> str | None:
    """Where the block stops decoding, as a row and line number; None when it decodes."""
    try:
        block.decode(encoding)
    except UnicodeDecodeError:
        pass
    else:
        return None
    for i, raw in enumerate(_split_lines(block)):
        try:
            raw.decode(encoding)
        except UnicodeDecodeError:
            return f"row {first + i - 1}, line {first + i}"
    return "undecodable bytes"  # pragma: no cover - a multi-byte sequence across lines


# --------------------------------------------------------------------------- Parquet


def _read_parquet(
    path: InputLocation, table: str, chunk_rows: int
) -> Generator[RawChunk, None, int]:
    source, fs = path.arrow_source()
    try:
        pf = pq.ParquetFile(source, filesystem=fs)
    except (pa.ArrowException, OSError) as e:
        raise _not_parquet(path, table, e) from None
    names = [str(n) for n in pf.schema_arrow.names]
    for fld in pf.schema_arrow:
        t = fld.type
        if pa.types.is_nested(t):
            raise InputError(
                f"{path}: table {table!r} column {fld.name!r} has the nested type {t} "
                "(lists, structs and maps are not supported)",
                hint="flatten the column into plain values (one value per cell) before ingestion",
            )
    start = 1
    for batch in pf.iter_batches(batch_size=chunk_rows):
        df = batch.to_pandas()
        df = df.astype({c: "string" for c in df.columns})
        df.columns = names
        df.index = pd.RangeIndex(start, start + len(df), name="_row")
        start += len(df)
        yield RawChunk(df, tuple(names))
    return start - 1


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


def _read_jsonl(
    path: InputLocation, table: str, spec: Table, chunk_rows: int
) -> Generator[RawChunk, None, int]:
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

    lineno = 0
    with path.open_binary() as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                raise encoding_error(path, table, encoding, f"line {lineno}") from None
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
    return lineno
