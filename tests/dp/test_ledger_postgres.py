"""The budget ledger on a real PostgreSQL server (a throw-away cluster, see the ``pg_url``
fixture): the same charges, zCDP rho units and reservations as on SQLite; processes racing to
reserve a budget for two get exactly two reservations; 16 processes charging one budget never
overspend; a process killed inside a charge leaves no half charge; a password in the URL is
refused and never echoed."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import signal
import time
from typing import Any

import pytest

from privacy_profile.dp import BudgetLedger, BudgetWindow, PrivacyLoss, ZcdpChargeRequest
from privacy_profile.dp.ledger_store import PostgresStore
from privacy_profile.dp.zcdp import zcdp_epsilon
from privacy_profile.errors import BudgetExceededError, InputError, PrivacyParameterError

BUDGET = PrivacyLoss(epsilon=1.0, delta=1e-6)


def _open(url: str, dataset: str, **kw: Any) -> BudgetLedger:
    return BudgetLedger.open(
        url, dataset=dataset, budget=BUDGET, window=BudgetWindow.lifetime(), **kw
    )


def _charge(ledger: BudgetLedger, run: str, eps: float, label: str = "count") -> None:
    ledger.charge(
        run_id=run, mechanism="laplace", loss=PrivacyLoss(epsilon=eps), sensitivity=1.0, label=label
    )


def test_charges_and_refusals_as_on_sqlite(pg_url: str) -> None:
    with _open(pg_url, "basic") as ledger:
        assert isinstance(ledger._conn, PostgresStore)
        _charge(ledger, "r1", 0.4, "rfm/count")
        assert ledger.remaining().epsilon == pytest.approx(0.6)
        with pytest.raises(BudgetExceededError, match="would be exceeded"):
            _charge(ledger, "r2", 0.7, "too/much")
        assert [x.label for x in ledger.charges_for_run("r1")] == ["rfm/count"]
        assert ledger.charges_for_run("r2") == []
    with _open(pg_url, "basic") as again:  # durable, shared by every connection
        assert again.spent().epsilon == pytest.approx(0.4)
    with pytest.raises(PrivacyParameterError, match="different budget"):
        BudgetLedger.open(
            pg_url,
            dataset="basic",
            budget=PrivacyLoss(epsilon=2.0, delta=1e-6),
            window=BudgetWindow.lifetime(),
        )


def test_zcdp_rho_is_stored_in_units_and_converted_at_the_check(pg_url: str) -> None:
    with _open(pg_url, "zcdp") as ledger:
        ledger.charge_many(
            run_id="z",
            requests=[
                ZcdpChargeRequest(mechanism="gaussian", rho=0.01, sensitivity=1.0, label="g")
            ],
        )
        assert ledger.spent_rho() == pytest.approx(0.01)
        want = zcdp_epsilon(0.01, BUDGET.delta)
        assert ledger.spent().epsilon == pytest.approx(want, abs=1e-8)
        assert ledger.charges_for_run("z")[0].rho == pytest.approx(0.01)


def test_reservations_hold_draw_close_and_go_stale(pg_url: str) -> None:
    now = [dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)]
    with _open(pg_url, "reserve", clock=lambda: now[0]) as ledger:
        with ledger.reserve("a", PrivacyLoss(epsilon=0.6)) as r:
            assert ledger.reserved().epsilon == pytest.approx(0.6)
            with pytest.raises(BudgetExceededError, match="held by runs in progress"):
                ledger.reserve("b", PrivacyLoss(epsilon=0.5))
            with pytest.raises(BudgetExceededError, match="held by open reservations"):
                _charge(ledger, "b", 0.5)
            _charge(ledger, "a", 0.25)
            with pytest.raises(BudgetExceededError, match="exceeds what is left"):
                _charge(ledger, "a", 0.5)
            assert r.spent().epsilon == pytest.approx(0.25)
            r.mark_released()
        assert r.state == "closed" and ledger.reserved().epsilon == 0
        assert ledger.spent().epsilon == pytest.approx(0.25)  # the unspent 0.35 came back
        # past its time to live a reservation holds nothing
        ledger.reserve("c", PrivacyLoss(epsilon=0.7), ttl=dt.timedelta(hours=1))
        now[0] += dt.timedelta(hours=1)
        ledger.reserve("d", PrivacyLoss(epsilon=0.7)).close(cancelled=True)
        # a process that died holding a reservation (kill -9) holds nothing
        proc = mp.get_context("spawn").Process(target=os.getpid)
        proc.start()
        proc.join()
        ledger.reserve("e", PrivacyLoss(epsilon=0.7))
        ledger._conn.execute("UPDATE reservations SET pid = ? WHERE run_id = 'e'", (proc.pid,))
        ledger.reserve("f", PrivacyLoss(epsilon=0.7)).close()
        states = dict(
            ledger._conn.execute(
                "SELECT run_id, state FROM reservations WHERE dataset = 'reserve'"
            ).fetchall()
        )
    assert states == {"a": "closed", "c": "stale", "d": "cancelled", "e": "stale", "f": "closed"}


def _reserve_and_spend(url: str, run: str, barrier: Any) -> bool:
    ledger = _open(url, "race2")
    barrier.wait()
    try:
        with ledger.reserve(run, PrivacyLoss(epsilon=0.5)) as r:
            barrier.wait()  # every racer has asked before any granted one spends
            _charge(ledger, run, 0.25)
            _charge(ledger, run, 0.25)
            r.mark_released()
    except BudgetExceededError:
        barrier.wait()
        return False
    finally:
        ledger.close()
    return True


@pytest.mark.slow  # spawns 6 interpreters
def test_racing_processes_reserve_a_budget_for_two_exactly_twice(pg_url: str) -> None:
    """6 processes start together, each reserving 0.5 of 1.0 and holding it while the others
    ask: exactly 2 are granted and spend; the 4 others charge nothing."""
    _open(pg_url, "race2").close()  # the budget row exists before the race
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(6, timeout=240)
        with ctx.Pool(6) as pool:
            granted = pool.starmap(
                _reserve_and_spend, [(pg_url, f"r{i}", barrier) for i in range(6)]
            )
    assert sum(granted) == 2
    with _open(pg_url, "race2") as ledger:
        assert ledger.spent().epsilon == pytest.approx(1.0)
        assert ledger.reserved().epsilon == 0
        for i, ok in enumerate(granted):
            assert len(ledger.charges_for_run(f"r{i}")) == (2 if ok else 0)


def _racer(url: str, attempts: int) -> int:
    ok = 0
    with _open(url, "race16") as ledger:
        for i in range(attempts):
            try:
                _charge(ledger, f"p{os.getpid()}-{i}", 0.1, "race")
                ok += 1
            except BudgetExceededError:
                pass
    return ok


@pytest.mark.slow  # spawns 16 interpreters
def test_sixteen_processes_charging_never_overspend(pg_url: str) -> None:
    _open(pg_url, "race16").close()
    with mp.get_context("spawn").Pool(16) as pool:
        granted = pool.starmap(_racer, [(pg_url, 3)] * 16)
    assert sum(granted) == 10  # 48 attempts of 0.1 for a budget of 1.0: exactly ten fit
    with _open(pg_url, "race16") as ledger:
        assert ledger.spent().epsilon == pytest.approx(1.0)


def _stuck_in_charge(url: str, inside: Any) -> None:
    def clock() -> Any:  # called inside the charge transaction, after the row lock
        inside.set()
        time.sleep(600)
        raise AssertionError("not killed")

    with _open(url, "killed") as ledger:
        ledger._clock = clock
        _charge(ledger, "victim", 0.5, "half")


@pytest.mark.slow
def test_a_killed_process_leaves_no_half_charge(pg_url: str) -> None:
    _open(pg_url, "killed").close()
    ctx = mp.get_context("spawn")
    inside = ctx.Event()
    p = ctx.Process(target=_stuck_in_charge, args=(pg_url, inside))
    p.start()
    assert inside.wait(120), "the child never reached the charge"
    os.kill(p.pid or 0, signal.SIGKILL)
    p.join(60)
    assert p.exitcode == -signal.SIGKILL
    with _open(pg_url, "killed") as ledger:
        assert ledger.charges_for_run("victim") == []
        _charge(ledger, "after", 1.0, "all")  # the row lock died with the process
        assert ledger.spent().epsilon == pytest.approx(1.0)


def test_read_charges_reads_a_postgresql_ledger(pg_url: str) -> None:
    from privacy_profile.dp import read_charges

    with _open(pg_url, "read") as ledger:
        _charge(ledger, "x", 0.1, "one")
    got = read_charges(pg_url, run_id="x", dataset="read")
    assert [(c.label, c.epsilon) for c in got] == [("one", pytest.approx(0.1))]


def test_the_audit_reads_the_budget_of_a_postgresql_ledger(pg_url: str, tmp_path: Any) -> None:
    from privacy_profile.dp.ledger_model import DELTA_UNIT, EPS_UNIT
    from privacy_profile.lineage.ledger_audit import read_ledger_budget

    with _open(pg_url, "audited"):
        pass
    want = {
        "window": "lifetime",
        "epsilon_units": round(BUDGET.epsilon * EPS_UNIT),
        "delta_units": round(BUDGET.delta * DELTA_UNIT),
    }
    assert read_ledger_budget(pg_url, "audited") == want
    assert read_ledger_budget(pg_url, "no-such-dataset") is None
    # the same row from a SQLite file
    sqlite_path = tmp_path / "ledger.sqlite"
    with _open(str(sqlite_path), "audited"):
        pass
    assert read_ledger_budget(sqlite_path, "audited") == want


def test_a_password_in_the_url_is_refused_and_not_echoed() -> None:
    pytest.importorskip("psycopg", reason="psycopg (the postgres extra) is not installed")
    with pytest.raises(InputError) as e:
        _open("postgresql://alice:s3cr3t-pw@127.0.0.1:1/db", "x")
    assert "s3cr3t-pw" not in str(e.value) and "PGPASSWORD" in str(e.value.hint)


def test_the_policy_ledger_opens_a_postgresql_url(pg_url: str) -> None:
    from pathlib import Path

    from privacy_profile.dp.policy_ledger import budget_status, open_ledger
    from privacy_profile.policy import load_policy_file

    policy = load_policy_file("policies/wechat_shop.yaml").policy
    # the CLI hands --ledger over as a Path, which folds '//' into '/'
    with open_ledger(Path(pg_url), policy) as ledger:
        assert isinstance(ledger._conn, PostgresStore)
        assert ledger.dataset == policy.privacy.budget_dataset
        _charge(ledger, "p", 0.5)
    status = budget_status(pg_url, policy)
    assert "0.5" in status and policy.privacy.budget_dataset in status


def test_a_writer_with_select_insert_update_only_can_use_the_ledger(pg_url: str) -> None:
    """Once the tables exist, the writer needs no CREATE or ALTER (docs/scale.md): it opens the
    ledger, charges, reserves and renews; the audit reads it."""
    import uuid

    import psycopg

    from privacy_profile.dp import read_charges
    from privacy_profile.lineage.ledger_audit import read_ledger_budget

    tag = uuid.uuid4().hex[:10]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE least_{tag}")
    owner_url = pg_url.rsplit("/", 1)[0] + f"/least_{tag}"
    _open(owner_url, "least").close()  # the owner creates the tables
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE writer_{tag} LOGIN")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        tables = "budgets, charges, reservations"
        conn.execute(f"GRANT SELECT, INSERT, UPDATE ON {tables} TO writer_{tag}")
    writer_url = owner_url.replace("postgres@", f"writer_{tag}@")
    with _open(writer_url, "least") as ledger:
        with ledger.reserve("w", PrivacyLoss(epsilon=0.5), heartbeat=False) as r:
            assert r.renew()
            _charge(ledger, "w", 0.25, "by the writer")
            r.mark_released()
        assert ledger.spent().epsilon == pytest.approx(0.25)
    assert [c.label for c in read_charges(writer_url, dataset="least")] == ["by the writer"]
    assert read_ledger_budget(writer_url, "least") is not None
