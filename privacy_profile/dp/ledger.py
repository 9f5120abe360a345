"""The privacy-budget ledger: one budget per dataset and window, in an embedded SQLite file.

Check, then spend, atomically: :meth:`BudgetLedger.charge` opens a ``BEGIN IMMEDIATE``
transaction (SQLite's write lock, held across processes), sums what the window has spent,
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
import os
import socket
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from privacy_profile._clock import Clock, utcnow
from privacy_profile.dp._sqlite import connect_shared
from privacy_profile.dp.model import Mechanism, PrivacyLoss
from privacy_profile.dp.zcdp import zcdp_epsilon
from privacy_profile.errors import BudgetExceededError, InputError, PrivacyParameterError

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

EPS_UNIT = 10**9
_ROUNDING_UNITS = 64  # per-share rounding a reservation tolerates (6.4e-8 epsilon at most)
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


_SCHEMA = """
CREATE TABLE IF NOT EXISTS budgets (
    dataset TEXT PRIMARY KEY,
    window TEXT NOT NULL,
    epsilon_units INTEGER NOT NULL,
    delta_units INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS charges (
    charge_id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset TEXT NOT NULL REFERENCES budgets(dataset),
    run_id TEXT NOT NULL,
    mechanism TEXT NOT NULL,
    label TEXT NOT NULL,
    epsilon_units INTEGER NOT NULL,
    delta_units INTEGER NOT NULL,
    sensitivity REAL NOT NULL,
    charged_at TEXT NOT NULL,
    rho_units INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS charges_by_dataset_time ON charges(dataset, charged_at);
CREATE INDEX IF NOT EXISTS charges_by_run ON charges(run_id);
"""

# Reservations (see :meth:`BudgetLedger.reserve`): a run's whole loss, held before it computes.
# ``spent_*`` is what the run has charged against it; an ``open`` reservation holds
# ``*_units - spent_*_units`` away from every other run until it is closed, cancelled or found
# stale (its process is gone, or it passed ``expires_at``).
_RESERVATION_SCHEMA = """
CREATE TABLE IF NOT EXISTS reservations (
    reservation_id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset TEXT NOT NULL REFERENCES budgets(dataset),
    run_id TEXT NOT NULL,
    epsilon_units INTEGER NOT NULL,
    delta_units INTEGER NOT NULL,
    spent_epsilon_units INTEGER NOT NULL DEFAULT 0,
    spent_delta_units INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    reserved_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE INDEX IF NOT EXISTS reservations_by_state ON reservations(dataset, state);
"""


_MAX_UNITS = 2**62


def _units(value: float, unit: int) -> int:
    units = round(value * unit)
    if units >= _MAX_UNITS:
        raise PrivacyParameterError(f"{value:g} is too large for the ledger")
    return units


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


class Reservation:
    """A run's reserved loss, from :meth:`BudgetLedger.reserve`; a context manager.

    The run's charges consume it. :meth:`mark_released` once anything has left the run; on exit
    the reservation is closed (or cancelled, when the block raised before anything was
    released) and its unspent part goes back to the budget. Charges already made stand: each
    was recorded before its noise was drawn, and a failure may depend on the noisy values.
    """

    def __init__(
        self, ledger: BudgetLedger, reservation_id: int, run_id: str, loss: PrivacyLoss
    ) -> None:
        self.ledger = ledger
        self.reservation_id = reservation_id
        self.run_id = run_id
        self.loss = loss
        self.released = False
        self.state = "open"

    def mark_released(self) -> None:
        """Something of the run was released: from now on, the run is not cancelled."""
        self.released = True

    def spent(self) -> BudgetUsage:
        """What the run has charged against the reservation."""
        return self.ledger._reservation_spent(self.reservation_id)

    def close(self, *, cancelled: bool = False) -> None:
        """Return the unspent part (idempotent)."""
        if self.state != "open":
            return
        state = "cancelled" if cancelled and not self.released else "closed"
        self.ledger._close_reservation(self.reservation_id, state)
        self.state = state

    def __enter__(self) -> Reservation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(cancelled=exc_type is not None)


class BudgetLedger:
    """A privacy-budget ledger for one dataset. Open with :meth:`open` (SQLite file) or
    :meth:`in_memory` (tests only). There is no default budget: you must state it."""

    def __init__(
        self,
        conn: sqlite3.Connection,
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
        self._conn = conn
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
        """Open (or create) the SQLite ledger file at ``path``."""
        conn = connect_shared(path)
        return cls(conn, dataset=dataset, budget=budget, window=window, clock=clock)

    @classmethod
    def in_memory(
        cls, *, dataset: str, budget: PrivacyLoss, window: BudgetWindow, clock: Clock = utcnow
    ) -> BudgetLedger:
        """A throw-away ledger in memory, for tests only (nothing survives the process)."""
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        return cls(conn, dataset=dataset, budget=budget, window=window, clock=clock)

    def _init_schema(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in (_SCHEMA + _RESERVATION_SCHEMA).split(";"):
                if statement.strip():
                    self._conn.execute(statement)
            if not _has_rho(self._conn):  # a ledger file from before zCDP charges
                self._conn.execute(
                    "ALTER TABLE charges ADD COLUMN rho_units INTEGER NOT NULL DEFAULT 0"
                )
            row = self._conn.execute(
                "SELECT window, epsilon_units, delta_units FROM budgets WHERE dataset = ?",
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
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
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

    def cost(self, *, epsilon: float, delta: float = 0.0, rho: float = 0.0) -> BudgetUsage:
        """What charging (``epsilon``, ``delta``) and ``rho`` now would add to the window's
        spend: with zCDP charges the conversion makes this depend on what the window holds
        (what a run reserves before charging, see ``policy_ledger.run_reservation``)."""
        e, d, r = self._spent_units(self._clock())
        old = self._total_units(e, d, r)
        new = self._total_units(
            e + _units(epsilon, EPS_UNIT), d + _units(delta, DELTA_UNIT), r + _units(rho, RHO_UNIT)
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

    # -- reservations ------------------------------------------------------------------------
    def reserve(
        self, run_id: str, loss: PrivacyLoss, *, ttl: dt.timedelta = dt.timedelta(hours=12)
    ) -> Reservation:
        """Reserve a run's whole ``loss`` before it computes anything, or raise
        :class:`~privacy_profile.errors.BudgetExceededError` (nothing recorded).

        One ``BEGIN IMMEDIATE`` transaction checks spent + open reservations + ``loss`` <= budget
        in the window and inserts the reservation, so of several processes racing for the
        budget exactly as many are granted as it allows. While the reservation is open, the
        run's charges consume it (a charge beyond it is refused) and no other run can spend
        what it holds. Use it as a context manager: on exit the unspent part is returned (the
        reservation is *cancelled* when the block raised before :meth:`Reservation.mark_released`,
        else *closed*); charges already made stand. A reservation whose process is gone (same
        host) or that passed ``ttl`` is stale and no longer holds anything.
        """
        if not run_id:
            raise PrivacyParameterError("a reservation needs a run id")
        if not isinstance(loss, PrivacyLoss):
            raise PrivacyParameterError("a reservation needs a PrivacyLoss")
        if not ttl > dt.timedelta(0):
            raise PrivacyParameterError("a reservation needs a positive time to live")
        want_eps, want_delta = _units(loss.epsilon, EPS_UNIT), _units(loss.delta, DELTA_UNIT)
        budget_eps = _units(self.budget.epsilon, EPS_UNIT)
        budget_delta = _units(self.budget.delta, DELTA_UNIT)
        self._conn.execute("BEGIN IMMEDIATE")
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
            cur = self._conn.execute(
                "INSERT INTO reservations (dataset, run_id, epsilon_units, delta_units, state, "
                "host, pid, reserved_at, expires_at) VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?)",
                (
                    self.dataset,
                    run_id,
                    want_eps,
                    want_delta,
                    socket.gethostname(),
                    os.getpid(),
                    now.isoformat(),
                    (now + ttl).isoformat(),
                ),
            )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return Reservation(self, int(cur.lastrowid or 0), run_id, loss)

    def reserved(self) -> BudgetUsage:
        """What open reservations hold (reserved and not yet charged), stale ones excluded."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            _, eps, delta = self._held_units("", self._clock())
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return BudgetUsage(epsilon=eps / EPS_UNIT, delta=delta / DELTA_UNIT)

    def _held_units(
        self, run_id: str, now: dt.datetime
    ) -> tuple[tuple[int, int, int] | None, int, int]:
        """Inside a write transaction: mark stale reservations, and return the run's own open
        reservation (id, epsilon left, delta left) and what the other open ones hold."""
        rows = self._conn.execute(
            "SELECT reservation_id, run_id, host, pid, expires_at, "
            "epsilon_units - spent_epsilon_units, delta_units - spent_delta_units "
            "FROM reservations WHERE dataset = ? AND state = 'open'",
            (self.dataset,),
        ).fetchall()
        host = socket.gethostname()
        own: tuple[int, int, int] | None = None
        held_eps = held_delta = 0
        for rid, rrun, rhost, pid, expires, left_eps, left_delta in rows:
            expired = dt.datetime.fromisoformat(str(expires)) <= now
            if expired or (rhost == host and not _pid_alive(int(pid))):
                self._conn.execute(
                    "UPDATE reservations SET state = 'stale', closed_at = ? "
                    "WHERE reservation_id = ?",
                    (now.isoformat(), rid),
                )
            elif rrun == run_id:
                own = (int(rid), max(int(left_eps), 0), max(int(left_delta), 0))
            else:
                held_eps += max(int(left_eps), 0)
                held_delta += max(int(left_delta), 0)
        return own, held_eps, held_delta

    def _check_reservation(
        self, run_id: str, own: tuple[int, int, int], add_eps: int, add_delta: int
    ) -> None:
        # a run's charges are its releases' shares rounded one by one to ledger units, its
        # reservation their sum rounded once: allow that rounding (at most a few units)
        if add_eps > own[1] + _ROUNDING_UNITS or add_delta > own[2] + _ROUNDING_UNITS:
            raise BudgetExceededError(
                f"run {run_id}: a charge of epsilon={add_eps / EPS_UNIT:g}, "
                f"delta={add_delta / DELTA_UNIT:g} exceeds what is left of its reservation "
                f"(epsilon={own[1] / EPS_UNIT:g}, delta={own[2] / DELTA_UNIT:g}); the charge "
                f"was refused. {self._charged_note(run_id)}",
                hint="reserve the run's whole loss (the sum of its releases) up front",
            )

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

    def _close_reservation(self, reservation_id: int, state: str) -> None:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute(
                "UPDATE reservations SET state = ?, closed_at = ? "
                "WHERE reservation_id = ? AND state = 'open'",
                (state, self._clock().isoformat(), reservation_id),
            )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def _reservation_spent(self, reservation_id: int) -> BudgetUsage:
        eps, delta = self._conn.execute(
            "SELECT spent_epsilon_units, spent_delta_units FROM reservations "
            "WHERE reservation_id = ?",
            (reservation_id,),
        ).fetchone()
        return BudgetUsage(epsilon=int(eps) / EPS_UNIT, delta=int(delta) / DELTA_UNIT)

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
        self._conn.execute("BEGIN IMMEDIATE")
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
            if own is not None and not over_delta:
                self._check_reservation(run_id, own, cost_eps, cost_delta)
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
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (self.dataset, run_id, mech, label, eps_u, delta_u, sens, stamp, rho_u),
                )
                ids.append(cur.lastrowid)
            if own is not None:
                self._conn.execute(
                    "UPDATE reservations SET spent_epsilon_units = spent_epsilon_units + ?, "
                    "spent_delta_units = spent_delta_units + ? WHERE reservation_id = ?",
                    (cost_eps, cost_delta, own[0]),
                )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
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
    """The charges recorded in the ledger file at ``path``, read-only (``mode=ro``: nothing
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
