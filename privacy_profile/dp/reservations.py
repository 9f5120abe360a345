"""Reservations: a run's whole loss held in the ledger before it computes, as rows of the store's
``reservations`` table, read and written inside the ledger's write transaction.

``spent_*`` is what the run has charged against its reservation; an ``open`` reservation holds
``*_units - spent_*_units`` away from every other run until it is closed, cancelled or found
stale (its process is gone on this host, or it passed ``expires_at``). The functions here
run inside a transaction the caller opened with ``store.begin_write`` (the same lock on SQLite
and PostgreSQL), except :class:`Reservation`'s own methods, which open one.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from types import TracebackType

from privacy_profile._clock import Clock
from privacy_profile.dp.ledger_model import DELTA_UNIT, EPS_UNIT, BudgetUsage
from privacy_profile.dp.ledger_store import LedgerStore
from privacy_profile.dp.model import PrivacyLoss
from privacy_profile.errors import BudgetExceededError

__all__ = [
    "ROUNDING_UNITS",
    "OwnReservation",
    "Reservation",
    "check_within",
    "draw",
    "held_units",
    "insert_reservation",
]

#: Per-share rounding a reservation tolerates (6.4e-8 epsilon at most): a run's charges are its
#: releases' shares rounded one by one to ledger units, its reservation their sum rounded once.
ROUNDING_UNITS = 64

#: A run's own open reservation: (reservation id, epsilon units left, delta units left).
OwnReservation = tuple[int, int, int]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def insert_reservation(
    store: LedgerStore,
    *,
    dataset: str,
    run_id: str,
    eps_units: int,
    delta_units: int,
    now: dt.datetime,
    ttl: dt.timedelta,
) -> int:
    """Record an open reservation for ``run_id``; returns its id."""
    row = store.execute(
        "INSERT INTO reservations (dataset, run_id, epsilon_units, delta_units, state, "
        "host, pid, reserved_at, expires_at) VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?) "
        "RETURNING reservation_id",
        (
            dataset,
            run_id,
            eps_units,
            delta_units,
            socket.gethostname(),
            os.getpid(),
            now.isoformat(),
            (now + ttl).isoformat(),
        ),
    ).fetchone()
    return int(row[0])


def held_units(
    store: LedgerStore, dataset: str, run_id: str, now: dt.datetime
) -> tuple[OwnReservation | None, int, int]:
    """Mark stale reservations, and return the run's own open reservation and what the other
    open ones hold (epsilon units, delta units)."""
    rows = store.execute(
        "SELECT reservation_id, run_id, host, pid, expires_at, "
        "epsilon_units - spent_epsilon_units, delta_units - spent_delta_units "
        "FROM reservations WHERE dataset = ? AND state = 'open' ORDER BY reservation_id",
        (dataset,),
    ).fetchall()
    host = socket.gethostname()
    own: OwnReservation | None = None
    held_eps = held_delta = 0
    for rid, rrun, rhost, pid, expires, left_eps, left_delta in rows:
        expired = dt.datetime.fromisoformat(str(expires)) <= now
        if expired or (rhost == host and not _pid_alive(int(pid))):
            store.execute(
                "UPDATE reservations SET state = 'stale', closed_at = ? WHERE reservation_id = ?",
                (now.isoformat(), rid),
            )
        elif rrun == run_id:
            own = (int(rid), max(int(left_eps), 0), max(int(left_delta), 0))
        else:
            held_eps += max(int(left_eps), 0)
            held_delta += max(int(left_delta), 0)
    return own, held_eps, held_delta


def check_within(
    run_id: str, own: OwnReservation, add_eps: int, add_delta: int, charged_note: str
) -> None:
    """Refuse a charge of (``add_eps``, ``add_delta``) units beyond what is left of the run's
    reservation (up to :data:`ROUNDING_UNITS`)."""
    if add_eps > own[1] + ROUNDING_UNITS or add_delta > own[2] + ROUNDING_UNITS:
        raise BudgetExceededError(
            f"run {run_id}: a charge of epsilon={add_eps / EPS_UNIT:g}, "
            f"delta={add_delta / DELTA_UNIT:g} exceeds what is left of its reservation "
            f"(epsilon={own[1] / EPS_UNIT:g}, delta={own[2] / DELTA_UNIT:g}); the charge "
            f"was refused. {charged_note}",
            hint="reserve the run's whole loss (the sum of its releases) up front",
        )


def draw(store: LedgerStore, reservation_id: int, eps_units: int, delta_units: int) -> None:
    """Record a charge of the run against its reservation."""
    store.execute(
        "UPDATE reservations SET spent_epsilon_units = spent_epsilon_units + ?, "
        "spent_delta_units = spent_delta_units + ? WHERE reservation_id = ?",
        (eps_units, delta_units, reservation_id),
    )


class Reservation:
    """A run's reserved loss, from :meth:`BudgetLedger.reserve`; a context manager.

    The run's charges consume it. :meth:`mark_released` once anything has left the run; on exit
    the reservation is closed (or cancelled, when the block raised before anything was
    released) and its unspent part goes back to the budget. Charges already made stand: each
    was recorded before its noise was drawn, and a failure may depend on the noisy values.
    """

    def __init__(
        self,
        store: LedgerStore,
        *,
        dataset: str,
        reservation_id: int,
        run_id: str,
        loss: PrivacyLoss,
        clock: Clock,
    ) -> None:
        self._store = store
        self._dataset = dataset
        self._clock = clock
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
        eps, delta = self._store.execute(
            "SELECT spent_epsilon_units, spent_delta_units FROM reservations "
            "WHERE reservation_id = ?",
            (self.reservation_id,),
        ).fetchone()
        return BudgetUsage(epsilon=int(eps) / EPS_UNIT, delta=int(delta) / DELTA_UNIT)

    def close(self, *, cancelled: bool = False) -> None:
        """Return the unspent part (idempotent)."""
        if self.state != "open":
            return
        state = "cancelled" if cancelled and not self.released else "closed"
        self._store.begin_write(self._dataset)
        try:
            self._store.execute(
                "UPDATE reservations SET state = ?, closed_at = ? "
                "WHERE reservation_id = ? AND state = 'open'",
                (state, self._clock().isoformat(), self.reservation_id),
            )
            self._store.commit()
        except BaseException:
            self._store.rollback()
            raise
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
