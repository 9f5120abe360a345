"""Open a SQLite file for concurrent writers: WAL journal, busy timeout, bounded retry; a file
this process creates is readable by its owner only (mode 0600, whatever the umask)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from privacy_profile.errors import InputError

#: How long a writer waits for another process's lock before giving up.
BUSY_TIMEOUT_S = 60.0

#: The mode of a ledger file (and its ``-wal`` and ``-shm`` files) this process creates.
PRIVATE_MODE = 0o600


def create_private(path: str | Path) -> bool:
    """Create an empty file at ``path`` with mode 0600 when nothing is there (SQLite takes an
    empty file as a new database); True when this call created it. The mode is set explicitly
    (``fchmod``), not left to the umask: a ledger names datasets, runs and budgets."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:  # an existing ledger (or a folder: connect_shared says so)
        return False
    except OSError as error:
        raise InputError(
            f"the ledger file {path} cannot be created: {error.strerror}",
            hint="give a ledger path in an existing folder you can write to",
        ) from None
    try:
        os.fchmod(fd, PRIVATE_MODE)
    finally:
        os.close(fd)
    return True


def _is_busy(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


def connect_shared(
    path: str | Path,
    *,
    timeout_s: float = BUSY_TIMEOUT_S,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    connect: Callable[..., sqlite3.Connection] = sqlite3.connect,
    private: bool = False,
) -> sqlite3.Connection:
    """Connect to ``path`` in autocommit mode with the WAL journal switched on.

    Switching a file to WAL needs a moment of exclusive access, and SQLite answers
    ``database is locked`` at once (without its busy handler) when another process is
    creating or switching the same file. Processes that start together therefore retry the
    switch with a growing pause until ``timeout_s`` has passed, then fail with a clear error.
    With ``private`` (a file this process created with :func:`create_private`) the ``-wal`` and
    ``-shm`` files are set to mode 0600 as well.
    """
    conn = connect(str(path), timeout=timeout_s, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
    deadline = monotonic() + timeout_s
    pause = 0.01
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()
        except sqlite3.OperationalError as error:
            if not _is_busy(error) or monotonic() >= deadline:
                conn.close()
                raise InputError(
                    f"the ledger file {path} stayed locked for {timeout_s:.0f} s: {error}",
                    hint="another run holds it; wait for that run to finish, then retry",
                ) from error
            sleep(pause)
            pause = min(pause * 2, 0.5)
            continue
        if mode is None or str(mode[0]).lower() != "wal":
            conn.close()
            raise InputError(
                f"the ledger file {path} cannot use the WAL journal (got {mode!r})",
                hint="keep the ledger on a local file system that supports shared memory",
            )
        if private:
            for suffix in ("-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.chmod(f"{path}{suffix}", PRIVATE_MODE)
        return conn
