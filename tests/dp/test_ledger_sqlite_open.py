"""Opening the SQLite ledger while other processes create or switch the same file.

CI once saw ``PRAGMA journal_mode=WAL`` answer ``database is locked`` in one of six
processes opening a fresh ledger together; SQLite can return that without waiting on its
busy handler, so the switch is retried with a pause until the timeout.
"""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from privacy_profile.dp._sqlite import connect_shared
from privacy_profile.errors import InputError


class _FlakyConnection:
    """A real connection whose WAL switch reports ``locked`` the first ``failures`` times."""

    def __init__(self, real: sqlite3.Connection, failures: int) -> None:
        self._real = real
        self.failures = failures
        self.attempts = 0

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if "journal_mode" in sql:
            self.attempts += 1
            if self.attempts <= self.failures:
                raise sqlite3.OperationalError("database is locked")
        return self._real.execute(sql, *args)

    def close(self) -> None:
        self._real.close()


def _factory(failures: int) -> tuple[list[_FlakyConnection], Any]:
    made: list[_FlakyConnection] = []

    def connect(path: str, **kwargs: Any) -> _FlakyConnection:
        conn = _FlakyConnection(sqlite3.connect(path, **kwargs), failures)
        made.append(conn)
        return conn

    return made, connect


def test_a_locked_wal_switch_is_retried_until_it_succeeds(tmp_path: Path) -> None:
    made, connect = _factory(failures=3)
    pauses: list[float] = []
    conn = connect_shared(tmp_path / "l.sqlite", sleep=pauses.append, connect=connect)
    assert made[0].attempts == 4
    assert pauses == [0.01, 0.02, 0.04]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_lock_that_outlasts_the_timeout_is_a_clear_error(tmp_path: Path) -> None:
    made, connect = _factory(failures=10**6)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(InputError) as caught:
        connect_shared(
            tmp_path / "l.sqlite",
            timeout_s=2.0,
            sleep=sleep,
            monotonic=lambda: now[0],
            connect=connect,
        )
    assert "stayed locked for 2 s" in str(caught.value)
    assert caught.value.hint and "another run" in caught.value.hint
    assert 2.0 <= now[0] < 2.6  # the pauses stop once the deadline has passed
    assert made[0].attempts > 5  # it kept trying until then


def test_other_sqlite_errors_are_not_retried(tmp_path: Path) -> None:
    folder = tmp_path / "missing" / "l.sqlite"
    with pytest.raises(sqlite3.OperationalError):
        connect_shared(folder)


def _open_at_once(path: str, barrier: Any, results: Any) -> None:
    barrier.wait()
    try:
        conn = connect_shared(path)
        conn.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        conn.execute("INSERT INTO t VALUES (1)")
        conn.close()
        results.put("ok")
    except Exception as error:  # reported to the parent, which fails the test
        results.put(f"{type(error).__name__}: {error}")


@pytest.mark.slow
def test_processes_opening_a_fresh_ledger_together_all_succeed(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    n = 8
    barrier = ctx.Barrier(n)
    results = ctx.Queue()
    for round_ in range(2):
        path = str(tmp_path / f"l{round_}.sqlite")
        procs = [ctx.Process(target=_open_at_once, args=(path, barrier, results)) for _ in range(n)]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=120) for _ in range(n)]
        for p in procs:
            p.join(timeout=30)
        assert outcomes == ["ok"] * n
        conn = sqlite3.connect(path)
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == n
        conn.close()
