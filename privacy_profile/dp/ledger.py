"""The privacy-budget ledger: one budget per dataset and window, in an embedded SQLite file or a
shared PostgreSQL database (the store seam: :mod:`privacy_profile.dp.ledger_store`).

Check, then spend, atomically: :meth:`BudgetLedger.charge` opens a write transaction
(SQLite: ``BEGIN IMMEDIATE``, the write lock across processes; PostgreSQL: the dataset's budget
row locked ``FOR UPDATE``), sums what the window has spent,
refuses with :class:`~privacy_profile.errors.BudgetExceededError` if the new charge would pass
the budget, else records it and commits. Callers charge *before* drawing noise, so a refused
charge means nothing was computed.

Composition is basic (sequential): epsilons add up, deltas add up. A zCDP charge
(:class:`ZcdpChargeRequest`) records rho instead; rhos add up, and the window's total is
converted to (epsilon, delta) at the check: the window's pure charges (E, D) and its zCDP
charges (R) together spend epsilon E + zcdp_epsilon(R, delta_budget - D) and all of the
delta budget (basic composition of an (E, D)-DP part and a (zcdp_epsilon(R, d'), d')-DP part
with d' the delta left; CKS 2020 conversion, :mod:`privacy_profile.dp.zcdp`). Amounts are
stored as integers (epsilon in units of 1e-9, delta in units of 1e-18, rho in units of 1e-12)
so sums are exact; each charge is rounded to the nearest unit.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from privacy_profile._clock import Clock, utcnow
from privacy_profile.dp.ledger_store import LedgerStore, SqliteStore, open_store
from privacy_profile.dp.model import Mechanism, PrivacyLoss
from privacy_profile.dp.zcdp import zcdp_epsilon
from privacy_profile.errors import BudgetExceededError, InputError, PrivacyParameterError

__all__ = [
    "BudgetLedger",
    "BudgetUsage",
    "BudgetWindow",
    "Charge",
    "ChargeRequest",
    "WindowKind",
    "ZcdpChargeRequest",
    "read_charges",
]

EPS_UNIT = 10**9
DELTA_UNIT = 10**18
RHO_UNIT = 10**12


class WindowKind(enum.Enum):
    LIFETIME = "lifetime"  # one budget for the dataset, forever
    CALENDAR_MONTH = "calendar_month"  # the budget renews on the first of each month (UTC)
    ROLLING_DAYS = "rolling_days"  # charges of the last N days count


@dataclass(frozen=True, kw_only=True)
class BudgetWindow:
    """Which charges count against the budget."""

    kind: WindowKind
    days: int | None = None

    def __post_init__(self) -> None:
        if self.kind is WindowKind.ROLLING_DAYS:
            if isinstance(self.days, bool) or not isinstance(self.days, int) or self.days < 1:
                raise PrivacyParameterError("a rolling window needs days >= 1")
        elif self.days is not None:
            raise PrivacyParameterError(f"a {self.kind.value} window takes no days")

    @classmethod
    def lifetime(cls) -> BudgetWindow:
        return cls(kind=WindowKind.LIFETIME)

    @classmethod
    def calendar_month(cls) -> BudgetWindow:
        return cls(kind=WindowKind.CALENDAR_MONTH)

    @classmethod
    def rolling_days(cls, days: int) -> BudgetWindow:
        return cls(kind=WindowKind.ROLLING_DAYS, days=days)

    @property
    def spec(self) -> str:
        return self.kind.value if self.days is None else f"{self.kind.value}:{self.days}"

    def start(self, now: dt.datetime) -> dt.datetime | None:
        """Charges at or after this instant count (None: all of them)."""
        if self.kind is WindowKind.LIFETIME:
            return None
        if self.kind is WindowKind.CALENDAR_MONTH:
            return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        if self.days is None:
            raise PrivacyParameterError("a rolling budget window needs its number of days")
        return now - dt.timedelta(days=self.days)


@dataclass(frozen=True, kw_only=True)
class ChargeRequest:
    """One part of a release to charge: what will run, with which loss and sensitivity."""

    mechanism: Mechanism | str
    loss: PrivacyLoss
    sensitivity: float
    label: str


@dataclass(frozen=True, kw_only=True)
class ZcdpChargeRequest:
    """One zCDP part of a release to charge: rho-zCDP (rho > 0), no epsilon or delta of its
    own (the window's rho total is converted, see the module doc)."""

    mechanism: Mechanism | str
    rho: float
    sensitivity: float
    label: str


@dataclass(frozen=True, kw_only=True)
class Charge:
    """A recorded charge (plain data: the audit compares these with the lineage)."""

    charge_id: int
    dataset: str
    run_id: str
    mechanism: str
    label: str
    epsilon: float
    delta: float
    sensitivity: float
    charged_at: str
    rho: float = 0.0  # zCDP charges: their rho (epsilon and delta are then 0)


@dataclass(frozen=True, kw_only=True)
class BudgetUsage:
    """An amount of budget (spent or remaining); may be zero, unlike a PrivacyLoss."""

    epsilon: float
    delta: float


_MAX_UNITS = 2**62


def _units(value: float, unit: int) -> int:
    units = round(value * unit)
    if units >= _MAX_UNITS:
        raise PrivacyParameterError(f"{value:g} is too large for the ledger")
    return units


class BudgetLedger:
    """A privacy-budget ledger for one dataset. Open with :meth:`open` (a SQLite file or a
    ``postgresql://`` URL) or :meth:`in_memory` (tests only). There is no default budget: you
    must state it. The logic is the same on every store (:mod:`privacy_profile.dp.ledger_store`)."""

    def __init__(
        self,
        conn: sqlite3.Connection | LedgerStore,
        *,
        dataset: str,
        budget: PrivacyLoss,
        window: BudgetWindow,
        clock: Clock = utcnow,
    ) -> None:
        if not isinstance(budget, PrivacyLoss):
            raise PrivacyParameterError("the budget must be a PrivacyLoss")
        if not dataset:
            raise PrivacyParameterError("the ledger needs a dataset name")
        self._conn = SqliteStore(conn) if isinstance(conn, sqlite3.Connection) else conn
        self.dataset = dataset
        self.budget = budget
        self.window = window
        self._clock = clock
        self._init_schema()

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        dataset: str,
        budget: PrivacyLoss,
        window: BudgetWindow,
        clock: Clock = utcnow,
    ) -> BudgetLedger:
        """Open (or create) the ledger at ``path``: a SQLite file, or a PostgreSQL database
        for a ``postgresql://user@host:port/db`` URL (password from PGPASSWORD or ~/.pgpass)."""
        store = open_store(path)
        try:
            return cls(store, dataset=dataset, budget=budget, window=window, clock=clock)
        except BaseException:
            store.close()
            raise

    @classmethod
    def in_memory(
        cls, *, dataset: str, budget: PrivacyLoss, window: BudgetWindow, clock: Clock = utcnow
    ) -> BudgetLedger:
        """A throw-away ledger in memory, for tests only (nothing survives the process)."""
        store = SqliteStore.open(":memory:")
        return cls(store, dataset=dataset, budget=budget, window=window, clock=clock)

    def _init_schema(self) -> None:
        self._conn.begin_schema()
        try:
            for statement in self._conn.schema():
                self._conn.execute(statement)
            store = self._conn
            # a SQLite ledger file from before zCDP charges (PostgreSQL ledgers start with it)
            if isinstance(store, SqliteStore) and not _has_rho(store.conn):
                self._conn.execute(
                    "ALTER TABLE charges ADD COLUMN rho_units INTEGER NOT NULL DEFAULT 0"
                )
            row = self._conn.execute(
                'SELECT "window", epsilon_units, delta_units FROM budgets WHERE dataset = ?',
                (self.dataset,),
            ).fetchone()
            want = (
                self.window.spec,
                _units(self.budget.epsilon, EPS_UNIT),
                _units(self.budget.delta, DELTA_UNIT),
            )
            if row is None:
                self._conn.execute("INSERT INTO budgets VALUES (?, ?, ?, ?)", (self.dataset, *want))
            elif tuple(row) != want:
                raise PrivacyParameterError(
                    f"the ledger already holds a different budget or window for dataset "
                    f"{self.dataset!r}",
                    hint="use the budget and window recorded in the ledger, or a new ledger file",
                )
            self._conn.commit()
        except BaseException:
            self._conn.rollback()
            raise

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> BudgetLedger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- queries -----------------------------------------------------------------------------
    def _spent_units(self, now: dt.datetime) -> tuple[int, int, int]:
        start = self.window.start(now)
        sql = (
            "SELECT COALESCE(SUM(epsilon_units), 0), COALESCE(SUM(delta_units), 0), "
            "COALESCE(SUM(rho_units), 0) FROM charges WHERE dataset = ?"
        )
        args: tuple[str, ...] = (self.dataset,)
        if start is not None:
            sql += " AND charged_at >= ?"
            args = (self.dataset, start.isoformat())
        eps, delta, rho = self._conn.execute(sql, args).fetchone()
        return int(eps), int(delta), int(rho)

    def _total_units(self, eps: int, delta: int, rho: int) -> tuple[int, int]:
        """(epsilon, delta) units spent by pure charges (eps, delta) plus zCDP charges (rho),
        converted with all the delta the pure charges left (see the module doc)."""
        if rho == 0:
            return eps, delta
        budget_delta = _units(self.budget.delta, DELTA_UNIT)
        left = budget_delta - delta
        if left <= 0:
            return _MAX_UNITS, max(delta, budget_delta)  # nothing to convert with: over budget
        conv = zcdp_epsilon(rho / RHO_UNIT, left / DELTA_UNIT)
        return eps + math.ceil(conv * EPS_UNIT), budget_delta

    def spent(self) -> BudgetUsage:
        eps, delta = self._total_units(*self._spent_units(self._clock()))
        return BudgetUsage(epsilon=eps / EPS_UNIT, delta=delta / DELTA_UNIT)

    def spent_rho(self) -> float:
        """The window's zCDP charges, in rho (before conversion)."""
        return self._spent_units(self._clock())[2] / RHO_UNIT

    def remaining(self) -> BudgetUsage:
        eps, delta = self._total_units(*self._spent_units(self._clock()))
        return BudgetUsage(
            epsilon=max(_units(self.budget.epsilon, EPS_UNIT) - eps, 0) / EPS_UNIT,
            delta=max(_units(self.budget.delta, DELTA_UNIT) - delta, 0) / DELTA_UNIT,
        )

    def charges_for_run(self, run_id: str) -> list[Charge]:
        rows = self._conn.execute(
            f"SELECT {_CHARGE_COLUMNS} FROM charges WHERE run_id = ? AND dataset = ? "
            "ORDER BY charge_id",
            (run_id, self.dataset),
        ).fetchall()
        return [self._charge(r) for r in rows]

    @staticmethod
    def _charge(r: tuple[int, str, str, str, str, int, int, float, str, int]) -> Charge:
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

    # -- spending ----------------------------------------------------------------------------
    def charge(
        self,
        *,
        run_id: str,
        mechanism: Mechanism | str,
        loss: PrivacyLoss,
        sensitivity: float,
        label: str,
    ) -> Charge:
        """Atomically charge ``loss`` or raise BudgetExceededError (nothing recorded)."""
        req = ChargeRequest(mechanism=mechanism, loss=loss, sensitivity=sensitivity, label=label)
        return self.charge_many(run_id=run_id, requests=[req])[0]

    def charge_many(
        self, *, run_id: str, requests: Sequence[ChargeRequest | ZcdpChargeRequest]
    ) -> list[Charge]:
        """Charge every request in one transaction: all are recorded, or none."""
        if not run_id:
            raise PrivacyParameterError("a charge needs a run id")
        if not requests:
            raise PrivacyParameterError("nothing to charge")
        rows = []
        for req in requests:
            if not (math.isfinite(req.sensitivity) and req.sensitivity > 0):
                raise PrivacyParameterError("a charge needs a positive, finite sensitivity")
            mech = req.mechanism.value if isinstance(req.mechanism, Mechanism) else req.mechanism
            if isinstance(req, ZcdpChargeRequest):
                if not (math.isfinite(req.rho) and req.rho > 0):
                    raise PrivacyParameterError("a zCDP charge needs a positive, finite rho")
                units = (0, 0, _units(req.rho, RHO_UNIT))
            elif isinstance(req.loss, PrivacyLoss):
                units = (_units(req.loss.epsilon, EPS_UNIT), _units(req.loss.delta, DELTA_UNIT), 0)
            else:
                raise PrivacyParameterError("a charge needs a PrivacyLoss")
            rows.append((mech, req.label, *units, float(req.sensitivity)))
        add_eps = sum(r[2] for r in rows)
        add_delta = sum(r[3] for r in rows)
        add_rho = sum(r[4] for r in rows)
        budget_eps = _units(self.budget.epsilon, EPS_UNIT)
        budget_delta = _units(self.budget.delta, DELTA_UNIT)
        self._conn.begin_charge(self.dataset)
        try:
            now = self._clock()
            old_eps, old_delta, old_rho = self._spent_units(now)
            spent_eps, spent_delta = self._total_units(old_eps, old_delta, old_rho)
            new_eps, new_delta = self._total_units(
                old_eps + add_eps, old_delta + add_delta, old_rho + add_rho
            )
            over_delta = old_rho + add_rho > 0 and old_delta + add_delta >= budget_delta
            if new_eps > budget_eps or new_delta > budget_delta or over_delta:
                raise BudgetExceededError(
                    f"privacy budget of dataset {self.dataset!r} ({self.window.spec}) would be "
                    f"exceeded: spent epsilon={spent_eps / EPS_UNIT:g}, "
                    f"delta={spent_delta / DELTA_UNIT:g}; asked epsilon={add_eps / EPS_UNIT:g}, "
                    f"delta={add_delta / DELTA_UNIT:g}"
                    + (f", rho={add_rho / RHO_UNIT:g}" if add_rho else "")
                    + f"; budget epsilon={self.budget.epsilon:g}, "
                    f"delta={self.budget.delta:g}. Nothing was computed or released.",
                    hint="wait for the budget window to renew, or ask for less epsilon",
                )
            stamp = now.isoformat()
            ids = []
            for mech, label, eps_u, delta_u, rho_u, sens in rows:
                cur = self._conn.execute(
                    "INSERT INTO charges (dataset, run_id, mechanism, label, epsilon_units, "
                    "delta_units, sensitivity, charged_at, rho_units) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING charge_id",
                    (self.dataset, run_id, mech, label, eps_u, delta_u, sens, stamp, rho_u),
                )
                ids.append(cur.fetchone()[0])
            self._conn.commit()
        except BaseException:
            self._conn.rollback()
            raise
        return [
            Charge(
                charge_id=int(cid or 0),
                dataset=self.dataset,
                run_id=run_id,
                mechanism=r[0],
                label=r[1],
                epsilon=r[2] / EPS_UNIT,
                delta=r[3] / DELTA_UNIT,
                sensitivity=r[5],
                charged_at=stamp,
                rho=r[4] / RHO_UNIT,
            )
            for cid, r in zip(ids, rows, strict=True)
        ]


_CHARGE_COLUMNS = (
    "charge_id, dataset, run_id, mechanism, label, epsilon_units, delta_units, sensitivity, "
    "charged_at, rho_units"
)


def _has_rho(conn: sqlite3.Connection) -> bool:
    return any(row[1] == "rho_units" for row in conn.execute("PRAGMA table_info(charges)"))


def read_charges(
    path: str | Path, *, run_id: str | None = None, dataset: str | None = None
) -> list[Charge]:
    """The charges recorded in the SQLite ledger file at ``path``, read-only (``mode=ro``: nothing
    can be written, no budget is needed), in charge order; optionally only one run's and/or
    one dataset's. For audits and reports; spending goes through :class:`BudgetLedger`.

    Raises :class:`~privacy_profile.errors.InputError` when the file is missing or is not a
    ledger."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"ledger {p} does not exist", hint="give the ledger file's path")
    try:
        conn = sqlite3.connect(f"file:{p.resolve()}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise InputError(f"ledger {p} cannot be opened: {e}") from None
    where, args = [], []
    if run_id is not None:
        where.append("run_id = ?")
        args.append(run_id)
    if dataset is not None:
        where.append("dataset = ?")
        args.append(dataset)
    sql = f"SELECT {_CHARGE_COLUMNS} FROM charges"
    try:
        if not _has_rho(conn):  # a ledger file from before zCDP charges
            sql = sql.replace("rho_units", "0")
    except sqlite3.Error as e:
        conn.close()
        raise InputError(
            f"ledger {p} cannot be read: {e}", hint="is this a privacy_profile ledger file?"
        ) from None
    if where:
        sql += " WHERE " + " AND ".join(where)
    try:
        rows = conn.execute(sql + " ORDER BY charge_id", tuple(args)).fetchall()
    except sqlite3.Error as e:
        raise InputError(
            f"ledger {p} cannot be read: {e}", hint="is this a privacy_profile ledger file?"
        ) from None
    finally:
        conn.close()
    return [BudgetLedger._charge(r) for r in rows]
