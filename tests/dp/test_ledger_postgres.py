"""The budget ledger on a real PostgreSQL server: the same ledger logic as on SQLite; 16
processes racing for one budget never overspend it; a process killed inside a charge leaves no
half charge; a password in the URL is refused (it would end up in logs)."""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from privacy_profile.dp import BudgetLedger, BudgetWindow, PrivacyLoss
from privacy_profile.errors import BudgetExceededError, InputError

pytestmark = pytest.mark.slow

PG_BIN = Path("/usr/lib/postgresql/15/bin")
BUDGET = PrivacyLoss(epsilon=1.0, delta=1e-6)


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL 15 cluster on 127.0.0.1 (trust auth, deleted afterwards)."""
    pytest.importorskip("psycopg", reason="psycopg (the spark extra) is not installed")
    if not (PG_BIN / "initdb").is_file():
        pytest.skip(
            f"PostgreSQL server binaries not found in {PG_BIN} (apt-get install postgresql)"
        )
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as postgres")
    root = Path(tempfile.mkdtemp(prefix="pp-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data = root / "data"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(
        _as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
        check=True,
        capture_output=True,
    )
    opts = f"-k {root} -p {port} -c listen_addresses=127.0.0.1 -c max_connections=60"
    start = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log")]
    subprocess.run(
        _as_postgres([*start, "-w", "start"]),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def _open(url: str, dataset: str, **kw: Any) -> BudgetLedger:
    return BudgetLedger.open(
        url, dataset=dataset, budget=BUDGET, window=BudgetWindow.lifetime(), **kw
    )


def test_the_same_ledger_logic_on_postgresql(pg_url: str) -> None:
    with _open(pg_url, "basic") as ledger:
        c = ledger.charge(
            run_id="r1",
            mechanism="laplace",
            loss=PrivacyLoss(epsilon=0.4),
            sensitivity=1.0,
            label="rfm/count",
        )
        assert c.epsilon == pytest.approx(0.4) and c.charge_id > 0
        assert ledger.remaining().epsilon == pytest.approx(0.6)
        with pytest.raises(BudgetExceededError):
            ledger.charge(
                run_id="r2",
                mechanism="laplace",
                loss=PrivacyLoss(epsilon=0.7),
                sensitivity=1.0,
                label="too/much",
            )
        assert [x.label for x in ledger.charges_for_run("r1")] == ["rfm/count"]
        assert ledger.charges_for_run("r2") == []
    with _open(pg_url, "basic") as again:  # durable, shared by every connection
        assert again.spent().epsilon == pytest.approx(0.4)


def _racer(url: str, attempts: int, results: Any) -> None:
    ok = 0
    with _open(url, "race") as ledger:
        for i in range(attempts):
            try:
                ledger.charge(
                    run_id=f"p{os.getpid()}-{i}",
                    mechanism="laplace",
                    loss=PrivacyLoss(epsilon=0.1),
                    sensitivity=1.0,
                    label="race",
                )
                ok += 1
            except BudgetExceededError:
                pass
    results.put(ok)


def test_sixteen_processes_never_overspend(pg_url: str) -> None:
    _open(pg_url, "race").close()  # the budget row exists before the race
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    procs = [ctx.Process(target=_racer, args=(pg_url, 3, results)) for _ in range(16)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    granted = sum(results.get(timeout=10) for _ in procs)
    assert granted == 10  # 48 attempts of 0.1 for a budget of 1.0: exactly ten fit
    with _open(pg_url, "race") as ledger:
        assert ledger.spent().epsilon == pytest.approx(1.0)
        assert ledger.spent().epsilon <= BUDGET.epsilon + 1e-12


def _stuck_in_charge(url: str, inside: Any) -> None:
    def clock() -> Any:  # called inside the charge transaction, after the row lock
        inside.set()
        time.sleep(600)
        raise AssertionError("not killed")

    with _open(url, "killed", clock=clock) as ledger:
        ledger.charge(
            run_id="victim",
            mechanism="laplace",
            loss=PrivacyLoss(epsilon=0.5),
            sensitivity=1.0,
            label="half",
        )


def test_a_killed_process_leaves_no_half_charge(pg_url: str) -> None:
    _open(pg_url, "killed").close()
    ctx = mp.get_context("fork")
    inside = ctx.Event()
    p = ctx.Process(target=_stuck_in_charge, args=(pg_url, inside))
    p.start()
    assert inside.wait(60), "the child never reached the charge"
    os.kill(p.pid, signal.SIGKILL)
    p.join(30)
    assert p.exitcode == -signal.SIGKILL
    with _open(pg_url, "killed") as ledger:
        assert ledger.charges_for_run("victim") == []
        # the row lock died with the process: the next charge goes through
        ledger.charge(
            run_id="after",
            mechanism="laplace",
            loss=PrivacyLoss(epsilon=1.0),
            sensitivity=1.0,
            label="all",
        )
        assert ledger.spent().epsilon == pytest.approx(1.0)


def test_a_password_in_the_url_is_refused_and_not_echoed() -> None:
    pytest.importorskip("psycopg", reason="psycopg (the spark extra) is not installed")
    with pytest.raises(InputError) as e:
        _open("postgresql://alice:s3cr3t-pw@127.0.0.1:1/db", "x")
    assert "s3cr3t-pw" not in str(e.value) and "PGPASSWORD" in str(e.value.hint)
