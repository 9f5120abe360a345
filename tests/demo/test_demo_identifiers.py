"""Every generated identifier is synthetic but well-formed: real prefixes, valid check digits.

The checks here are written independently of the generator (scalar reference code), so a bug
in the generator's vectorized check-digit code cannot hide behind the same bug in the test.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest

from privacy_profile.demo import DemoDataset

DATA = Path(__file__).resolve().parents[2] / "privacy_profile" / "demo" / "data"
# 13x, 15x (not 154), 17x (not 174, 179), 18x, 19x (not 194): allocated mobile blocks
MOBILE_PREFIXES = (
    {f"13{i}" for i in range(10)}
    | {f"15{i}" for i in "012356789"}
    | {f"17{i}" for i in "01235678"}
    | {f"18{i}" for i in range(10)}
    | {f"19{i}" for i in "012356789"}
)
_FW = str.maketrans("０１２３４５６７８９", "0123456789")
_ID_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def gb11643_ok(rid: str) -> bool:
    if not re.fullmatch(r"\d{17}[\dXx]", rid):
        return False
    total = sum(int(c) * w for c, w in zip(rid[:17], _ID_W, strict=True))
    return "10X98765432"[total % 11] == rid[17].upper()


def luhn_ok(number: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(number)):
        d = int(c)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def mobile_digits(text: str) -> str:
    digits = re.sub(r"\D", "", text.translate(_FW))
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


def shipped(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


AREA_CODES = {r["area_code"] for r in shipped("cn_divisions_subset.csv")}
BINS = {r["bin"]: int(r["length"]) for r in shipped("cn_bankcard_bin_subset.csv")}


# ----------------------------------------------------------------- the reference checks can fail


def test_reference_checks_reject_tampered_values() -> None:
    assert gb11643_ok("11010519491231002X")  # the standard's own example
    assert gb11643_ok("11010519491231002x")
    assert not gb11643_ok("110105194912310021")
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    assert mobile_digits("+86 138 1234 5678") == "13812345678"
    assert mobile_digits("１３８１２３４５６７８") == "13812345678"


# ----------------------------------------------------------------- users' identifier columns


def test_openids_and_unionids_have_wechat_shape(tables: dict[str, pd.DataFrame]) -> None:
    users = tables["users"]
    openids = users.openid[users.openid != ""]
    assert openids.str.fullmatch(r"o[A-Za-z0-9_\-]{27}").all()
    assert openids.is_unique
    # openids of one mini-program share a prefix
    assert openids.str.slice(0, 6).nunique() == 1
    unionids = users.unionid[users.unionid != ""]
    assert len(unionids) > 0.4 * len(users)
    assert unionids.str.fullmatch(r"o6_bm[A-Za-z0-9_\-]{23}").all()


def test_every_phone_has_a_real_mobile_prefix_in_mixed_spellings(
    tables: dict[str, pd.DataFrame],
) -> None:
    phones = tables["users"].phone
    phones = phones[phones != ""]
    digits = phones.map(mobile_digits)
    assert (digits.str.len() == 11).all()
    assert digits.str.slice(0, 3).isin(MOBILE_PREFIXES).all()
    assert phones.str.fullmatch(r"\d{11}").any()
    assert phones.str.fullmatch(r"\+86 \d{3} \d{4} \d{4}").any()
    assert phones.str.fullmatch(r"\d{3}-\d{4}-\d{4}").any()
    assert phones.str.fullmatch(r"[０-９]{11}").any()


def test_every_resident_id_is_valid_with_a_real_area_code(
    tables: dict[str, pd.DataFrame],
) -> None:
    users = tables["users"]
    ids = users[users.resident_id != ""]
    assert len(ids) > 0.25 * len(users)
    assert ids.resident_id.map(gb11643_ok).all()
    assert ids.resident_id.str.slice(0, 6).isin(AREA_CODES).all()
    # the ID's birth date is the user's, and its sequence parity the user's gender
    known = ids[ids.birthdate != ""]
    assert (known.resident_id.str.slice(6, 14) == known.birthdate.str.replace("-", "")).all()
    parity = ids.resident_id.str.slice(16, 17).astype(int) % 2
    assert (parity[ids.gender == "male"] == 1).all()
    assert (parity[ids.gender == "female"] == 0).all()
    # users type a lower-case x now and then
    assert ids.resident_id.str.endswith("x").any()


def test_users_demographics(tables: dict[str, pd.DataFrame], demo: DemoDataset) -> None:
    users = tables["users"]
    assert set(users.gender) == {"male", "female", "unknown"}
    birth = pd.to_datetime(users.birthdate[users.birthdate != ""], format="%Y-%m-%d")
    ages = (pd.Timestamp("2026-11-30") - birth).dt.days / 365.2425
    assert ages.min() >= 8 and ages.max() < 76
    assert (ages < 14).any() and ((ages >= 14) & (ages < 18)).any()
    assert (users.birthdate == "").any()  # unknown ages
    divisions = pd.DataFrame(shipped("cn_divisions_subset.csv"))
    cities = users.city[users.city != ""]
    assert cities.isin(set(divisions.city)).all()
    top = cities.value_counts(normalize=True)
    tier1 = top[["北京市", "上海市", "广州市", "深圳市"]].sum()
    assert 0.15 < tier1 < 0.5
    assert users.nickname.str.fullmatch(r"[\u4e00-\u9fff]{2,4}|").all()


# ----------------------------------------------------------------- PII planted in free text


def test_bank_cards_in_comments_pass_luhn_and_start_with_a_real_bin(
    tables: dict[str, pd.DataFrame], demo: DemoDataset
) -> None:
    found = set(tables["orders"].comment.str.findall(r"(?<!\d)\d{16,19}(?!\d)").explode().dropna())
    cards = demo.planted.free_text["BANK_CARD"]
    assert cards and cards <= found
    for card in cards:
        assert luhn_ok(card), card
        assert any(card.startswith(b) and len(card) == n for b, n in BINS.items()), card


def test_planted_free_text_values_are_in_the_files(
    tables: dict[str, pd.DataFrame], demo: DemoDataset
) -> None:
    keywords = "\n".join(tables["events"].search_keyword)
    comments = "\n".join(tables["orders"].comment)
    free = demo.planted.free_text
    assert set(free) == {
        "BANK_CARD",
        "CN_ADDRESS",
        "CN_MOBILE",
        "CN_PERSON",
        "CN_RESIDENT_ID",
        "EMAIL_ADDRESS",
    }
    for kind, values in free.items():
        assert values, kind
        for v in values:
            assert v in keywords or v in comments, (kind, v)
    for rid in free["CN_RESIDENT_ID"]:
        assert gb11643_ok(rid) and rid[:6] in AREA_CODES
    for phone in free["CN_MOBILE"]:
        assert mobile_digits(phone)[:3] in MOBILE_PREFIXES
    for mail in free["EMAIL_ADDRESS"]:
        assert re.fullmatch(r"[a-z0-9]+@[a-z0-9.]+\.com", mail)
    assert any(v.startswith("我叫") for v in tables["events"].search_keyword)
    # most free text carries no PII at all
    rows = demo.planted.free_text_rows
    assert rows["events.search_keyword"] < 0.01 * (tables["events"].search_keyword != "").sum()
    assert rows["orders.comment"] < 0.05 * len(tables["orders"])


def test_planted_column_values_are_the_written_ones(
    tables: dict[str, pd.DataFrame], demo: DemoDataset
) -> None:
    users, orders = tables["users"], tables["orders"]
    cols = demo.planted.columns
    for column in ("unionid", "phone", "resident_id", "nickname"):
        assert cols[f"users.{column}"] == set(users[column][users[column] != ""])
    # includes the openids of the users row whose openid was blanked (messy)
    assert cols["users.openid"] >= set(users.openid[users.openid != ""])
    assert len(cols["users.openid"]) == len(users)
    addresses = orders.delivery_address[orders.delivery_address != ""]
    assert cols["orders.delivery_address"] == set(addresses)
    assert addresses.str.contains(r"(?:路|街|大道)\d+号").all()
    values = demo.planted.all_values()
    assert cols["users.phone"] <= values and demo.planted.free_text["BANK_CARD"] <= values


# ----------------------------------------------------------------- the shipped subsets are real


def test_shipped_area_codes_are_real(shared_data: Path) -> None:
    with (shared_data / "cn_admin_divisions" / "areas.csv").open(encoding="utf-8") as fh:
        real = {r["code"]: r["name"] for r in csv.DictReader(fh)}
    for row in shipped("cn_divisions_subset.csv"):
        assert real.get(row["area_code"]) == row["district"], row


def test_shipped_bins_are_real(shared_data: Path) -> None:
    with (shared_data / "cn_bankcard_bin" / "bin.csv").open(encoding="utf-8") as fh:
        real = {r["bin"]: (r["bank"], int(r["length"])) for r in csv.DictReader(fh)}
    for row in shipped("cn_bankcard_bin_subset.csv"):
        assert real.get(row["bin"]) == (row["bank"], int(row["length"])), row


@pytest.mark.parametrize("name", ["LICENSE.cn_admin_divisions.txt", "LICENSE.cn_bankcard_bin.txt"])
def test_licences_ship_beside_the_data(name: str) -> None:
    text = (DATA / name).read_text(encoding="utf-8")
    assert "github.com" in text and ("WTFPL" in text or "MIT License" in text)
