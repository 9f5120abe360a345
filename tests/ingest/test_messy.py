"""A messy file with every kind of bad row reconciles exactly; formats and encodings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _ingest_helpers import NOW, PURPOSE, Shop, make_policy, write_shop

from privacy_profile.errors import InputError
from privacy_profile.ingest import KeyRing, sanitize, write_sanitized
from privacy_profile.policy.model import Policy


def _make_messy_events(shop: Shop) -> dict[str, int]:
    ok = shop.users["ok"]
    good = f"{ok},view,item1,shoes,2026-11-20T10:00:00,red shoes,x"
    lines = [
        "openid,event_type,item_id,category,ts,search_keyword,extra_col",
        good,  # 1 accepted
        f"{ok},view,item1,shoes,not-a-time,kw,x",  # 2 bad_timestamp
        ",view,item1,shoes,2026-11-20T10:00:00,kw,x",  # 3 missing_value (openid)
        f"{ok},view,item1",  # 4 malformed (too few fields)
        f'{ok},view,item1,shoes,2026-11-20T10:00:00,"a, b",x,extra',  # 5 malformed (too many)
        f"{ok},,item1,shoes,2026-11-20T10:00:00,kw,x",  # 6 missing_value (event_type)
        f"{shop.users['withdrawn']},view,i,c,2026-11-20T10:00:00,kw,x",  # 7 consent_withdrawn
        f"{shop.users['no_consent']},view,i,c,2026-11-20T10:00:00,kw,x",  # 8 no consent
        f"{ok},view,i,c,2020-01-01T00:00:00,kw,x",  # 9 retention_expired
        good,  # 10 accepted
    ]
    (shop.dir / "events.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"input": 10, "accepted": 2}


def test_messy_file_reconciles_exactly(shop: Shop, policy: Policy, keys: KeyRing) -> None:
    exp = _make_messy_events(shop)
    res = sanitize(shop.dir, policy, PURPOSE, keys, now=NOW)
    ev = res.report.tables["events"]
    assert ev.input_rows == exp["input"]
    assert ev.accepted_rows == exp["accepted"] == len(res.tables["events"])
    assert ev.quarantined == {"bad_timestamp": 1, "malformed_record": 2, "missing_value": 2}
    assert ev.excluded == {
        "consent_withdrawn": 1,
        "no_consent_for_purpose": 1,
        "retention_expired": 1,
    }
    assert ev.reconciles()
    assert ev.undeclared_columns_dropped == ("extra_col",)
    q = res.quarantine["events"].set_index("_row")
    assert q.loc[2, "_reason"] == "bad_timestamp" and q.loc[2, "_column"] == "ts"
    assert q.loc[3, "_reason"] == "missing_value" and q.loc[3, "_column"] == "openid"
    assert q.loc[6, "_column"] == "event_type"
    assert set(q.index[q["_reason"] == "malformed_record"]) == {4, 5}
    # the quarantine never carries the raw identifier or free text
    assert shop.users["ok"] not in set(q["openid"].dropna())
    assert q["search_keyword"].isna().all()


def test_small_blocks_keep_record_numbers_right(shop: Shop, policy: Policy, keys: KeyRing) -> None:
    _make_messy_events(shop)
    res = sanitize(shop.dir, policy, PURPOSE, keys, now=NOW, block_bytes=512)
    q = res.quarantine["events"].set_index("_row")
    assert set(q.index) == {2, 3, 4, 5, 6}
    assert res.report.reconciles()


def test_undeclared_column_refused_when_policy_says(shop: Shop, keys: KeyRing) -> None:
    _make_messy_events(shop)

    def refuse(d: dict) -> None:
        d["tables"]["events"]["undeclared_columns"] = "refuse"

    with pytest.raises(InputError, match="extra_col") as e:
        sanitize(shop.dir, make_policy(refuse), PURPOSE, keys, now=NOW)
    assert "events.csv" in str(e.value)


def test_missing_declared_column_names_file_and_column(
    shop: Shop, policy: Policy, keys: KeyRing
) -> None:
    df = pd.read_csv(shop.dir / "orders.csv", dtype=str).drop(columns=["amount"])
    df.to_csv(shop.dir / "orders.csv", index=False)
    with pytest.raises(InputError, match=r"orders\.csv.*amount"):
        sanitize(shop.dir, policy, PURPOSE, keys, now=NOW)


def test_wrong_types_quarantined(shop: Shop, policy: Policy, keys: KeyRing) -> None:
    df = pd.read_csv(shop.dir / "orders.csv", dtype=str)
    df.loc[0, "amount"] = "12,5元"
    df.loc[1, "coupon_used"] = "maybe"
    df.to_csv(shop.dir / "orders.csv", index=False)
    res = sanitize(shop.dir, policy, PURPOSE, keys, now=NOW)
    assert res.report.tables["orders"].quarantined == {"bad_boolean": 1, "bad_float": 1}
    assert res.report.tables["orders"].reconciles()


def test_gbk_needs_a_declared_encoding(tmp_path: Path, keys: KeyRing) -> None:
    shop = write_shop(tmp_path / "in")
    text = (shop.dir / "users.csv").read_text(encoding="utf-8")
    (shop.dir / "users.csv").write_bytes(text.encode("gbk"))
    with pytest.raises(InputError, match="not valid utf-8") as e:
        sanitize(shop.dir, make_policy(), PURPOSE, keys, now=NOW)
    assert "encoding: gbk" in str(e.value)

    def gbk(d: dict) -> None:
        d["tables"]["users"]["encoding"] = "gbk"

    res = sanitize(shop.dir, make_policy(gbk), PURPOSE, keys, now=NOW)
    assert set(res.tables["users"]["city"]) == {"浙江省"}


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_parquet_and_jsonl_readers_give_the_same_result(
    tmp_path: Path, keys: KeyRing, fmt: str
) -> None:
    shop = write_shop(tmp_path / "in")
    base = sanitize(shop.dir, make_policy(), PURPOSE, keys, now=NOW)
    ev = pd.read_csv(shop.dir / "events.csv", dtype=str)
    if fmt == "parquet":
        ev.to_parquet(shop.dir / "events.parquet")
    else:
        text = ev.to_json(orient="records", lines=True, force_ascii=False)
        (shop.dir / "events.jsonl").write_text(text + "{broken\n", encoding="utf-8")

    def fmt_(d: dict) -> None:
        d["tables"]["events"]["format"] = fmt

    res = sanitize(shop.dir, make_policy(fmt_), PURPOSE, keys, now=NOW)
    pd.testing.assert_frame_equal(res.tables["events"], base.tables["events"])
    if fmt == "jsonl":
        assert res.report.tables["events"].quarantined == {"malformed_record": 1}
    assert res.report.reconciles()


def test_write_is_atomic_and_complete(shop: Shop, policy: Policy, keys: KeyRing, tmp_path) -> None:
    res = sanitize(shop.dir, policy, PURPOSE, keys, now=NOW)
    out = tmp_path / "out"
    paths = write_sanitized(res, out)
    assert all(p.exists() for p in paths)
    assert {p.name for p in out.iterdir()} >= {"users.parquet", "ingest_report.json"}
    back = pd.read_parquet(out / "users.parquet")
    assert len(back) == len(res.tables["users"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
