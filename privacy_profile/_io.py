"""Small file helpers shared by the stages."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "PARQUET_METADATA_ATTR",
    "PRIVATE_FILE_MODE",
    "apply_modes",
    "atomic_write_bytes",
    "atomic_write_text",
    "parquet_bytes",
    "private_opener",
]

PRIVATE_FILE_MODE = 0o600


def private_opener(path: str, flags: int) -> int:
    """An ``opener`` for :func:`open` creating the file 0600 (owner only), whatever the umask:
    every file the toolkit writes may hold pseudonymous personal data."""
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    os.fchmod(fd, PRIVATE_FILE_MODE)
    return fd


def apply_modes(root: Path, *, file_mode: int, dir_mode: int) -> None:
    """Set ``file_mode`` on every file and ``dir_mode`` on every folder under ``root`` (``root``
    included), whatever the umask was when they were written. Symbolic links are left alone."""
    os.chmod(root, dir_mode)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            p = os.path.join(folder, name)
            if not os.path.islink(p):
                os.chmod(p, dir_mode)
        for name in files:
            p = os.path.join(folder, name)
            if not os.path.islink(p):
                os.chmod(p, file_mode)


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a unique temporary file in the same folder and
    an atomic rename: a failure leaves the old file or nothing, never a half-written one."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a unique temporary file in the same folder and an
    atomic rename (e.g. a Parquet file); see :func:`atomic_write_text`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


PARQUET_METADATA_ATTR = "parquet_key_value_metadata"
"""A DataFrame's ``attrs`` entry whose ``{key: value}`` strings :func:`parquet_bytes` writes
into the Parquet file's key-value metadata."""


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` (without its index) as the bytes of a Parquet file; the strings in
    ``frame.attrs[PARQUET_METADATA_ATTR]``, if any, go into the file's key-value metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    extra = frame.attrs.get(PARQUET_METADATA_ATTR) or {}
    plain = frame.copy(deep=False)
    plain.attrs = {}
    table = pa.Table.from_pandas(plain, preserve_index=False)
    if extra:
        md = dict(table.schema.metadata or {})
        md.update({str(k).encode(): str(v).encode() for k, v in extra.items()})
        table = table.replace_schema_metadata(md)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())
