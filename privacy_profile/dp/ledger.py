"""The privacy-budget ledger's API: one budget per dataset and window, in an embedded SQLite file
or a shared PostgreSQL database (the stores: :mod:`privacy_profile.dp.ledger_store`; the plain
data: :mod:`privacy_profile.dp.ledger_model`; reservations: :mod:`privacy_profile.dp.reservations`).

Check, then spend, atomically: :meth:`BudgetLedger.charge` opens a write transaction (SQLite:
``BEGIN IMMEDIATE``, the write lock across processes; PostgreSQL: the dataset's budget row
locked ``FOR UPDATE``), sums what the window has spent,
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
import math
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from privacy_profile._clock import Clock, utcnow
from privacy_profile.dp.ledger_model import (
    DELTA_UNIT as DELTA_UNIT,  # re-exported: the audit reads amounts in units
)
from privacy_profile.dp.ledger_model import (
    EPS_UNIT as EPS_UNIT,
)
from privacy_profile.dp.ledger_model import (
    MAX_UNITS,
    RHO_UNIT,
    BudgetUsage,
    BudgetWindow,
    Charge,
    ChargeRequest,
    WindowKind,
    ZcdpChargeRequest,
    units,
)
from privacy_profile.dp.ledger_read import CHARGE_COLUMNS, charge_from_row, read_charges
from privacy_profile.dp.ledger_store import (
    INDEXES,
    LedgerStore,
    SqliteStore,
    open_store,
)
from privacy_profile.dp.model import Mechanism, PrivacyLoss
from privacy_profile.dp.reservations import (
    DEFAULT_LEASE,
    Holder,
    Reservation,
    check_lease,
    check_within,
    draw,
    held_units,
    insert_reservation,
    stale_note,
)
from privacy_profile.dp.zcdp import zcdp_epsilon
from privacy_profile.errors import BudgetExceededError, PrivacyParameterError

__all__ = [
    "BudgetLedger",
    "BudgetUsage",
    "BudgetWindow",
    "Charge",
    "ChargeRequest",
    "Reservation",
    "WindowKind",
    "ZcdpChargeRequest",
    "read_charges",
]


class BudgetLedger:
    """A privacy-budget ledger for one dataset. Open with :meth:`open` (a SQLite file or a
    ``postgresql://`` URL) or :meth:`in_memory` (tests only). There is no default budget: you
    must state it. The logic is the same on every store (:mod:`privacy_profile.dp.ledger_store`).

    ``lease`` is how long a reservation holds without a renewal (:meth:`reserve`; its holder
    renews it every third of the lease, :mod:`privacy_profile.dp.reservations`)."""

    def __init__(
        self,
        conn: sqlite3.Connection | LedgerStore,
        *,
        dataset: str,
        budget: PrivacyLoss,
        window: BudgetWindow,
        clock: Clock = utcnow,
        lease: dt.timedelta = DEFAULT_LEASE,
    ) -> None:
        if not isinstance(budget, PrivacyLoss):
            raise PrivacyParameterError("the budget must be a PrivacyLoss")
        if not dataset:
            raise PrivacyParameterError("the ledger needs a dataset name")
        self._conn: LedgerStore = (
            SqliteStore(conn) if isinstance(conn, sqlite3.Connection) else conn
        )
        self.dataset = dataset
        self.budget = budget
        self.window = window
        self.lease = check_lease(lease)
        self._clock = clock
        # the reservations made through this ledger, by run: renewed until closed or until the
        # ledger is closed; a lost one refuses its run's charges
        self._reservations: dict[str, Reservation] = {}
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
        lease: dt.timedelta = DEFAULT_LEASE,
    ) -> BudgetLedger:
        """Open (or create) the ledger at ``path``: a SQLite file (created with mode 0600), or
        a PostgreSQL database for a ``postgresql://user@host:port/db`` URL (password from
        PGPASSWORD or ~/.pgpass)."""
        check_lease(lease)
        store = open_store(path)
        try:
            return cls(
                store, dataset=dataset, budget=budget, window=window, clock=clock, lease=lease
            )
        except BaseException:
            store.close()
            raise

    @classmethod
    def in_memory(
        cls,
        *,
        dataset: str,
        budget: PrivacyLoss,
        window: BudgetWindow,
        clock: Clock = utcnow,
        lease: dt.timedelta = DEFAULT_LEASE,
    ) -> BudgetLedger:
        """A throw-away ledger in memory, for tests only (nothing survives the process)."""
        store = SqliteStore.open(":memory:")
        return cls(store, dataset=dataset, budget=budget, window=window, clock=clock, lease=lease)

    def _schema_complete(self) -> bool:
        """Whether every table, column and index of this version exists: then nothing is
        created or altered, and a writer with only SELECT, INSERT and UPDATE can open it."""
        c = self._conn
        return (
            c.has_column("budgets", "delta_units")
            and c.has_column("charges", "rho_units")
            and c.has_column("reservations", "lease_until")
            and all(c.has_index(name) for name in INDEXES)
        )

    def _init_schema(self) -> None:
        self._conn.begin_schema()
        try:
            if not self._schema_complete():
                for statement in self._conn.schema():
                    self._conn.execute(statement)
                if not self._conn.has_column("charges", "rho_units"):  # from before zCDP
                    self._conn.execute(
                        "ALTER TABLE charges ADD COLUMN rho_units INTEGER NOT NULL DEFAULT 0"
                    )
                if not self._conn.has_column("reservations", "lease_until"):  # before leases
                    self._conn.execute("ALTER TABLE reservations ADD COLUMN lease_until TEXT")
            row = self._conn.execute(
                'SELECT "window", epsilon_units, delta_units FROM budgets WHERE dataset = ?',
                (self.dataset,),
            ).fetchone()
            want = (
                self.window.spec,
                units(self.budget.epsilon, EPS_UNIT),
                units(self.budget.delta, DELTA_UNIT),
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
        """Stop the heartbeats of this ledger's open reservations (each then lapses after its
        lease) and close the connection."""
        for reservation in list(self._reservations.values()):
            reservation._stop_heartbeat()
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
        budget_delta = units(self.budget.delta, DELTA_UNIT)
        left = budget_delta - delta
        if left <= 0:
            return MAX_UNITS, max(delta, budget_delta)  # nothing to convert with: over budget
        conv = zcdp_epsilon(rho / RHO_UNIT, left / DELTA_UNIT)
        return eps + math.ceil(conv * EPS_UNIT), budget_delta

    def spent(self) -> BudgetUsage:
        eps, delta = self._total_units(*self._spent_units(self._clock()))
        return BudgetUsage(epsilon=eps / EPS_UNIT, delta=delta / DELTA_UNIT)

    def cost(self, *, epsilon: float, delta: float = 0.0, rho: float = 0.0) -> BudgetUsage:
        """What charging (``epsilon``, ``delta``) and ``rho`` now would add to the window's
        spend: with zCDP charges the conversion makes this depend on what the window holds
        (what a run reserves before charging, see ``policy_ledger.run_reservation``)."""
        e, d, r = self._spent_units(self._clock())
        old = self._total_units(e, d, r)
        new = self._total_units(
            e + units(epsilon, EPS_UNIT), d + units(delta, DELTA_UNIT), r + units(rho, RHO_UNIT)
        )
        return BudgetUsage(
            epsilon=(new[0] - old[0]) / EPS_UNIT, delta=(new[1] - old[1]) / DELTA_UNIT
        )

    def spent_rho(self) -> float:
        """The window's zCDP charges, in rho (before conversion)."""
        return self._spent_units(self._clock())[2] / RHO_UNIT

    def remaining(self) -> BudgetUsage:
        eps, delta = self._total_units(*self._spent_units(self._clock()))
        return BudgetUsage(
            epsilon=max(units(self.budget.epsilon, EPS_UNIT) - eps, 0) / EPS_UNIT,
            delta=max(units(self.budget.delta, DELTA_UNIT) - delta, 0) / DELTA_UNIT,
        )

    def charges_for_run(self, run_id: str) -> list[Charge]:
        rows = self._conn.execute(
            f"SELECT {CHARGE_COLUMNS} FROM charges WHERE run_id = ? AND dataset = ? "
            "ORDER BY charge_id",
            (run_id, self.dataset),
        ).fetchall()
        return [charge_from_row(r) for r in rows]

    # -- reservations ------------------------------------------------------------------------
    def reserve(
        self,
        run_id: str,
        loss: PrivacyLoss,
        *,
        ttl: dt.timedelta = dt.timedelta(hours=12),
        lease: dt.timedelta | None = None,
        heartbeat: bool = True,
    ) -> Reservation:
        """Reserve a run's whole ``loss`` before it computes anything, or raise
        :class:`~privacy_profile.errors.BudgetExceededError` (nothing recorded).

        One write transaction (the store's lock, see the module doc) checks spent + open
        reservations + ``loss`` <= budget in the window and inserts the reservation, so of
        several processes racing for the budget exactly as many are granted as it allows.
        While the reservation is open, the run's charges consume it (a charge beyond it is
        refused) and no other run can spend what it holds. Use it as a context manager: on
        exit the unspent part is returned (the reservation is *cancelled* when the block raised
        before :meth:`Reservation.mark_released`, else *closed*); charges already made stand.

        The reservation is a lease of ``lease`` (default: the ledger's), renewed by a daemon
        thread while it is open (``heartbeat=False``: only by calling
        :meth:`Reservation.renew`). A reservation whose lease or ``ttl`` has passed, whatever
        host holds it, or whose process is gone (same host), is stale and no longer holds
        anything; a run whose reservation went stale has its next charge refused.
        """
        if not run_id:
            raise PrivacyParameterError("a reservation needs a run id")
        if not isinstance(loss, PrivacyLoss):
            raise PrivacyParameterError("a reservation needs a PrivacyLoss")
        if not (isinstance(ttl, dt.timedelta) and ttl > dt.timedelta(0)):
            raise PrivacyParameterError("a reservation needs a positive time to live")
        lease = self.lease if lease is None else check_lease(lease)
        holder = Holder.this_process()
        want_eps, want_delta = units(loss.epsilon, EPS_UNIT), units(loss.delta, DELTA_UNIT)
        budget_eps = units(self.budget.epsilon, EPS_UNIT)
        budget_delta = units(self.budget.delta, DELTA_UNIT)
        self._conn.begin_write(self.dataset)
        try:
            now = self._clock()
            own, held_eps, held_delta = self._held_units(run_id, now)
            if own is not None:
                raise PrivacyParameterError(
                    f"run {run_id} already holds an open reservation",
                    hint="close the run's reservation before reserving again",
                )
            spent_eps, spent_delta = self._total_units(*self._spent_units(now))
            if (
                spent_eps + held_eps + want_eps > budget_eps
                or spent_delta + held_delta + want_delta > budget_delta
            ):
                raise BudgetExceededError(
                    f"privacy budget of dataset {self.dataset!r} ({self.window.spec}) cannot "
                    f"cover run {run_id}: spent epsilon={spent_eps / EPS_UNIT:g}, "
                    f"delta={spent_delta / DELTA_UNIT:g}; held by runs in progress "
                    f"epsilon={held_eps / EPS_UNIT:g}, delta={held_delta / DELTA_UNIT:g}; "
                    f"the run needs epsilon={loss.epsilon:g}, delta={loss.delta:g}; budget "
                    f"epsilon={self.budget.epsilon:g}, delta={self.budget.delta:g}. The run "
                    "was refused before computing: nothing was computed, charged or released.",
                    hint="wait for runs in progress to finish or the budget window to renew, "
                    "or lower the segmentation epsilons",
                )
            rid = insert_reservation(
                self._conn,
                dataset=self.dataset,
                run_id=run_id,
                eps_units=want_eps,
                delta_units=want_delta,
                now=now,
                ttl=ttl,
                lease=lease,
                holder=holder,
            )
            self._conn.commit()
        except BaseException:
            self._conn.rollback()
            raise
        reservation = Reservation(
            self._conn,
            dataset=self.dataset,
            reservation_id=rid,
            run_id=run_id,
            loss=loss,
            clock=self._clock,
            lease=lease,
            holder=holder,
            heartbeat=heartbeat,
        )
        self._reservations[run_id] = reservation
        return reservation

    def reserved(self) -> BudgetUsage:
        """What open reservations hold (reserved and not yet charged), stale ones excluded."""
        self._conn.begin_write(self.dataset)
        try:
            _, eps, delta = self._held_units("", self._clock())
            self._conn.commit()
        except BaseException:
            self._conn.rollback()
            raise
        return BudgetUsage(epsilon=eps / EPS_UNIT, delta=delta / DELTA_UNIT)

    def _held_units(
        self, run_id: str, now: dt.datetime
    ) -> tuple[tuple[int, int, int] | None, int, int]:
        """Inside a write transaction: see :func:`~privacy_profile.dp.reservations.held_units`."""
        return held_units(self._conn, self.dataset, run_id, now)

    def _charged_note(self, run_id: str) -> str:
        eps, delta = self._conn.execute(
            "SELECT COALESCE(SUM(epsilon_units), 0), COALESCE(SUM(delta_units), 0) "
            "FROM charges WHERE dataset = ? AND run_id = ?",
            (self.dataset, run_id),
        ).fetchone()
        if not eps and not delta:
            return "Nothing was computed or released, and this run charged nothing."
        return (
            f"Nothing was computed or released for this charge; the run had already charged "
            f"epsilon={int(eps) / EPS_UNIT:g}, delta={int(delta) / DELTA_UNIT:g} (those "
            "charges stand)."
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
        """Charge every request in one transaction: all are recorded, or none. A run whose
        reservation was lost (its lease or time to live passed, see :meth:`reserve`) is
        refused."""
        if not run_id:
            raise PrivacyParameterError("a charge needs a run id")
        mine = self._reservations.get(run_id)
        if mine is not None:
            mine.check_held()  # a renewal found it stale or closed: fail closed
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
                amount = (0, 0, units(req.rho, RHO_UNIT))
            elif isinstance(req.loss, PrivacyLoss):
                amount = (units(req.loss.epsilon, EPS_UNIT), units(req.loss.delta, DELTA_UNIT), 0)
            else:
                raise PrivacyParameterError("a charge needs a PrivacyLoss")
            rows.append((mech, req.label, *amount, float(req.sensitivity)))
        add_eps = sum(r[2] for r in rows)
        add_delta = sum(r[3] for r in rows)
        add_rho = sum(r[4] for r in rows)
        budget_eps = units(self.budget.epsilon, EPS_UNIT)
        budget_delta = units(self.budget.delta, DELTA_UNIT)
        self._conn.begin_write(self.dataset)
        try:
            now = self._clock()
            old_eps, old_delta, old_rho = self._spent_units(now)
            spent_eps, spent_delta = self._total_units(old_eps, old_delta, old_rho)
            new_eps, new_delta = self._total_units(
                old_eps + add_eps, old_delta + add_delta, old_rho + add_rho
            )
            over_delta = old_rho + add_rho > 0 and old_delta + add_delta >= budget_delta
            cost_eps, cost_delta = new_eps - spent_eps, new_delta - spent_delta
            own, held_eps, held_delta = self._held_units(run_id, now)
            lost = stale_note(self._conn, self.dataset, run_id) if own is None else None
            if lost is not None:
                raise BudgetExceededError(
                    f"{lost}. {self._charged_note(run_id)}",
                    hint="the run stops here; start it again (it reserves anew), and keep the "
                    "process running and its ledger connection up while a run is open",
                )
            if own is not None and not over_delta:
                check_within(run_id, own, cost_eps, cost_delta, self._charged_note(run_id))
            elif (
                new_eps + held_eps > budget_eps
                or new_delta + held_delta > budget_delta
                or over_delta
            ):
                raise BudgetExceededError(
                    f"privacy budget of dataset {self.dataset!r} ({self.window.spec}) would be "
                    f"exceeded: spent epsilon={spent_eps / EPS_UNIT:g}, "
                    f"delta={spent_delta / DELTA_UNIT:g}; held by open reservations "
                    f"epsilon={held_eps / EPS_UNIT:g}, delta={held_delta / DELTA_UNIT:g}; "
                    f"asked epsilon={add_eps / EPS_UNIT:g}, "
                    f"delta={add_delta / DELTA_UNIT:g}"
                    + (f", rho={add_rho / RHO_UNIT:g}" if add_rho else "")
                    + f"; budget epsilon={self.budget.epsilon:g}, "
                    f"delta={self.budget.delta:g}. {self._charged_note(run_id)}",
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
            if own is not None:
                draw(self._conn, own[0], cost_eps, cost_delta)
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
