"""Turn the errors of the layers below the library (file system, SQLite, Arrow, CSV parsing,
text decoding) into the library's own errors: what failed, on which file, and how to fix it.

The CLI calls :func:`as_library_error` in its one error boundary, so a user never sees a
traceback for a problem with their files; library code may call it too where it knows better
which file was involved (``path``).
"""

from __future__ import annotations

import errno
import re
import sqlite3
from pathlib import Path

from privacy_profile.errors import InputError, OutputError, PrivacyProfileError

__all__ = ["as_library_error"]


def _os_error(e: OSError, path: str | Path | None) -> PrivacyProfileError:
    where = str(e.filename) if e.filename is not None else (str(path) if path else "a path")
    if isinstance(e, FileNotFoundError):
        return InputError(
            f"{where}: no such file or folder",
            hint="check the path; a folder the tool writes into must have an existing parent",
        )
    if isinstance(e, NotADirectoryError):
        return OutputError(
            f"{where}: a part of this path is a file where a folder is needed",
            hint="give a folder path (or a new path) instead of a file",
        )
    if isinstance(e, IsADirectoryError):
        return InputError(
            f"{where} is a folder where a file is needed", hint="give the path of a file"
        )
    if isinstance(e, FileExistsError):
        return OutputError(
            f"{where} already exists and is in the way", hint="remove it or give another path"
        )
    if isinstance(e, PermissionError):
        return OutputError(
            f"{where}: permission denied",
            hint="check the owner and permissions of the file and its folder",
        )
    if e.errno == errno.ENOSPC:
        return OutputError(f"{where}: no space left on the device", hint="free some space")
    return OutputError(
        f"{where}: {e.strerror or type(e).__name__}",
        hint="check that the path exists, is the right kind (file or folder) and is writable",
    )


def as_library_error(
    e: BaseException, *, path: str | Path | None = None
) -> PrivacyProfileError | None:
    """The library error for ``e`` (``e`` itself when it is one), or ``None`` for a bug.

    ``path`` names the file involved when ``e`` does not say it (SQLite, Arrow, pandas)."""
    if isinstance(e, PrivacyProfileError):
        return e
    where = f"{path}: " if path is not None else ""
    if isinstance(e, OSError):
        return _os_error(e, path)
    if isinstance(e, sqlite3.Error):
        return InputError(
            f"{where}the budget ledger (SQLite) cannot be used: {e}",
            hint="give --ledger the SQLite ledger file of this dataset, or a new file name in an "
            "existing folder (never a folder or another kind of file)",
        )
    if isinstance(e, UnicodeError):
        return InputError(
            f"{where}a file is not valid text in its declared encoding ({type(e).__name__})",
            hint="declare the file's encoding in the policy (tables.<name>.encoding) or re-save "
            "it as UTF-8",
        )
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        pa = None
    if pa is not None and isinstance(e, pa.ArrowException):
        # Arrow's message may quote a row of the file: never shown (it may hold an identifier)
        return InputError(
            f"{where}a Parquet or CSV file cannot be read or written ({type(e).__name__})",
            hint="check that the file is the format the policy declares and that its columns "
            "hold plain values (strings, numbers, dates; not lists or structs)",
        )
    import pandas as pd

    if isinstance(e, pd.errors.ParserError | pd.errors.EmptyDataError):
        line = re.search(r"line (\d+)", str(e))
        at = f" at line {line.group(1)}" if line else ""
        return InputError(
            f"{where}a CSV file cannot be parsed{at} ({type(e).__name__})",
            hint="check quoting and delimiters; the file must be comma-separated with a header",
        )
    return None
