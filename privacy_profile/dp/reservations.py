"""Reservations: a run's whole loss held in the ledger before it computes, as rows of the store's
``reservations`` table, read and written inside the ledger's write transaction.

``spent_*`` is what the run has charged against its reservation; an ``open`` reservation holds
``*_units - spent_*_units`` away from every other run until it is closed, cancelled or found
stale. A reservation is a **lease**: it records ``lease_until`` (a few minutes ahead, see
:data:`DEFAULT_LEASE`), and the :class:`Reservation` renews it from a daemon thread (every
third of the lease) while the run is open. It is stale, and holds nothing, once its lease or
its time to live (``expires_at``) has passed, on any store and whatever host holds it, or
at once when its process is gone on this host (the PID check, a fast path). A renewal is one
small transaction under the ledger's write lock whose UPDATE only succeeds while the
reservation is open and held by this host and process; when it finds the reservation stale
or closed, the run is *lost*: its next charge is refused
(:class:`~privacy_profile.errors.BudgetExceededError`), and so is any charge of a run whose
latest reservation is stale (:func:`stale_note`), whichever process asks. Rows written before
leases (``lease_until`` NULL) keep their time to live only.

Lease times are compared with the clock of the process that checks them: the hosts sharing a
ledger need clocks that agree to well within two thirds of the lease (NTP does).

The functions here run inside a transaction the caller opened with ``store.begin_write`` (the
same lock on SQLite and PostgreSQL), except :class:`Reservation`'s own methods, which open one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import threading
import weakref
from dataclasses import dataclass
from types import TracebackType

from privacy_profile._clock import Clock
from privacy_profile.dp.ledger_model import DELTA_UNIT, EPS_UNIT, BudgetUsage
from privacy_profile.dp.ledger_store import LedgerStore
from privacy_profile.dp.model import PrivacyLoss
from privacy_profile.errors import BudgetExceededError, PrivacyParameterError

__all__ = [
    "DEFAULT_LEASE",
    "MIN_LEASE",
    "ROUNDING_UNITS",
    "Holder",
    "OwnReservation",
    "Reservation",
    "check_lease",
    "check_within",
    "draw",
    "held_units",
    "insert_reservation",
    "stale_note",
]

#: How long a reservation holds without a renewal (its holder renews every third of it).
DEFAULT_LEASE = dt.timedelta(minutes=5)
#: The shortest lease: a renewal every third of a second at most.
MIN_LEASE = dt.timedelta(seconds=1)

#: Per-share rounding a reservation tolerates (6.4e-8 epsilon at most): a run's charges are its
#: releases' shares rounded one by one to ledger units, its reservation their sum rounded once.
ROUNDING_UNITS = 64

#: A run's own open reservation: (reservation id, epsilon units left, delta units left).
OwnReservation = tuple[int, int, int]


@dataclass(frozen=True, kw_only=True)
class Holder:
    """The process holding a reservation: its host name and PID."""

    host: str
    pid: int

    @classmethod
    def this_process(cls) -> Holder:
        return cls(host=socket.gethostname(), pid=os.getpid())


def check_lease(lease: object) -> dt.timedelta:
    """``lease`` as a reservation's lease: a :class:`datetime.timedelta` of at least
    :data:`MIN_LEASE` (a timedelta is always finite)."""
    if not isinstance(lease, dt.timedelta):
        raise PrivacyParameterError(
            f"a reservation's lease must be a datetime.timedelta, not {type(lease).__name__}",
            hint="e.g. lease=datetime.timedelta(minutes=5)",
        )
    if lease < MIN_LEASE:
        raise PrivacyParameterError(
            f"a reservation's lease must be at least {MIN_LEASE.total_seconds():g} s "
            f"(got {lease.total_seconds():g} s)",
            hint="its holder renews it every third of the lease; e.g. five minutes",
        )
    return lease


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
    lease: dt.timedelta,
    holder: Holder,
) -> int:
    """Record an open reservation for ``run_id`` held by ``holder`` until ``now + lease``
    (renewed) and at most ``now + ttl``; returns its id."""
    row = store.execute(
        "INSERT INTO reservations (dataset, run_id, epsilon_units, delta_units, state, "
        "host, pid, reserved_at, expires_at, lease_until) "
        "VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?, ?) RETURNING reservation_id",
        (
            dataset,
            run_id,
            eps_units,
            delta_units,
            holder.host,
            holder.pid,
            now.isoformat(),
            (now + ttl).isoformat(),
            (now + lease).isoformat(),
        ),
    ).fetchone()
    return int(row[0])


def _passed(stamp: object, now: dt.datetime) -> bool:
    """Whether the time ``stamp`` (ISO text; None: no such limit) is at or before ``now``."""
    return stamp is not None and dt.datetime.fromisoformat(str(stamp)) <= now


def _mark_stale(store: LedgerStore, reservation_id: int, now: dt.datetime) -> None:
    store.execute(
        "UPDATE reservations SET state = 'stale', closed_at = ? "
        "WHERE reservation_id = ? AND state = 'open'",
        (now.isoformat(), reservation_id),
    )


def held_units(
    store: LedgerStore, dataset: str, run_id: str, now: dt.datetime
) -> tuple[OwnReservation | None, int, int]:
    """Mark stale reservations, and return the run's own open reservation and what the other
    open ones hold (epsilon units, delta units)."""
    rows = store.execute(
        "SELECT reservation_id, run_id, host, pid, expires_at, lease_until, "
        "epsilon_units - spent_epsilon_units, delta_units - spent_delta_units "
        "FROM reservations WHERE dataset = ? AND state = 'open' ORDER BY reservation_id",
        (dataset,),
    ).fetchall()
    host = socket.gethostname()
    own: OwnReservation | None = None
    held_eps = held_delta = 0
    for rid, rrun, rhost, pid, expires, lease_until, left_eps, left_delta in rows:
        expired = _passed(expires, now) or _passed(lease_until, now)
        if expired or (rhost == host and not _pid_alive(int(pid))):
            _mark_stale(store, int(rid), now)
        elif rrun == run_id:
            own = (int(rid), max(int(left_eps), 0), max(int(left_delta), 0))
        else:
            held_eps += max(int(left_eps), 0)
            held_delta += max(int(left_delta), 0)
    return own, held_eps, held_delta


def stale_note(store: LedgerStore, dataset: str, run_id: str) -> str | None:
    """Why ``run_id`` may not charge, when its latest reservation went stale (its lease or time
    to live passed, or its process was found gone): a run that lost its reservation stops
    instead of charging on; None when it has none or its latest one is not stale."""
    row = store.execute(
        "SELECT state, lease_until, expires_at, closed_at FROM reservations "
        "WHERE dataset = ? AND run_id = ? ORDER BY reservation_id DESC LIMIT 1",
        (dataset, run_id),
    ).fetchone()
    if row is None or row[0] != "stale":
        return None
    return (
        f"run {run_id} lost its budget reservation: it was found stale at {row[3]} (lease until "
        f"{row[1]}, time to live until {row[2]}), so what it held went back to the budget and "
        "other runs may have taken it; the charge was refused"
    )


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

    While it is open a daemon thread renews its lease every third of the lease
    (:meth:`renew`); the thread stops on :meth:`close`, when its ledger is closed, when the
    process ends (then the reservation lapses after its lease), or when the object is garbage
    collected. :attr:`lost` says why the reservation no longer holds, once a renewal found it
    stale or closed (None while it holds).
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
        lease: dt.timedelta,
        holder: Holder,
        heartbeat: bool = True,
    ) -> None:
        self._store = store
        self._dataset = dataset
        self._clock = clock
        self.reservation_id = reservation_id
        self.run_id = run_id
        self.loss = loss
        self.lease = check_lease(lease)
        self.holder = holder
        self.released = False
        self.state = "open"
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if heartbeat:
            self._thread = threading.Thread(
                target=_heartbeat,
                args=(weakref.ref(self), self._stop, lease.total_seconds() / 3),
                name=f"ledger-lease-{reservation_id}",
                daemon=True,
            )
            self._thread.start()

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

    def renew(self) -> bool:
        """Extend the lease to now + lease, in one small transaction under the ledger's write
        lock; the UPDATE only succeeds while the reservation is open, held by this host and
        process, and neither its lease nor its time to live has passed. Returns whether it
        still holds; when not, :attr:`lost` says why and the run's next charge is refused."""
        if self.lost is not None:
            return False
        if self.state != "open":
            return True  # closed by its run: nothing to renew
        self._store.begin_write(self._dataset)
        try:
            now = self._clock()
            row = self._store.execute(
                "SELECT state, lease_until, expires_at FROM reservations WHERE reservation_id = ?",
                (self.reservation_id,),
            ).fetchone()
            lost = None
            if row is None or row[0] != "open":
                lost = f"it was {row[0] if row else 'removed'} when its lease was renewed"
            elif _passed(row[1], now) or _passed(row[2], now):
                _mark_stale(self._store, self.reservation_id, now)
                lost = (
                    f"its lease (until {row[1]}) or time to live (until {row[2]}) had passed "
                    f"when it was renewed at {now.isoformat()}"
                )
            elif (
                self._store.execute(
                    "UPDATE reservations SET lease_until = ? WHERE reservation_id = ? "
                    "AND state = 'open' AND host = ? AND pid = ?",
                    (
                        (now + self.lease).isoformat(),
                        self.reservation_id,
                        self.holder.host,
                        self.holder.pid,
                    ),
                ).rowcount
                != 1
            ):
                lost = "another host or process holds it"
            self._store.commit()
        except BaseException:
            self._store.rollback()
            raise
        if lost is not None:
            self.lost = lost
        return lost is None

    def check_held(self) -> None:
        """Raise :class:`~privacy_profile.errors.BudgetExceededError` when a renewal found the
        reservation lost (the run must not charge on)."""
        if self.lost is not None:
            raise BudgetExceededError(
                f"run {self.run_id} lost its budget reservation ({self.lost}); what it held "
                "may have gone to other runs, so the charge was refused",
                hint="the run stops here; start it again (it reserves anew), and keep the "
                "process running and its ledger connection up while a run is open",
            )

    def _stop_heartbeat(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=60)

    def close(self, *, cancelled: bool = False) -> None:
        """Stop the heartbeat and return the unspent part (idempotent)."""
        self._stop_heartbeat()
        if self.state != "open":
            return
        state = "cancelled" if cancelled and not self.released else "closed"
        self._store.begin_write(self._dataset)
        try:
            done = self._store.execute(
                "UPDATE reservations SET state = ?, closed_at = ? "
                "WHERE reservation_id = ? AND state = 'open'",
                (state, self._clock().isoformat(), self.reservation_id),
            ).rowcount
            if not done:  # found stale meanwhile: it already holds nothing
                row = self._store.execute(
                    "SELECT state FROM reservations WHERE reservation_id = ?",
                    (self.reservation_id,),
                ).fetchone()
                state = str(row[0]) if row is not None else "stale"
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


def _heartbeat(ref: weakref.ref[Reservation], stop: threading.Event, every_s: float) -> None:
    """The renewal loop of one reservation's daemon thread: renew every ``every_s`` seconds
    until stopped, lost, or the reservation is garbage collected. A renewal that fails (the
    database unreachable for a moment) is tried again at the next beat; if none succeeds before
    the lease passes, the reservation goes stale and the run's next charge is refused."""
    while not stop.wait(every_s):
        reservation = ref()
        if reservation is None:
            return
        with contextlib.suppress(Exception):  # retried at the next beat (see above)
            if not reservation.renew():
                return
        del reservation
