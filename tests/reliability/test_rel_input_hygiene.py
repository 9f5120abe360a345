"""Issue 14 items 8 and 9 (ingestion): non-finite numbers and future dates quarantined, raw
values never in quarantine in clear, undeclared column names digested in the ingest report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
from _rel_helpers import NOW, PURPOSE, SmallShop, copy_inputs

from privacy_profile.ingest import KeyRing, sanitize, write_sanitized

PHONE = "138-0013-8000"
EMAIL = "li.lei@example.com"
HEADER_PHONE = "13912345678"


def _rewrite_orders(inputs: Path) -> dict[str, int]:
    """Plant bad values in known rows; return reason -> record number."""
    path = inputs / "orders.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    head = rows[0]
    a, t = head.index("amount"), head.index("ordered_at")
    rows[1][a] = "inf"
    rows[2][a] = "-Infinity"
    rows[3][t] = "2031-05-01T10:00:00"
    rows[4][a] = PHONE
    rows[5][t] = EMAIL
    rows[0].append(HEADER_PHONE)  # an undeclared column whose name is a phone number
    for r in rows[1:]:
        r.append("x")
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return {"inf": 1, "-inf": 2, "future": 3, "phone": 4, "email": 5}


def test_hygiene(small_shop: SmallShop, tmp_path: Path) -> None:
    inputs = copy_inputs(small_shop, tmp_path / "in")
    planted = _rewrite_orders(inputs)
    keys = KeyRing.development(small_shop.loaded.policy, seed=b"hygiene")
    res = sanitize(inputs, small_shop.loaded.policy, PURPOSE, keys, now=NOW)
    q = res.quarantine["orders"].set_index("_row")
    assert q.loc[planted["inf"], "_reason"] == "bad_float"
    assert q.loc[planted["-inf"], "_reason"] == "bad_float"
    assert q.loc[planted["future"], "_reason"] == "future_timestamp"
    assert q.loc[planted["phone"], "_reason"] == "bad_float"
    assert q.loc[planted["email"], "_reason"] == "bad_timestamp"
    assert res.report.tables["orders"].reconciles()
    assert res.report.tables["orders"].quarantined["future_timestamp"] >= 1

    out = tmp_path / "san"
    write_sanitized(res, out)
    quarantine = pd.read_parquet(out / "quarantine" / "orders.parquet")
    text = quarantine.to_csv()
    for raw in (PHONE, EMAIL, "inf", "2031-05-01"):
        assert raw not in text, raw
    assert str(quarantine.loc[quarantine["_row"] == planted["phone"], "amount"].iloc[0]).startswith(
        "hmac:"
    )
    report = (out / "ingest_report.json").read_text(encoding="utf-8")
    assert HEADER_PHONE not in report
    dropped = json.loads(report)["tables"]["orders"]["undeclared_columns_dropped"]
    assert len(dropped) == 1 and dropped[0].startswith("sha256:")


def _duplicate_a_user(inputs: Path) -> tuple[str, int, int]:
    path = inputs / "users.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    head = rows[0]
    copy = list(rows[3])
    copy[head.index("birthdate")] = "2015-01-01"  # the duplicate would make them a minor
    rows.append(copy)
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return rows[3][head.index("openid")], 3, len(rows) - 1


def test_duplicate_subject_ids_are_quarantined_and_counted(
    small_shop: SmallShop, tmp_path: Path
) -> None:
    inputs = copy_inputs(small_shop, tmp_path / "in")
    _, first, second = _duplicate_a_user(inputs)
    keys = KeyRing.development(small_shop.loaded.policy, seed=b"dup")
    res = sanitize(inputs, small_shop.loaded.policy, PURPOSE, keys, now=NOW)
    t = res.report.tables["users"]
    assert t.quarantined["duplicate_subject"] == 2  # quarantine_all, the default rule
    assert t.reconciles()
    q = res.quarantine["users"]
    assert sorted(q.loc[q["_reason"] == "duplicate_subject", "_row"]) == [first, second]


def test_duplicate_subject_ids_keep_first(small_shop: SmallShop, tmp_path: Path) -> None:
    from privacy_profile.policy.model import DuplicateSubjects

    inputs = copy_inputs(small_shop, tmp_path / "in")
    _, _, second = _duplicate_a_user(inputs)
    pol = small_shop.loaded.policy
    pol = pol.model_copy(
        update={
            "subjects": pol.subjects.model_copy(
                update={"duplicate_ids": DuplicateSubjects.KEEP_FIRST}
            )
        }
    )
    res = sanitize(inputs, pol, PURPOSE, KeyRing.development(pol, seed=b"dup"), now=NOW)
    q = res.quarantine["users"]
    assert q.loc[q["_reason"] == "duplicate_subject", "_row"].tolist() == [second]
