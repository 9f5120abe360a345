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
