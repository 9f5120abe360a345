"""Where a budget ledger keeps its rows: the small store seam under the ONE ledger logic of
:class:`~privacy_profile.dp.ledger.BudgetLedger` (which owns every query, the window and the
check-then-spend rule). A store knows only its SQL dialect and its connection:

* :class:`SqliteStore`: an embedded SQLite file; ``BEGIN IMMEDIATE`` takes the database's write
  lock across processes.
* :class:`PostgresStore`: a shared PostgreSQL database (``postgresql://user@host:port/db``);
  a write transaction locks the dataset's budget row (``SELECT ... FOR UPDATE``), so chargers of
  one dataset queue up on that row while other datasets proceed. The password comes from
  ``PGPASSWORD`` or a ``.pgpass`` file (libpq's rules), never from the URL, and is never logged.

Statements are written once with ``?`` placeholders; a store converts them to its paramstyle.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from privacy_profile.errors import InputError

__all__ = ["LedgerStore", "PostgresStore", "SqliteStore", "is_database_url", "open_store"]

_BUSY_TIMEOUT_S = 60.0
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
CREATE INDEX IF NOT EXISTS charges_by_run ON charges(run_id)
"""


class LedgerStore(Protocol):
    """A connection in one SQL dialect; the ledger's statements use ``?`` placeholders."""

    def schema(self) -> list[str]:
        """The CREATE statements of the ledger's tables in this dialect."""
        ...

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        """Run one statement; returns a cursor (``fetchone``/``fetchall``)."""
        ...

    def begin_schema(self) -> None:
        """Start the transaction that creates the tables (serialised across processes)."""
        ...

    def begin_charge(self, dataset: str) -> None:
        """Start a write transaction that no other charge of ``dataset`` can interleave with."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...


class SqliteStore:
    """An embedded SQLite file (or ``:memory:``)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @classmethod
    def open(cls, path: str | Path) -> SqliteStore:
        conn = sqlite3.connect(
            str(path), timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        if str(path) != ":memory:":
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_S * 1000)}")
        return cls(conn)

    def schema(self) -> list[str]:
        ddl = _TABLES.format(serial="INTEGER PRIMARY KEY AUTOINCREMENT")
        return [s for s in ddl.split(";") if s.strip()]

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql, tuple(args))

    def begin_schema(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def begin_charge(self, dataset: str) -> None:
        self.conn.execute("BEGIN IMMEDIATE")  # the database's write lock, across processes

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        self.conn.execute("ROLLBACK")

    def close(self) -> None:
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
    """The URL without any password (for messages)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


class PostgresStore:
    """A PostgreSQL database shared by every pipeline that spends the dataset's budget."""

    def __init__(self, conn: Any, url: str) -> None:
        self.conn = conn
        self.url = url  # without a password (checked by connect)

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
                hint="pip install 'privacy-profile[spark]' (or psycopg[binary])",
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

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s"), tuple(args))

    def begin_schema(self) -> None:
        self.conn.execute("BEGIN")
        # CREATE ... IF NOT EXISTS races between sessions: one at a time
        self.conn.execute("SELECT pg_advisory_xact_lock(hashtext('privacy_profile.ledger'))")

    def begin_charge(self, dataset: str) -> None:
        self.conn.execute("BEGIN")
        row = self.conn.execute(
            "SELECT dataset FROM budgets WHERE dataset = %s FOR UPDATE", (dataset,)
        ).fetchone()
        if row is None:
            self.conn.execute("ROLLBACK")
            raise InputError(
                f"the ledger database has no budget for dataset {dataset!r}",
                hint="open the ledger with the policy (open_ledger) so its budget is recorded",
            )

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()


def open_store(location: str | Path) -> LedgerStore:
    """A PostgreSQL store for a ``postgresql://`` URL, else a SQLite file."""
    if is_database_url(location):
        return PostgresStore.connect(location)
    return SqliteStore.open(location)
