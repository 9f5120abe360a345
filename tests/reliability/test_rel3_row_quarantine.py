"""One kept cell equal to another user's phone quarantines its row through the engine, not the
whole run (issue 14, item 9). Before: the run was refused with LeakDetectedError."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _rel_helpers import SmallShop, copy_inputs, run_once

from privacy_profile.ingest.row_checks import KEPT_IDENTIFIER
from privacy_profile.lineage.audit import verify_run

pytestmark = pytest.mark.slow  # one engine run on 1,000 generated users


def test_a_kept_cell_holding_another_users_phone_quarantines_one_row(
    small_shop: SmallShop, tmp_path: Path
) -> None:
    inputs = copy_inputs(small_shop, tmp_path / "in")
    users = pd.read_csv(inputs / "users.csv", dtype=str, keep_default_na=False)
    phone = next(p for p in users["phone"] if len(p.replace("-", "")) == 11)
    orders = pd.read_csv(inputs / "orders.csv", dtype=str, keep_default_na=False)
    orders.loc[0, "order_id"] = phone  # another user's phone in a kept id column
    orders.to_csv(inputs / "orders.csv", index=False)
    release = run_once(small_shop, inputs, tmp_path / "out")
    rep = release.ingest.tables["orders"]
    assert rep.quarantined.get(KEPT_IDENTIFIER) == 1 and rep.reconciles()
    evidence = next(p for p in release.quarantine_files if p.name == "orders.csv")
    q = pd.read_csv(evidence, dtype=str, keep_default_na=False)
    row = q[q["_reason"] == KEPT_IDENTIFIER]
    assert row["_row"].tolist() == ["1"] and row["_column"].tolist() == ["order_id"]
    assert row["order_id"].iloc[0].startswith("hmac:")
    digits = phone.replace("-", "")
    for p in release.run_dir.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            assert phone.encode() not in data and digits.encode() not in data, p
    report = verify_run(release.run_dir, ledger_path=tmp_path / "out" / "ledger.sqlite")
    assert report.event_types == ("START", "COMPLETE")
