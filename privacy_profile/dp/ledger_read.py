"""Reading a budget ledger without spending: the charges recorded in a SQLite file or a
PostgreSQL database, for audits and reports (no budget needed, nothing can be written)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from privacy_profile.dp.ledger_model import DELTA_UNIT, EPS_UNIT, RHO_UNIT, Charge
from privacy_profile.dp.ledger_store import PostgresStore, SqliteStore, is_database_url
from privacy_profile.errors import InputError

__all__ = ["CHARGE_COLUMNS", "charge_from_row", "read_budget", "read_charges"]

CHARGE_COLUMNS = (
    "charge_id, dataset, run_id, mechanism, label, epsilon_units, delta_units, sensitivity, "
    "charged_at, rho_units"
)


def read_charges(
    path: str | Path, *, run_id: str | None = None, dataset: str | None = None
) -> list[Charge]:
    """The charges recorded in the ledger at ``path`` (a SQLite file, opened ``mode=ro`` so
    nothing can be written; or a ``postgresql://`` URL, read in a read-only transaction), in
    charge order; optionally only one run's and/or one dataset's. No budget is needed. For
    audits and reports; spending goes through :class:`BudgetLedger`.

    Raises :class:`~privacy_profile.errors.InputError` when the ledger is missing or is not a
    ledger."""
    where, args = [], []
    if run_id is not None:
        where.append("run_id = ?")
        args.append(run_id)
    if dataset is not None:
        where.append("dataset = ?")
        args.append(dataset)
    sql = f"SELECT {CHARGE_COLUMNS} FROM charges"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY charge_id"
    return [charge_from_row(r) for r in _select(path, sql, args)]


def read_budget(path: str | Path, dataset: str) -> tuple[str, int, int] | None:
    """The budget recorded for ``dataset`` in the ledger at ``path`` (a SQLite file or a
    ``postgresql://`` URL), read-only: its window spec and its epsilon and delta in the
    ledger's integer units; None when the ledger holds no budget for that dataset."""
    rows = _select(
        path,
        'SELECT "window", epsilon_units, delta_units FROM budgets WHERE dataset = ?',
        [dataset],
    )
    if not rows:
        return None
    window, epsilon_units, delta_units = rows[0]
    return str(window), int(epsilon_units), int(delta_units)


def _select(path: str | Path, sql: str, args: list[str]) -> list[Any]:
    """Rows of one read-only query against the ledger at ``path``."""
    if is_database_url(path):
        return _read_postgres(str(path), sql, args)
    p = Path(path)
    if not p.is_file():
        raise InputError(f"ledger {p} does not exist", hint="give the ledger file's path")
    try:
        conn = sqlite3.connect(f"file:{p.resolve()}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise InputError(f"ledger {p} cannot be opened: {e}") from None
    try:
        if "rho_units" in sql and not SqliteStore(conn).has_column("charges", "rho_units"):
            sql = sql.replace("rho_units", "0")  # a ledger file from before zCDP
        rows: list[Any] = conn.execute(sql, tuple(args)).fetchall()
    except sqlite3.Error as e:
        raise InputError(
            f"ledger {p} cannot be read: {e}", hint="is this a privacy_profile ledger file?"
        ) from None
    finally:
        conn.close()
    return rows


def _read_postgres(url: str, sql: str, args: list[str]) -> list[Any]:
    store = PostgresStore.connect(url)
    try:
        store.execute("BEGIN READ ONLY")
        rows: list[Any] = store.execute(sql, args).fetchall()
        store.execute("ROLLBACK")
    except Exception as e:  # psycopg.Error, but psycopg is an optional import
        raise InputError(
            f"ledger {store.url} cannot be read ({type(e).__name__})",
            hint="is this a privacy_profile ledger database?",
        ) from None
    finally:
        store.close()
    return rows


def charge_from_row(r: tuple[int, str, str, str, str, int, int, float, str, int]) -> Charge:
    """A :class:`Charge` from a row of :data:`CHARGE_COLUMNS`."""
    return Charge(
        charge_id=r[0],
        dataset=r[1],
        run_id=r[2],
        mechanism=r[3],
        label=r[4],
        epsilon=r[5] / EPS_UNIT,
        delta=r[6] / DELTA_UNIT,
        sensitivity=r[7],
        charged_at=r[8],
        rho=r[9] / RHO_UNIT,
    )
