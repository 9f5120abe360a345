"""Checks on the paths a command is given, before anything is computed or charged: the budget
ledger file, the root of a run's outputs, and output folders the tool replaces.

An output folder is replaced only when it is new, empty, or a previous output of this tool
whose files are all listed in its marker file (:data:`OUTPUT_MARKER`); anything else is
refused with :class:`~privacy_profile.errors.OutputError`: the tool never deletes user data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from privacy_profile.errors import InputError, OutputError

__all__ = [
    "OUTPUT_MARKER",
    "check_ledger_path",
    "check_output_root",
    "check_replaceable_output",
    "marker_text",
]

OUTPUT_MARKER = ".privacy-profile-output.json"
SQLITE_HEADER = b"SQLite format 3\x00"


def check_ledger_path(path: str | Path) -> Path:
    """``path`` as a budget ledger: an existing SQLite file, or a new file in an existing
    folder. A missing folder is refused rather than created: a ledger created in a mistyped
    folder would start a fresh budget."""
    p = Path(path)
    if p.is_dir():
        raise InputError(
            f"{p} is a folder; the budget ledger is a SQLite file",
            hint="give --ledger the ledger file of this dataset (e.g. ledger.sqlite)",
        )
    if not p.parent.is_dir():
        raise InputError(
            f"{p}: the folder {p.parent} does not exist",
            hint="create the folder first, or give the path of this dataset's existing ledger "
            "(a new ledger in a mistyped folder would start a fresh budget)",
        )
    if p.exists():
        if not p.is_file():
            raise InputError(f"{p} is not a regular file", hint="give the ledger's SQLite file")
        with p.open("rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
        if head and head != SQLITE_HEADER:
            raise InputError(
                f"{p} is not a SQLite database, so it is not a budget ledger",
                hint="give --ledger the ledger file of this dataset, or a new file name",
            )
    return p


def check_output_root(path: str | Path) -> Path:
    """``path`` as a folder the tool writes into (creating it when absent): never a file."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputError(
            f"--out {p} is a file; the outputs go into a folder",
            hint="give a new folder, or a folder of previous runs",
        )
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(
                    f"--out {p}: {parent} is a file, not a folder", hint="give a folder path"
                )
            break
    return p


def _listed(marker: Path) -> set[str] | None:
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        files = data["files"]
        if data.get("tool") != "privacy_profile" or not isinstance(files, list):
            return None
        return {str(f) for f in files}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_replaceable_output(path: str | Path) -> Path:
    """The absolute path of an output folder that may be replaced as a whole: absent, empty,
    or a previous output of this tool holding only the files its marker lists. Anything else
    (a file, the current folder, a folder with other files) raises :class:`OutputError`."""
    p = Path(path).resolve()
    if p == Path.cwd().resolve() or p in Path.cwd().resolve().parents:
        raise OutputError(
            f"--out {path} is the current folder (or holds it); refusing to replace it",
            hint="give a new sub-folder, e.g. --out sanitized",
        )
    check_output_root(p)
    if not p.exists():
        return p
    entries = [e for e in p.rglob("*") if not e.is_dir()]
    if not entries and not any(p.iterdir()):
        return p
    marker = p / OUTPUT_MARKER
    listed = _listed(marker) if marker.is_file() else None
    if listed is None:
        raise OutputError(
            f"--out {path} is not empty and is not a previous output of privacy-profile "
            f"(no valid {OUTPUT_MARKER}); refusing to replace it (its files would be deleted)",
            hint="give a new or empty folder",
        )
    extra = sorted(
        str(e.relative_to(p))
        for e in entries
        if str(e.relative_to(p)) not in listed | {OUTPUT_MARKER}
    )
    if extra:
        raise OutputError(
            f"--out {path} is a previous output but also holds {len(extra)} file(s) this tool "
            f"did not write (first: {extra[0]}); refusing to replace it",
            hint="move those files elsewhere, or give a new or empty folder",
        )
    return p


def marker_text(kind: str, files: Iterable[str | Path]) -> str:
    """The marker file's content: which tool wrote the folder and every file it holds."""
    return (
        json.dumps(
            {"tool": "privacy_profile", "kind": kind, "files": sorted(str(f) for f in files)},
            indent=2,
        )
        + "\n"
    )
