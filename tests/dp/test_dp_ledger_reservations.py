"""Reserve, then spend: a run's whole loss is held atomically before it computes."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import sqlite3
from pathlib import Path

import pytest

from privacy_profile.dp import BudgetLedger, BudgetWindow, Mechanism, PrivacyLoss
from privacy_profile.errors import BudgetExceededError, PrivacyParameterError


def _open(path: Path, eps: float = 1.0, clock: object = None) -> BudgetLedger:
    kw = {} if clock is None else {"clock": clock}
    return BudgetLedger.open(
        path,
        dataset="orders",
        budget=PrivacyLoss(epsilon=eps, delta=1e-6),
        window=BudgetWindow.lifetime(),
        **kw,  # type: ignore[arg-type]
    )


def _charge(ledger: BudgetLedger, eps: float, run: str, delta: float = 0.0) -> None:
    ledger.charge(
        run_id=run,
        mechanism=Mechanism.LAPLACE,
        loss=PrivacyLoss(epsilon=eps, delta=delta),
        sensitivity=1.0,
        label="count",
    )


def test_a_reservation_holds_budget_away_from_other_runs(tmp_path: Path) -> None:
    ledger = _open(tmp_path / "l.db")
    with ledger.reserve("a", PrivacyLoss(epsilon=0.6)) as r:
        assert ledger.reserved().epsilon == pytest.approx(0.6)
        with pytest.raises(BudgetExceededError, match=r"held by runs in progress epsilon=0\.6"):
            ledger.reserve("b", PrivacyLoss(epsilon=0.5))
        with pytest.raises(BudgetExceededError, match="held by open reservations"):
            _charge(ledger, 0.5, "b")  # a run without reservation cannot take it either
        _charge(ledger, 0.4, "b")  # what is left is free
        _charge(ledger, 0.25, "a")
        _charge(ledger, 0.25, "a")
        assert r.spent().epsilon == pytest.approx(0.5)
        assert ledger.reserved().epsilon == pytest.approx(0.1)
        r.mark_released()
    assert r.state == "closed"
    assert ledger.reserved().epsilon == 0
    assert ledger.spent().epsilon == pytest.approx(0.9)  # the unspent 0.1 came back
    assert ledger.charges_for_run("b")[0].epsilon == pytest.approx(0.4)


def test_a_charge_beyond_the_reservation_is_refused_and_says_what_was_charged(
    tmp_path: Path,
) -> None:
    ledger = _open(tmp_path / "l.db")
    with ledger.reserve("a", PrivacyLoss(epsilon=0.3)):
        _charge(ledger, 0.2, "a")
        with pytest.raises(BudgetExceededError) as err:
            _charge(ledger, 0.2, "a")
    msg = err.value.message
    assert "exceeds what is left of its reservation (epsilon=0.1" in msg
    assert "the run had already charged epsilon=0.2" in msg
    assert len(ledger.charges_for_run("a")) == 1


def test_failure_before_release_cancels_and_returns_the_unspent_part(tmp_path: Path) -> None:
    ledger = _open(tmp_path / "l.db")
    with pytest.raises(KeyboardInterrupt), ledger.reserve("a", PrivacyLoss(epsilon=0.8)) as r:
        _charge(ledger, 0.3, "a")
        raise KeyboardInterrupt
    assert r.state == "cancelled"
    assert ledger.reserved().epsilon == 0
    assert ledger.spent().epsilon == pytest.approx(0.3)  # the charge stands, 0.5 came back
    with ledger.reserve("b", PrivacyLoss(epsilon=0.7)):
        pass


def test_reservation_of_a_dead_process_or_past_its_time_is_stale(tmp_path: Path) -> None:
    now = [dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)]
    ledger = _open(tmp_path / "l.db", clock=lambda: now[0])
    ledger.reserve("a", PrivacyLoss(epsilon=0.9), ttl=dt.timedelta(hours=1))
    with pytest.raises(BudgetExceededError):
        ledger.reserve("b", PrivacyLoss(epsilon=0.5))
    now[0] += dt.timedelta(hours=1)
    ledger.reserve("b", PrivacyLoss(epsilon=0.5)).close()
    # a process that died holding a reservation (kill -9) holds nothing
    proc = mp.get_context("spawn").Process(target=os.getpid)
    proc.start()
    proc.join()
    ledger.reserve("c", PrivacyLoss(epsilon=0.9))
    with sqlite3.connect(tmp_path / "l.db") as conn:
        conn.execute("UPDATE reservations SET pid = ? WHERE run_id = 'c'", (proc.pid,))
    ledger.reserve("d", PrivacyLoss(epsilon=0.9)).close()
    with sqlite3.connect(tmp_path / "l.db") as conn:
        states = dict(conn.execute("SELECT run_id, state FROM reservations").fetchall())
    assert states == {"a": "stale", "b": "closed", "c": "stale", "d": "closed"}


def test_one_open_reservation_per_run(tmp_path: Path) -> None:
    ledger = _open(tmp_path / "l.db")
    with (
        ledger.reserve("a", PrivacyLoss(epsilon=0.1)),
        pytest.raises(PrivacyParameterError, match="already holds"),
    ):
        ledger.reserve("a", PrivacyLoss(epsilon=0.1))
    with pytest.raises(PrivacyParameterError):
        ledger.reserve("", PrivacyLoss(epsilon=0.1))


def _reserve_and_spend(path: str, run: str, barrier: object) -> bool:
    ledger = _open(Path(path), eps=1.0)
    barrier.wait()  # type: ignore[attr-defined]
    try:
        with ledger.reserve(run, PrivacyLoss(epsilon=0.3)) as r:
            for _ in range(3):
                _charge(ledger, 0.1, run)
            r.mark_released()
    except BudgetExceededError:
        return False
    finally:
        ledger.close()
    return True


@pytest.mark.slow  # spawns 6 interpreters
def test_racing_processes_get_exactly_what_the_budget_allows(tmp_path: Path) -> None:
    """6 processes, each reserving 0.3 of 1.0, start together: exactly 3 are granted and
    spend; the 3 others charge nothing."""
    path = tmp_path / "l.db"
    _open(path).close()
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(6)
        with ctx.Pool(6) as pool:
            granted = pool.starmap(
                _reserve_and_spend, [(str(path), f"r{i}", barrier) for i in range(6)]
            )
    assert sum(granted) == 3
    ledger = _open(path)
    assert ledger.spent().epsilon == pytest.approx(0.9)
    for i, ok in enumerate(granted):
        assert len(ledger.charges_for_run(f"r{i}")) == (3 if ok else 0)


def test_budget_status_shows_what_runs_in_progress_hold(tmp_path: Path) -> None:
    from privacy_profile.dp.policy_ledger import budget_status, open_ledger
    from privacy_profile.policy import load_policy_file

    policy = load_policy_file(Path(__file__).parents[2] / "policies" / "wechat_shop.yaml").policy
    path = tmp_path / "ledger.sqlite"
    with open_ledger(path, policy) as ledger:
        assert "reserved" not in budget_status(path, policy)
        with ledger.reserve("run-1", PrivacyLoss(epsilon=4.5)):
            assert "reserved by runs in progress: epsilon 4.5" in budget_status(path, policy)
        assert "reserved" not in budget_status(path, policy)
