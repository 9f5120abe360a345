"""Where a budget ledger keeps its rows: a SQLite file or a shared PostgreSQL database behind one
small seam (dialect, connection, write lock), under the one ledger logic of
:class:`~privacy_profile.dp.ledger.BudgetLedger`, which owns every query and rule.

* :class:`SqliteStore`: an embedded SQLite file (WAL journal, opened with
  :func:`~privacy_profile.dp._sqlite.connect_shared`); a write transaction is ``BEGIN
  IMMEDIATE``, the database's write lock across processes.
* :class:`PostgresStore`: a PostgreSQL database (``postgresql://user@host:port/db``); a write
  transaction locks the dataset's budget row (``SELECT ... FOR UPDATE``), so every charge,
  reservation and close of one dataset queues on that row while other datasets proceed. Under
  PostgreSQL's default READ COMMITTED isolation each statement after the lock sees every
  transaction committed before it, so the check-then-write is as atomic as SQLite's. The
  password comes from ``PGPASSWORD`` or a ``.pgpass`` file (libpq's rules), never from the URL,
  and is never logged.

Statements are written once with ``?`` placeholders; a store converts them to its paramstyle.

A store's one connection is shared by the ledger's thread and the heartbeat threads of its
reservations (:mod:`privacy_profile.dp.reservations`): a transaction holds the connection from
``begin_*`` to ``commit``/``rollback``, a statement outside a transaction waits for an open one
to end, and every statement's rows are read before the connection is handed on.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from privacy_profile.dp._sqlite import connect_shared, create_private
from privacy_profile.errors import InputError

__all__ = [
    "INDEXES",
    "LedgerStore",
    "PostgresStore",
    "Rows",
    "SqliteStore",
    "is_database_url",
    "open_store",
    "redact",
]

_SCHEMES = ("postgresql", "postgres")

_TABLES = """
CREATE TABLE IF NOT EXISTS budgets (
    dataset TEXT PRIMARY KEY,
    "window" TEXT NOT NULL,
    epsilon_units BIGINT NOT NULL,
    delta_units BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS charges (
    charge_id {serial},
    dataset TEXT NOT NULL REFERENCES budgets(dataset),
    run_id TEXT NOT NULL,
    mechanism TEXT NOT NULL,
    label TEXT NOT NULL,
    epsilon_units BIGINT NOT NULL,
    delta_units BIGINT NOT NULL,
    sensitivity DOUBLE PRECISION NOT NULL,
    charged_at TEXT NOT NULL,
    rho_units BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS charges_by_dataset_time ON charges(dataset, charged_at);
CREATE INDEX IF NOT EXISTS charges_by_run ON charges(run_id);
CREATE TABLE IF NOT EXISTS reservations (
    reservation_id {serial},
    dataset TEXT NOT NULL REFERENCES budgets(dataset),
    run_id TEXT NOT NULL,
    epsilon_units BIGINT NOT NULL,
    delta_units BIGINT NOT NULL,
    spent_epsilon_units BIGINT NOT NULL DEFAULT 0,
    spent_delta_units BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    host TEXT NOT NULL,
    pid BIGINT NOT NULL,
    reserved_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    closed_at TEXT,
    lease_until TEXT
);
CREATE INDEX IF NOT EXISTS reservations_by_state ON reservations(dataset, state);
CREATE INDEX IF NOT EXISTS reservations_by_run ON reservations(dataset, run_id)
"""

#: The indexes of :data:`_TABLES` (a ledger that has them all, and every table and column,
#: needs no CREATE or ALTER: a writer with SELECT, INSERT and UPDATE only can open it).
INDEXES = (
    "charges_by_dataset_time",
    "charges_by_run",
    "reservations_by_state",
    "reservations_by_run",
)


class Rows:
    """A statement's result, read in full: ``fetchone``, ``fetchall`` and ``rowcount``."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    @classmethod
    def of(cls, cursor: Any) -> Rows:
        rows = list(cursor.fetchall()) if cursor.description is not None else []
        return cls(rows, int(cursor.rowcount))

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows


class _Turns:
    """Whose turn it is on a connection shared by threads: a transaction holds it from begin
    to end; a statement outside a transaction takes it for itself."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    def owned(self) -> bool:
        return self._owner == threading.get_ident()

    def begin(self) -> None:
        if self.owned():
            raise RuntimeError("a ledger transaction is already open in this thread")
        self._lock.acquire()
        self._owner = threading.get_ident()

    def end(self) -> None:
        if self.owned():
            self._owner = None
            self._lock.release()

    @contextlib.contextmanager
    def statement(self) -> Iterator[None]:
        if self.owned():
            yield
        else:
            with self._lock:
                yield


class LedgerStore(Protocol):
    """A connection in one SQL dialect; the ledger's statements use ``?`` placeholders."""

    def schema(self) -> list[str]:
        """The CREATE statements of the ledger's tables in this dialect."""
        ...

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Rows:
        """Run one statement; returns its rows (``fetchone``/``fetchall``, ``rowcount``)."""
        ...

    def has_column(self, table: str, column: str) -> bool:
        """Whether ``table`` has ``column`` (ledgers written by older versions lack some)."""
        ...

    def has_index(self, name: str) -> bool:
        """Whether the index ``name`` exists."""
        ...

    def begin_schema(self) -> None:
        """Start the transaction that creates the tables (serialised across processes)."""
        ...

    def begin_write(self, dataset: str) -> None:
        """Start a write transaction no other writer of ``dataset`` can interleave with."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None:
        """Roll back this thread's open transaction (nothing when it has none)."""
        ...

    def close(self) -> None: ...


class SqliteStore:
    """An embedded SQLite file (or ``:memory:``)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._turns = _Turns()

    @classmethod
    def open(cls, path: str | Path) -> SqliteStore:
        """Open the file at ``path`` (created with mode 0600, whatever the umask), or a
        throw-away database for ``:memory:``."""
        if str(path) == ":memory:":
            return cls(sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False))
        created = create_private(path)
        return cls(connect_shared(path, private=created))

    def schema(self) -> list[str]:
        ddl = _TABLES.format(serial="INTEGER PRIMARY KEY AUTOINCREMENT")
        return [s for s in ddl.split(";") if s.strip()]

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Rows:
        with self._turns.statement():
            return Rows.of(self.conn.execute(sql, tuple(args)))

    def has_column(self, table: str, column: str) -> bool:
        rows = self.execute(f"PRAGMA table_info({table})").fetchall()
        return any(row[1] == column for row in rows)

    def has_index(self, name: str) -> bool:
        row = self.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)
        ).fetchone()
        return row is not None

    def _begin(self) -> None:
        self._turns.begin()
        try:
            self.conn.execute("BEGIN IMMEDIATE")  # the database's write lock, across processes
        except BaseException:
            self._turns.end()
            raise

    def begin_schema(self) -> None:
        self._begin()

    def begin_write(self, dataset: str) -> None:
        self._begin()

    def commit(self) -> None:
        self.conn.execute("COMMIT")
        self._turns.end()

    def rollback(self) -> None:
        if not self._turns.owned():
            return
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        finally:
            self._turns.end()

    def close(self) -> None:
        with self._turns.statement():
            self.conn.close()


def is_database_url(location: str | Path) -> bool:
    """True for ``postgresql://...`` (also after a Path collapsed the ``//``)."""
    text = str(location)
    return any(text.startswith(f"{s}:/") for s in _SCHEMES)


def _url(location: str | Path) -> str:
    text = str(location)
    for s in _SCHEMES:
        if text.startswith(f"{s}:/") and not text.startswith(f"{s}://"):
            return f"{s}://" + text[len(s) + 2 :]
    return text


def redact(url: str) -> str:
    """The URL without any password or query (for messages)."""
    parts = urlsplit(_url(url))
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


class PostgresStore:
    """A PostgreSQL database shared by every pipeline that spends the dataset's budget."""

    def __init__(self, conn: Any, url: str) -> None:
        self.conn = conn
        self.url = url  # without a password (checked by connect)
        self._turns = _Turns()

    @classmethod
    def connect(cls, location: str | Path) -> PostgresStore:
        url = _url(location)
        if urlsplit(url).password is not None:
            raise InputError(
                f"the ledger URL {redact(url)} carries a password",
                hint="remove it from the URL and set PGPASSWORD or use a ~/.pgpass file",
            )
        try:
            import psycopg
        except ImportError:
            raise InputError(
                "a PostgreSQL ledger needs psycopg, which is not installed",
                hint="pip install 'privacy-profile[postgres]'",
            ) from None
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=30)
        except psycopg.Error as e:
            raise InputError(
                f"cannot connect to the ledger database {redact(url)} ({type(e).__name__})",
                hint="check host, port, database, user, and PGPASSWORD or ~/.pgpass",
            ) from None
        return cls(conn, url)

    def schema(self) -> list[str]:
        ddl = _TABLES.format(serial="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
        return [s for s in ddl.split(";") if s.strip()]

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Rows:
        with self._turns.statement():
            return Rows.of(self.conn.execute(sql.replace("?", "%s"), tuple(args)))

    def has_column(self, table: str, column: str) -> bool:
        row = self.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? AND column_name = ?",
            (table, column),
        ).fetchone()
        return row is not None

    def has_index(self, name: str) -> bool:
        row = self.execute(
            "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ?",
            (name,),
        ).fetchone()
        return row is not None

    def _begin(self) -> None:
        self._turns.begin()
        try:
            self.conn.execute("BEGIN")
        except BaseException:
            self._turns.end()
            raise

    def begin_schema(self) -> None:
        self._begin()
        # CREATE ... IF NOT EXISTS races between sessions: one at a time
        try:
            self.execute("SELECT pg_advisory_xact_lock(hashtext('privacy_profile.ledger'))")
        except BaseException:
            self.rollback()
            raise

    def begin_write(self, dataset: str) -> None:
        self._begin()
        try:
            row = self.execute(
                "SELECT dataset FROM budgets WHERE dataset = ? FOR UPDATE", (dataset,)
            ).fetchone()
        except BaseException:
            self.rollback()
            raise
        if row is None:
            self.rollback()
            raise InputError(
                f"the ledger database has no budget for dataset {dataset!r}",
                hint="open the ledger with the policy (open_ledger) so its budget is recorded",
            )

    def commit(self) -> None:
        self.conn.execute("COMMIT")
        self._turns.end()

    def rollback(self) -> None:
        if not self._turns.owned():
            return
        try:
            self.conn.execute("ROLLBACK")
        finally:
            self._turns.end()

    def close(self) -> None:
        with self._turns.statement():
            self.conn.close()


def open_store(location: str | Path) -> LedgerStore:
    """A PostgreSQL store for a ``postgresql://`` URL, else a SQLite file."""
    if is_database_url(location):
        return PostgresStore.connect(location)
    return SqliteStore.open(location)
