"""Reservations are leases renewed by a heartbeat, on SQLite and on PostgreSQL: renewal keeps a
long run's reservation; a holder on another host that stops renewing (or is killed) is freed
after its lease, not after the 12-hour time to live; a renewal that finds the reservation stale
makes the run's next charge fail (fail closed); the lease is validated; ledger files written
before leases gain the column; a ledger file this process creates has mode 0600.

Times are injected (a list holding "now") except where the heartbeat thread itself is tested."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import signal
import sqlite3
import stat
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from privacy_profile.dp import BudgetLedger, BudgetWindow, PrivacyLoss
from privacy_profile.dp.reservations import DEFAULT_LEASE
from privacy_profile.errors import BudgetExceededError, PrivacyParameterError

BUDGET = PrivacyLoss(epsilon=1.0, delta=1e-6)
LEASE = dt.timedelta(minutes=5)
T0 = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A ledger location: a SQLite file, or the throw-away PostgreSQL cluster."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite")
    return str(request.getfixturevalue("pg_url"))


def _open(where: str, dataset: str, now: list[dt.datetime], **kw: Any) -> BudgetLedger:
    return BudgetLedger.open(
        where,
        dataset=dataset,
        budget=BUDGET,
        window=BudgetWindow.lifetime(),
        clock=lambda: now[0],
        **kw,
    )


def _charge(ledger: BudgetLedger, run: str, eps: float) -> None:
    ledger.charge(
        run_id=run, mechanism="laplace", loss=PrivacyLoss(epsilon=eps), sensitivity=1.0, label="c"
    )


def _dataset() -> str:
    return f"d-{uuid.uuid4().hex[:12]}"  # the PostgreSQL cluster is shared by the session


def _row(ledger: BudgetLedger, run: str) -> tuple[str, str, str]:
    """(state, lease_until, expires_at) of the run's latest reservation."""
    row = ledger._conn.execute(
        "SELECT state, lease_until, expires_at FROM reservations WHERE dataset = ? AND "
        "run_id = ? ORDER BY reservation_id DESC LIMIT 1",
        (ledger.dataset, run),
    ).fetchone()
    return str(row[0]), str(row[1]), str(row[2])


def _elsewhere(ledger: BudgetLedger, run: str) -> None:
    """Make the run's reservation look held by a process on another machine (no PID check)."""
    ledger._conn.execute(
        "UPDATE reservations SET host = 'another-machine', pid = 4242 WHERE dataset = ? AND "
        "run_id = ?",
        (ledger.dataset, run),
    )


def test_renewal_keeps_a_long_runs_reservation(where: str) -> None:
    now, dataset = [T0], _dataset()
    with _open(where, dataset, now) as ledger, _open(where, dataset, now) as other:
        r = ledger.reserve("long", PrivacyLoss(epsilon=0.6), heartbeat=False)
        assert r.lease == DEFAULT_LEASE == LEASE
        assert _row(ledger, "long")[1] == (T0 + LEASE).isoformat()
        for step in range(1, 7):  # 24 minutes, almost five leases
            now[0] = T0 + step * dt.timedelta(minutes=4)
            assert r.renew()
            assert _row(ledger, "long")[1] == (now[0] + LEASE).isoformat()
            with pytest.raises(BudgetExceededError, match="held by runs in progress"):
                other.reserve("other", PrivacyLoss(epsilon=0.5), heartbeat=False)
            _charge(ledger, "long", 0.05)
        assert r.spent().epsilon == pytest.approx(0.3)
        r.mark_released()
        r.close()
        assert r.state == "closed" and r.lost is None
        other.reserve("other", PrivacyLoss(epsilon=0.7), heartbeat=False).close()


def test_a_holder_on_another_host_that_stops_renewing_is_freed_after_the_lease(
    where: str,
) -> None:
    now, dataset = [T0], _dataset()
    with _open(where, dataset, now) as ledger:
        ledger.reserve("crashed", PrivacyLoss(epsilon=0.9), heartbeat=False)
        _elsewhere(ledger, "crashed")
        expires = _row(ledger, "crashed")[2]
        assert dt.datetime.fromisoformat(expires) - T0 == dt.timedelta(hours=12)
        now[0] = T0 + LEASE - dt.timedelta(seconds=1)
        with pytest.raises(BudgetExceededError, match=r"held by runs in progress epsilon=0\.9"):
            ledger.reserve("next", PrivacyLoss(epsilon=0.5), heartbeat=False)
        now[0] = T0 + LEASE  # five minutes, not twelve hours
        ledger.reserve("next", PrivacyLoss(epsilon=0.5), heartbeat=False).close()
        assert _row(ledger, "crashed")[0] == "stale"
        assert ledger.reserved().epsilon == 0


def test_a_renewal_after_staleness_makes_the_next_charge_fail(where: str) -> None:
    now, dataset = [T0], _dataset()
    with _open(where, dataset, now) as ledger, _open(where, dataset, now) as other:
        r = ledger.reserve("late", PrivacyLoss(epsilon=0.6), heartbeat=False)
        _charge(ledger, "late", 0.1)
        now[0] = T0 + LEASE + dt.timedelta(seconds=30)  # the heartbeat stalled past the lease
        other.reserve("thief", PrivacyLoss(epsilon=0.8), heartbeat=False)  # takes what was freed
        assert _row(ledger, "late")[0] == "stale"
        assert not r.renew()
        assert r.lost is not None and "stale" in r.lost
        with pytest.raises(BudgetExceededError, match="lost its budget reservation"):
            _charge(ledger, "late", 0.1)
        # another process charging for the same run is refused too (the ledger row says so)
        with pytest.raises(BudgetExceededError, match="lost its budget reservation") as e:
            _charge(other, "late", 0.05)
        assert "the run had already charged epsilon=0.1" in e.value.message
        assert len(ledger.charges_for_run("late")) == 1
        assert ledger.spent().epsilon == pytest.approx(0.1)
        r.close()
        assert r.state == "stale"


def test_a_renewal_that_finds_its_own_lease_passed_marks_it_stale(where: str) -> None:
    now, dataset = [T0], _dataset()
    with _open(where, dataset, now) as ledger:
        r = ledger.reserve("paused", PrivacyLoss(epsilon=0.5), heartbeat=False)
        now[0] = T0 + LEASE  # e.g. the machine was suspended
        assert not r.renew()
        assert r.lost is not None and "lease" in r.lost
        assert _row(ledger, "paused")[0] == "stale"
        with pytest.raises(BudgetExceededError, match="lost its budget reservation"):
            _charge(ledger, "paused", 0.1)
        assert ledger.charges_for_run("paused") == []
        # the run may start again: a new reservation holds and charges
        with ledger.reserve("paused", PrivacyLoss(epsilon=0.5), heartbeat=False):
            _charge(ledger, "paused", 0.1)


def test_only_the_holder_renews(where: str) -> None:
    now, dataset = [T0], _dataset()
    with _open(where, dataset, now) as ledger:
        r = ledger.reserve("mine", PrivacyLoss(epsilon=0.5), heartbeat=False)
        _elsewhere(ledger, "mine")
        before = _row(ledger, "mine")
        now[0] = T0 + dt.timedelta(minutes=1)
        assert not r.renew()
        assert r.lost == "another host or process holds it"
        assert _row(ledger, "mine") == before  # the UPDATE did not apply
        with pytest.raises(BudgetExceededError, match="another host or process holds it"):
            _charge(ledger, "mine", 0.1)


@pytest.mark.parametrize(
    "lease",
    [dt.timedelta(0), dt.timedelta(seconds=-5), dt.timedelta(milliseconds=500), 300, 300.0],
)
def test_the_lease_is_validated(tmp_path: Path, lease: Any) -> None:
    now = [T0]
    with pytest.raises(PrivacyParameterError, match="lease"):
        _open(str(tmp_path / "l.sqlite"), "d", now, lease=lease)
    with pytest.raises(PrivacyParameterError, match="lease"):
        BudgetLedger.in_memory(
            dataset="d", budget=BUDGET, window=BudgetWindow.lifetime(), lease=lease
        )
    with _open(str(tmp_path / "l.sqlite"), "d", now) as ledger:
        with pytest.raises(PrivacyParameterError, match="lease"):
            ledger.reserve("r", PrivacyLoss(epsilon=0.1), lease=lease)
        assert ledger.reserved().epsilon == 0  # refused before anything was recorded
        with ledger.reserve("r", PrivacyLoss(epsilon=0.1), lease=dt.timedelta(seconds=1)) as r:
            assert r.lease == dt.timedelta(seconds=1)


def _wait_for(check: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_the_heartbeat_thread_renews_and_stops_on_close(tmp_path: Path) -> None:
    with BudgetLedger.open(
        tmp_path / "l.sqlite",
        dataset="d",
        budget=BUDGET,
        window=BudgetWindow.lifetime(),
        lease=dt.timedelta(seconds=1),
    ) as ledger:
        r = ledger.reserve("beating", PrivacyLoss(epsilon=0.5))
        first = _row(ledger, "beating")[1]
        thread = r._thread
        assert thread is not None and thread.daemon and thread.is_alive()
        # renewed every third of a second: the lease moves (generous timeout for a busy host)
        assert _wait_for(lambda: _row(ledger, "beating")[1] != first, 30)
        assert r.lost is None
        r.close()
        assert not thread.is_alive() and r.state == "closed"
        last = _row(ledger, "beating")[1]
        time.sleep(0.5)
        assert _row(ledger, "beating")[1] == last  # no renewal after close


def test_closing_the_ledger_stops_the_heartbeats(tmp_path: Path) -> None:
    ledger = BudgetLedger.open(
        tmp_path / "l.sqlite", dataset="d", budget=BUDGET, window=BudgetWindow.lifetime()
    )
    r = ledger.reserve("open", PrivacyLoss(epsilon=0.5))
    assert r._thread is not None and r._thread.is_alive()
    ledger.close()
    assert not r._thread.is_alive()


def _hold_elsewhere(where: str, dataset: str, ready: Any) -> None:
    """A child process that believes it runs on another machine, reserves with a 1.5 s lease
    and keeps its heartbeat going until it is killed."""
    import socket

    socket.gethostname = lambda: "another-machine"  # type: ignore[assignment]
    ledger = BudgetLedger.open(
        where,
        dataset=dataset,
        budget=BUDGET,
        window=BudgetWindow.lifetime(),
        lease=dt.timedelta(seconds=1.5),
    )
    reservation = ledger.reserve("remote", PrivacyLoss(epsilon=0.9))
    ready.set()
    time.sleep(600)
    reservation.close()


@pytest.mark.slow  # spawns an interpreter
def test_a_killed_holder_on_another_host_is_freed_after_its_lease(where: str) -> None:
    dataset = _dataset()
    now = [T0]
    _open(where, dataset, now).close()
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    child = ctx.Process(target=_hold_elsewhere, args=(where, dataset, ready))
    child.start()
    try:
        assert ready.wait(120), "the child never reserved"
        with _open(where, dataset, now) as ledger:
            first = _row(ledger, "remote")[1]
            # the child's heartbeat renews its lease across processes
            assert _wait_for(lambda: _row(ledger, "remote")[1] != first, 60)
            os.kill(child.pid or 0, signal.SIGKILL)
            child.join(60)
            state, lease_until, expires = _row(ledger, "remote")
            assert state == "open"
            end = dt.datetime.fromisoformat(lease_until)
            assert dt.datetime.fromisoformat(expires) - end > dt.timedelta(hours=11)
            now[0] = end - dt.timedelta(seconds=1)  # another host: no PID check, the lease holds
            with pytest.raises(BudgetExceededError, match="held by runs in progress"):
                ledger.reserve("here", PrivacyLoss(epsilon=0.5), heartbeat=False)
            now[0] = end  # the lease passed: freed, eleven hours before its time to live
            ledger.reserve("here", PrivacyLoss(epsilon=0.5), heartbeat=False).close()
            assert _row(ledger, "remote")[0] == "stale"
    finally:
        if child.is_alive():
            child.kill()
            child.join(60)


def test_a_ledger_file_from_before_leases_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    now = [T0]
    with _open(str(path), "d", now) as ledger:
        ledger.reserve("old", PrivacyLoss(epsilon=0.9), heartbeat=False)
    with sqlite3.connect(path) as conn:  # what an older version wrote: no lease column
        conn.execute("ALTER TABLE reservations DROP COLUMN lease_until")
        conn.execute("UPDATE reservations SET host = 'another-machine'")
    with _open(str(path), "d", now) as ledger:
        assert ledger._conn.has_column("reservations", "lease_until")
        assert _row(ledger, "old")[1] == "None"  # an old row keeps its time to live only
        now[0] = T0 + dt.timedelta(hours=1)
        with pytest.raises(BudgetExceededError, match="held by runs in progress"):
            ledger.reserve("new", PrivacyLoss(epsilon=0.5), heartbeat=False)
        now[0] = T0 + dt.timedelta(hours=12)
        ledger.reserve("new", PrivacyLoss(epsilon=0.5), heartbeat=False).close()


def test_a_new_ledger_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    old = os.umask(0o000)  # permissive: files would be world-readable
    try:
        with BudgetLedger.open(
            path, dataset="d", budget=BUDGET, window=BudgetWindow.lifetime()
        ) as ledger:
            _charge(ledger, "r", 0.1)
            made = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
            assert len(made) == 3  # the WAL files exist while the ledger is open
            for p in made:
                assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
    finally:
        os.umask(old)
    # a file the user made is not ours to change
    mine = tmp_path / "shared.sqlite"
    mine.touch(mode=0o640)
    mine.chmod(0o640)
    BudgetLedger.open(mine, dataset="d", budget=BUDGET, window=BudgetWindow.lifetime()).close()
    assert stat.S_IMODE(mine.stat().st_mode) == 0o640


def _reserve_renew_and_spend(where: str, dataset: str, run: str, barrier: Any) -> tuple[bool, int]:
    """Reserve 0.3 with a 2 s lease and spend it in six charges over about two seconds, while
    the heartbeat renews the lease; returns whether the reservation was granted and how many
    charges were."""
    ledger = BudgetLedger.open(
        where,
        dataset=dataset,
        budget=BUDGET,
        window=BudgetWindow.lifetime(),
        lease=dt.timedelta(seconds=2),
    )
    reserved, charged = False, 0
    barrier.wait()
    try:
        with ledger.reserve(run, PrivacyLoss(epsilon=0.3)) as r:
            reserved = True
            barrier.wait()  # every racer has asked before any granted one spends
            for _ in range(6):
                time.sleep(0.3)
                try:
                    _charge(ledger, run, 0.05)
                    charged += 1
                except BudgetExceededError:
                    pass  # a lease lost on a very busy host is refused: never an overspend
            r.mark_released()
    except BudgetExceededError:
        if not reserved:
            barrier.wait()
    finally:
        ledger.close()
    return reserved, charged


@pytest.mark.slow  # spawns 6 interpreters
def test_racing_holders_with_heartbeats_never_overspend(where: str) -> None:
    """6 processes reserve 0.3 of 1.0 and spend it while their heartbeats renew 2 s leases:
    exactly 3 are granted, and the budget is never overspent."""
    dataset = _dataset()
    _open(where, dataset, [T0]).close()
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(6, timeout=240)
        with ctx.Pool(6) as pool:
            results = pool.starmap(
                _reserve_renew_and_spend, [(where, dataset, f"r{i}", barrier) for i in range(6)]
            )
    assert sum(1 for reserved, _ in results if reserved) == 3
    assert all(n == 0 for reserved, n in results if not reserved)
    with BudgetLedger.open(
        where, dataset=dataset, budget=BUDGET, window=BudgetWindow.lifetime()
    ) as ledger:
        spent = ledger.spent().epsilon
        assert spent == pytest.approx(0.05 * sum(n for _, n in results))
        assert spent <= BUDGET.epsilon + 1e-9
        assert ledger.reserved().epsilon == 0
