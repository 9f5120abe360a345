from __future__ import annotations

import datetime as dt
import multiprocessing as mp
from pathlib import Path

import pytest

from privacy_profile.dp import BudgetLedger, BudgetWindow, Mechanism, PrivacyLoss
from privacy_profile.errors import BudgetExceededError, PrivacyParameterError


def _open(path: Path, **kw: object) -> BudgetLedger:
    return BudgetLedger.open(
        path,
        dataset="orders",
        budget=PrivacyLoss(epsilon=1.0, delta=1e-6),
        window=BudgetWindow.lifetime(),
        **kw,  # type: ignore[arg-type]
    )


def _charge(ledger: BudgetLedger, eps: float, run: str = "r1", delta: float = 0.0) -> None:
    ledger.charge(
        run_id=run,
        mechanism=Mechanism.LAPLACE,
        loss=PrivacyLoss(epsilon=eps, delta=delta),
        sensitivity=2.0,
        label="sum",
    )


def test_refuses_past_the_budget_and_records_nothing(tmp_path: Path) -> None:
    ledger = _open(tmp_path / "l.db")
    for _ in range(10):
        _charge(ledger, 0.1)
    assert ledger.spent().epsilon == pytest.approx(1.0)
    with pytest.raises(BudgetExceededError, match="Nothing was computed"):
        _charge(ledger, 1e-6)
    assert len(ledger.charges_for_run("r1")) == 10
    assert ledger.remaining().epsilon == 0.0


def test_delta_is_budgeted_too(tmp_path: Path) -> None:
    ledger = _open(tmp_path / "l.db")
    _charge(ledger, 0.1, delta=1e-6)
    with pytest.raises(BudgetExceededError):
        _charge(ledger, 0.1, delta=1e-9)


def test_charges_persist_and_record_what_ran(tmp_path: Path) -> None:
    _charge(_open(tmp_path / "l.db"), 0.25, run="a")
    again = _open(tmp_path / "l.db")
    (c,) = again.charges_for_run("a")
    assert (c.mechanism, c.epsilon, c.delta, c.sensitivity, c.label) == (
        "laplace",
        0.25,
        0.0,
        2.0,
        "sum",
    )
    assert again.spent().epsilon == 0.25
    assert again.charges_for_run("b") == []


def test_budget_cannot_be_changed_silently(tmp_path: Path) -> None:
    _open(tmp_path / "l.db")
    with pytest.raises(PrivacyParameterError):
        BudgetLedger.open(
            tmp_path / "l.db",
            dataset="orders",
            budget=PrivacyLoss(epsilon=2.0, delta=1e-6),
            window=BudgetWindow.lifetime(),
        )


def test_rolling_and_calendar_windows(tmp_path: Path) -> None:
    now = [dt.datetime(2026, 1, 31, 12, tzinfo=dt.UTC)]
    for window in (BudgetWindow.rolling_days(7), BudgetWindow.calendar_month()):
        ledger = BudgetLedger.open(
            tmp_path / f"{window.kind.value}.db",
            dataset="d",
            budget=PrivacyLoss(epsilon=1.0),
            window=window,
            clock=lambda: now[0],
        )
        now[0] = dt.datetime(2026, 1, 31, 12, tzinfo=dt.UTC)
        _charge(ledger, 1.0)
        with pytest.raises(BudgetExceededError):
            _charge(ledger, 0.5)
        now[0] = dt.datetime(2026, 2, 8, 13, tzinfo=dt.UTC)  # > 7 days later, next month
        _charge(ledger, 1.0)
        assert ledger.spent().epsilon == 1.0


def test_windows_validate() -> None:
    with pytest.raises(PrivacyParameterError):
        BudgetWindow.rolling_days(0)


def _race_worker(path: str, n: int) -> int:
    ledger = BudgetLedger.open(
        path,
        dataset="orders",
        budget=PrivacyLoss(epsilon=1.0, delta=1e-6),
        window=BudgetWindow.lifetime(),
    )
    ok = 0
    for _ in range(n):
        try:
            ledger.charge(
                run_id=f"w{mp.current_process().pid}",
                mechanism="laplace",
                loss=PrivacyLoss(epsilon=0.05),
                sensitivity=1.0,
                label="race",
            )
            ok += 1
        except BudgetExceededError:
            pass
    ledger.close()
    return ok


@pytest.mark.slow  # eight processes racing on one SQLite file
def test_eight_processes_never_overspend(tmp_path: Path) -> None:
    path = str(tmp_path / "race.db")
    _open(tmp_path / "race.db").close()
    ctx = mp.get_context("spawn")
    with ctx.Pool(8) as pool:
        granted = pool.starmap(_race_worker, [(path, 6)] * 8)  # 48 asks for 20 slots
    assert sum(granted) == 20
    ledger = _open(tmp_path / "race.db")
    assert ledger.spent().epsilon == pytest.approx(1.0)
    assert ledger.spent().epsilon <= 1.0


def test_read_charges_is_read_only_and_needs_no_budget(tmp_path: Path) -> None:
    from privacy_profile.dp import read_charges
    from privacy_profile.errors import InputError

    path = tmp_path / "ledger.sqlite"
    with BudgetLedger.open(
        path, dataset="d", budget=PrivacyLoss(epsilon=2.0), window=BudgetWindow.lifetime()
    ) as led:
        led.charge(
            run_id="r1",
            mechanism=Mechanism.DISCRETE_LAPLACE,
            loss=PrivacyLoss(epsilon=0.5),
            sensitivity=1.0,
            label="a",
        )
        led.charge(
            run_id="r2",
            mechanism=Mechanism.DISCRETE_LAPLACE,
            loss=PrivacyLoss(epsilon=0.25),
            sensitivity=2.0,
            label="b",
        )
        want = led.charges_for_run("r2")
    before = path.read_bytes()
    assert read_charges(path, run_id="r2") == want
    assert [c.label for c in read_charges(path)] == ["a", "b"]
    assert read_charges(path, run_id="r2", dataset="other") == []
    assert path.read_bytes() == before  # nothing written
    with pytest.raises(InputError, match="does not exist"):
        read_charges(tmp_path / "missing.sqlite")
    (tmp_path / "junk.sqlite").write_text("not a database")
    with pytest.raises(InputError, match="cannot be read"):
        read_charges(tmp_path / "junk.sqlite")


def test_zcdp_charges_add_rho_and_convert_with_the_delta_left() -> None:
    from privacy_profile.dp.ledger import ZcdpChargeRequest
    from privacy_profile.dp.zcdp import zcdp_epsilon, zcdp_rho

    budget = PrivacyLoss(epsilon=10.0, delta=1e-5)
    led = BudgetLedger.in_memory(dataset="z", budget=budget, window=BudgetWindow.lifetime())
    led.charge(
        run_id="p",
        mechanism=Mechanism.DISCRETE_LAPLACE,
        loss=PrivacyLoss(epsilon=1.0, delta=2e-6),
        sensitivity=1.0,
        label="pure",
    )
    (c,) = led.charge_many(
        run_id="z1",
        requests=[
            ZcdpChargeRequest(mechanism="discrete_gaussian", rho=0.1, sensitivity=1.0, label="g")
        ],
    )
    assert (c.rho, c.epsilon, c.delta) == (pytest.approx(0.1), 0.0, 0.0)
    assert led.spent_rho() == pytest.approx(0.1)
    spent = led.spent()
    assert spent.epsilon == pytest.approx(1.0 + zcdp_epsilon(0.1, 1e-5 - 2e-6), abs=1e-8)
    assert spent.delta == pytest.approx(1e-5)  # all delta goes to the conversion
    # fill up to the budget: the largest rho that still fits is accepted, more is refused
    room = zcdp_rho(9.0, 8e-6) - 0.1
    led.charge_many(
        run_id="z2",
        requests=[
            ZcdpChargeRequest(
                mechanism="discrete_gaussian", rho=room * 0.999, sensitivity=1.0, label="g"
            )
        ],
    )
    with pytest.raises(BudgetExceededError, match="rho"):
        led.charge_many(
            run_id="z3",
            requests=[
                ZcdpChargeRequest(
                    mechanism="discrete_gaussian", rho=room * 0.01, sensitivity=1.0, label="g"
                )
            ],
        )
    # the budget is used up (what is left is below the last, refused, charge)
    assert led.remaining().epsilon <= 0.01
    assert [ch.rho for ch in led.charges_for_run("z1")] == [pytest.approx(0.1)]


def test_ledger_files_from_before_zcdp_are_migrated(tmp_path: Path) -> None:
    import sqlite3

    from privacy_profile.dp import read_charges

    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE budgets (dataset TEXT PRIMARY KEY, window TEXT NOT NULL, "
        "epsilon_units INTEGER NOT NULL, delta_units INTEGER NOT NULL);"
        "CREATE TABLE charges (charge_id INTEGER PRIMARY KEY AUTOINCREMENT, dataset TEXT NOT NULL,"
        " run_id TEXT NOT NULL, mechanism TEXT NOT NULL, label TEXT NOT NULL,"
        " epsilon_units INTEGER NOT NULL, delta_units INTEGER NOT NULL, sensitivity REAL NOT NULL,"
        " charged_at TEXT NOT NULL);"
        "INSERT INTO budgets VALUES ('d', 'lifetime', 2000000000, 0);"
        "INSERT INTO charges (dataset, run_id, mechanism, label, epsilon_units, delta_units,"
        " sensitivity, charged_at) VALUES ('d', 'r', 'discrete_laplace', 'a', 500000000, 0, 1.0,"
        " '2026-01-01T00:00:00+00:00');"
    )
    conn.commit()
    conn.close()
    (old,) = read_charges(path)  # read-only: works on the old layout
    assert (old.epsilon, old.rho) == (0.5, 0.0)
    with BudgetLedger.open(
        path, dataset="d", budget=PrivacyLoss(epsilon=2.0), window=BudgetWindow.lifetime()
    ) as led:
        assert led.spent().epsilon == pytest.approx(0.5)
        led.charge(
            run_id="r2",
            mechanism=Mechanism.DISCRETE_LAPLACE,
            loss=PrivacyLoss(epsilon=0.5),
            sensitivity=1.0,
            label="b",
        )
        assert led.spent().epsilon == pytest.approx(1.0)
    assert [c.label for c in read_charges(path)] == ["a", "b"]
