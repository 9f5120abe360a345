"""Issue 14 item 3: a run whose every segment is suppressed, or whose orders table is empty or
fully quarantined, ends in a well-formed (empty) release, not a crash after charging."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
from _rel_helpers import SmallShop, copy_inputs, run_once
from typer.testing import CliRunner

from privacy_profile.cli import app

runner = CliRunner()


def _assert_well_formed(out: Path, segments: pd.DataFrame) -> None:
    assert len(segments) > 0
    assert "suppressed" in segments.columns
    payload = json.loads(next(out.glob("runs/*/marketing/segments.json")).read_text("utf-8"))
    assert isinstance(payload, dict | list)


def test_demo_with_50_users_completes_with_every_class_suppressed(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "d"), "--users", "50"])
    assert result.exit_code == 0, result.output + result.stderr
    seg = pd.read_csv(next((tmp_path / "d").glob("runs/*/marketing/segments.csv")))
    rfm = seg.loc[seg["family"] == "rfm"]
    assert len(rfm) == 8 and rfm["suppressed"].all()


def test_header_only_orders_table(small_shop: SmallShop, tmp_path: Path) -> None:
    inputs = copy_inputs(small_shop, tmp_path / "in")
    orders = inputs / "orders.csv"
    orders.write_text(orders.read_text("utf-8").splitlines()[0] + "\n", encoding="utf-8")
    release = run_once(small_shop, inputs, tmp_path / "out")
    assert release.ingest.tables["orders"].input_rows == 0
    assert release.segments.loc[release.segments["family"] == "rfm", "suppressed"].all()
    _assert_well_formed(tmp_path / "out", release.segments)


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
    release = run_once(small_shop, inputs, tmp_path / "out")
    t = release.ingest.tables["orders"]
    assert t.accepted_rows == 0 and t.quarantined_rows == t.input_rows - t.excluded_rows > 0
    _assert_well_formed(tmp_path / "out", release.segments)
