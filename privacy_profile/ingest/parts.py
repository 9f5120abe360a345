"""A table given as a directory of part files (a Spark or Hive export): which files are its
parts, in name order, checked before anything is read.

Spark writes a table as ``part-00000-<uuid>-c000.csv`` (``.snappy.parquet``, ``.json``) files
plus a ``_SUCCESS`` marker and ``.crc`` checksums; Hive as ``000000_0`` files. As Spark does,
names starting with ``_`` or ``.`` are ignored (markers, checksums, ``_temporary`` folders).
Every other file is a part and must be of the table's declared format: ``.csv`` for CSV,
``.parquet`` for Parquet, ``.json`` or ``.jsonl`` for JSON Lines, or no extension at all (Hive).
Refused with an :class:`~privacy_profile.errors.InputError`: a directory with no part, parts of
another format (mixed formats), compressed CSV or JSON parts (``.gz`` and the like: the readers
read plain text; decompress them or export Parquet), nested folders (a partitioned
``column=value/`` layout). For CSV and Parquet every part's header (column names, in order)
must be the first part's (:func:`privacy_profile.ingest.readers.check_part_headers`). Empty
(zero-byte) CSV and JSON parts hold no record and are skipped (a Spark task with no rows may
leave one).
"""

from __future__ import annotations

import posixpath

import pyarrow as pa
import pyarrow.fs as pafs

from privacy_profile.errors import InputError
from privacy_profile.ingest.locations import InputLocation
from privacy_profile.policy.model import FileFormat, Table

__all__ = ["is_ignored", "part_files"]

_EXTENSIONS: dict[FileFormat, tuple[str, ...]] = {
    FileFormat.CSV: (".csv",),
    FileFormat.PARQUET: (".parquet",),
    FileFormat.JSONL: (".json", ".jsonl"),
}
_COMPRESSED = (".gz", ".bz2", ".deflate", ".lz4", ".snappy", ".zst", ".xz", ".zip", ".br")


def is_ignored(name: str) -> bool:
    """Whether a directory entry is not a part file (Spark's rule: ``_`` or ``.`` first)."""
    return name.startswith(("_", "."))


def _entries(folder: InputLocation) -> list[tuple[str, bool, int]]:
    """(name, is a folder, size in bytes) of every entry of ``folder``."""
    if folder.local is not None:
        return [
            (p.name, p.is_dir(), 0 if p.is_dir() else p.stat().st_size)
            for p in folder.local.iterdir()
        ]
    assert folder.fs is not None
    try:
        infos = folder.fs.get_file_info(pafs.FileSelector(folder.path, recursive=False))
    except (pa.ArrowException, OSError) as e:
        raise InputError(
            f"{folder}: the folder cannot be listed ({type(e).__name__})",
            hint="check the URI and the file system's credentials",
        ) from None
    return [
        (posixpath.basename(i.path.rstrip("/")), i.type == pafs.FileType.Directory, i.size or 0)
        for i in infos
    ]


def part_files(folder: InputLocation, table: str, spec: Table) -> list[InputLocation]:
    """The part files of table ``table`` in ``folder``, in name order (see the module doc)."""
    fmt = spec.format
    wanted = _EXTENSIONS[fmt]
    parts: list[str] = []
    other: list[str] = []
    for name, is_dir, size in sorted(_entries(folder)):
        if is_ignored(name):
            continue
        if is_dir:
            raise InputError(
                f"{folder}: the folder of table {table!r} holds the folder {name!r} (a "
                "partitioned column=value layout, or nested folders)",
                hint="give a folder holding the part files themselves, one level deep",
            )
        lower = name.lower()
        if lower.endswith(_COMPRESSED) and fmt is not FileFormat.PARQUET:
            raise InputError(
                f"{folder}: part file {name!r} of table {table!r} is compressed; compressed "
                f"{fmt.value} parts are not supported",
                hint="decompress the part files, or export the table as Parquet (whose "
                "compression is inside the file)",
            )
        if lower.endswith(wanted) or "." not in name:
            if size == 0 and fmt is not FileFormat.PARQUET:
                continue  # an empty CSV or JSON part holds no record (not even a header)
            parts.append(name)
        else:
            other.append(name)
    if other:
        shown = ", ".join(repr(n) for n in other[:3]) + (", ..." if len(other) > 3 else "")
        raise InputError(
            f"{folder}: the folder of table {table!r} mixes formats: {shown} "
            f"{'is' if len(other) == 1 else 'are'} not {fmt.value} part files "
            f"({' or '.join(wanted)})",
            hint=f"keep only the table's {fmt.value} part files in its folder, or declare "
            f"tables.{table}.format as the parts' format",
        )
    if not parts:
        raise InputError(
            f"{folder}: the folder of table {table!r} holds no part file",
            hint=f"export the table into it ({fmt.value} part files; names starting with _ "
            "or . are ignored), or give the table's file",
        )
    return [folder.child(n) for n in parts]
