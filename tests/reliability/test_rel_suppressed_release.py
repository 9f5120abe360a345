"""Issue 14 item 3: a run whose every segment would be suppressed, or whose orders table is empty
or fully quarantined, does not crash after charging: pre-flight refuses it cleanly, charging
nothing (issue 12 round two made pre-flight run before any budget is charged)."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest
from _rel_helpers import SmallShop, copy_inputs, run_once
from typer.testing import CliRunner

from privacy_profile.cli import app
from privacy_profile.errors import PreflightError

runner = CliRunner()


def _charges(ledger: Path) -> int:
    conn = sqlite3.connect(ledger)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM charges").fetchone()[0])
    finally:
        conn.close()


def test_demo_with_50_users_is_refused_by_preflight(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "d"), "--users", "50"])
    assert result.exit_code == 1, result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert "pre-flight failed" in result.stderr and "no budget was spent" in result.stderr
    assert not list((tmp_path / "d").glob("runs/*/marketing/segments.csv"))


def test_header_only_orders_table(small_shop: SmallShop, tmp_path: Path) -> None:
    inputs = copy_inputs(small_shop, tmp_path / "in")
    orders = inputs / "orders.csv"
    orders.write_text(orders.read_text("utf-8").splitlines()[0] + "\n", encoding="utf-8")
    with pytest.raises(PreflightError, match=r"table 'orders' \(orders\.csv\) has no rows"):
        run_once(small_shop, inputs, tmp_path / "out")
    assert _charges(tmp_path / "out" / "ledger.sqlite") == 0
    assert not list((tmp_path / "out").glob("runs/*/marketing/*"))


def test_fully_quarantined_orders_table(small_shop: SmallShop, tmp_path: Path) -> None:
    inputs = copy_inputs(small_shop, tmp_path / "in")
    orders = inputs / "orders.csv"
    with orders.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index("amount")
    for r in rows[1:]:
        r[col] = "not a number"
    with orders.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    with pytest.raises(PreflightError, match="paid_orders"):
        run_once(small_shop, inputs, tmp_path / "out")
    assert _charges(tmp_path / "out" / "ledger.sqlite") == 0
    assert not list((tmp_path / "out").glob("runs/*/marketing/*"))
