"""Read a bounded sample of an input file (CSV, Parquet, JSON Lines), detecting its encoding.

Only the head of a file is read: at most ``max_bytes`` bytes of a text file and at most
``max_rows`` records, so drafting a policy from a 10-million-row export takes seconds. Text
encodings are tried in order with strict decoding of the sample: UTF-8 with a byte-order mark,
UTF-8, GBK, GB18030; the one that decodes is reported (and becomes the table's ``encoding``).
"""

from __future__ import annotations

import codecs
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from privacy_profile.errors import InputError

__all__ = [
    "DEFAULT_SAMPLE_BYTES",
    "DEFAULT_SAMPLE_ROWS",
    "ENCODINGS",
    "SUFFIX_FORMATS",
    "SampledTable",
    "detect_encoding",
    "read_sample",
]

DEFAULT_SAMPLE_ROWS = 20_000
DEFAULT_SAMPLE_BYTES = 8 << 20

ENCODINGS = ("utf-8-sig", "utf-8", "gbk", "gb18030")
"""Tried in this order; ``utf-8-sig`` only when the file starts with a byte-order mark."""

SUFFIX_FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass(frozen=True)
class SampledTable:
    """The first records of a file as strings, with how it was read.

    ``complete`` is True when the sample is the whole file.
    """

    path: Path
    format: str
    encoding: str | None  # None for Parquet
    frame: pd.DataFrame  # string columns, at most max_rows rows
    complete: bool


def detect_encoding(head: bytes, path: Path) -> str:
    """The first of :data:`ENCODINGS` that strictly decodes ``head`` (a file's first bytes)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for enc in ENCODINGS[1:]:
        try:
            head.decode(enc)
        except UnicodeDecodeError:
            continue
        return enc
    raise InputError(
        f"{path}: not text in any supported encoding ({', '.join(ENCODINGS)})",
        hint="re-save the file as UTF-8 (or GBK / GB18030)",
    )


def _head(path: Path, max_bytes: int) -> tuple[bytes, bool]:
    """The file's first bytes, cut after the last complete line; and whether that is all."""
    with path.open("rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) <= max_bytes:
        return data, True
    data = data[:max_bytes]
    cut = data.rfind(b"\n")  # a line feed is never part of a multi-byte GBK/UTF-8 character
    return (data[: cut + 1] if cut >= 0 else data), False


def read_sample(
    path: str | Path,
    *,
    max_rows: int = DEFAULT_SAMPLE_ROWS,
    max_bytes: int = DEFAULT_SAMPLE_BYTES,
) -> SampledTable:
    """Read the head of ``path`` (format from its suffix) as string columns."""
    p = Path(path)
    fmt = SUFFIX_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{p}: unsupported file type {p.suffix!r}",
            hint=f"give {', '.join(sorted(SUFFIX_FORMATS))} files",
        )
    if not p.is_file():
        raise InputError(f"{p}: file not found", hint="check the path")
    if fmt == "parquet":
        return _parquet(p, max_rows)
    head, whole = _head(p, max_bytes)
    encoding = detect_encoding(head, p)
    text = head.decode(encoding)
    if fmt == "csv":
        return _csv(p, text, encoding, whole, max_rows)
    return _jsonl(p, text, encoding, whole, max_rows)


def _csv(p: Path, text: str, encoding: str, whole: bool, max_rows: int) -> SampledTable:
    if not text.strip():
        raise InputError(f"{p}: the file is empty", hint="give a CSV file with a header row")
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            nrows=max_rows,
            on_bad_lines="skip",
        )
    except (pd.errors.ParserError, ValueError) as e:
        raise InputError(
            f"{p}: cannot be parsed as CSV ({type(e).__name__})",
            hint="the file must be comma-separated with a header row",
        ) from None
    frame.columns = [str(c) for c in frame.columns]
    complete = whole and len(frame) < max_rows
    return SampledTable(p, "csv", encoding, frame.astype("string"), complete)


def _jsonl(p: Path, text: str, encoding: str, whole: bool, max_rows: int) -> SampledTable:
    records: list[dict[str, object]] = []
    lines = text.splitlines()
    for line in lines:
        if len(records) >= max_rows:
            break
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            records.append({str(k): v for k, v in obj.items()})
    if not records:
        raise InputError(
            f"{p}: no JSON object found in the first lines",
            hint="give one JSON object per line (JSON Lines)",
        )
    frame = pd.DataFrame.from_records(records)
    frame = frame.map(
        lambda v: (
            None
            if v is None
            else v
            if isinstance(v, str)
            else json.dumps(v, ensure_ascii=False)
            if isinstance(v, dict | list)
            else str(v).lower()
            if isinstance(v, bool)
            else str(v)
        )
    )
    complete = whole and len(records) < max_rows
    return SampledTable(p, "jsonl", encoding, frame.astype("string"), complete)


def _parquet(p: Path, max_rows: int) -> SampledTable:
    try:
        pf = pq.ParquetFile(str(p))
        batch = next(pf.iter_batches(batch_size=max_rows), None)
    except (pa.ArrowException, OSError) as e:
        raise InputError(
            f"{p}: not a readable Parquet file ({type(e).__name__})",
            hint="write the file with pandas/pyarrow `to_parquet`",
        ) from None
    if batch is None:
        frame = pd.DataFrame({n: pd.Series([], dtype="string") for n in pf.schema_arrow.names})
    else:
        frame = batch.to_pandas().astype("string")
    frame.columns = [str(c) for c in frame.columns]
    complete = pf.metadata.num_rows <= len(frame)
    return SampledTable(p, "parquet", None, frame, complete)
