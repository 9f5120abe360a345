"""Replacement operators: presidio-anonymizer's replace/mask/encrypt and our keyed HMAC hash."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest

from privacy_profile.errors import ScanError
from privacy_profile.pii import PiiScanner, ScanConfig
from privacy_profile.pii.operators import (
    HmacHash,
    decrypt_value,
    derive_key,
    mask_value,
    replacer,
)

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))
TEXTS = pd.Series(["电话13812345678，谢谢", "邮箱zhang@qq.com", "尽快发货"])


@pytest.fixture(scope="module")
def scanner() -> PiiScanner:
    return PiiScanner(ScanConfig(entities=("CN_MOBILE", "EMAIL_ADDRESS")))


@pytest.mark.parametrize(
    ("value", "masked"),
    [("13812345678", "138****5678"), ("138 1234 5678", "138******5678"), ("王小明", "王**"),
     ("12345678", "12****78"), ("ab", "**")],
)  # fmt: skip
def test_mask(value: str, masked: str) -> None:
    assert mask_value(value) == masked


def test_entity_tag_and_mask_through_the_scanner(scanner: PiiScanner) -> None:
    tag = scanner.redact_series(TEXTS, replace=replacer("entity_tag")).series.tolist()
    assert tag == ["电话<CN_MOBILE>，谢谢", "邮箱<EMAIL_ADDRESS>", "尽快发货"]
    mask = scanner.redact_series(TEXTS, replace=replacer("mask")).series.tolist()
    assert mask[0] == "电话138****5678，谢谢"


def test_hash_is_hmac_under_a_derived_domain_key(scanner: PiiScanner) -> None:
    out = scanner.redact_series(TEXTS, replace=replacer("hash", hash_secret=KEY_A)).series
    key = derive_key(KEY_A, b"privacy_profile/pii-hash/v1")
    expected = hmac.new(key, b"13812345678", hashlib.sha256).hexdigest()[:16]
    assert out[0] == f"电话<CN_MOBILE:{expected}>，谢谢"
    plain = hashlib.sha256(b"13812345678").hexdigest()[:16]
    assert plain not in out[0]  # never an unkeyed hash anyone can recompute
    other = scanner.redact_series(TEXTS, replace=replacer("hash", hash_secret=KEY_B)).series
    assert other[0] != out[0]  # the key matters
    again = scanner.redact_series(TEXTS, replace=replacer("hash", hash_secret=KEY_A)).series
    assert again.tolist() == out.tolist()  # deterministic within a domain: joins still work


def test_encrypt_round_trips_with_the_custodian_key(scanner: PiiScanner) -> None:
    out = scanner.redact_series(TEXTS, replace=replacer("encrypt", encrypt_secret=KEY_A)).series
    token = out[0].split(":enc:")[1].split(">")[0]
    assert "13812345678" not in out[0]
    assert decrypt_value(token, KEY_A) == "13812345678"
    try:  # a wrong key fails (bad padding) or yields something else
        wrong: str | None = decrypt_value(token, KEY_B)
    except Exception:
        wrong = None
    assert wrong != "13812345678"


@pytest.mark.parametrize(("op", "kw"), [("hash", {}), ("encrypt", {})])
def test_keyed_operators_refuse_without_a_key(op: str, kw: dict[str, bytes]) -> None:
    with pytest.raises(ScanError, match="key"):
        replacer(op, **kw)


def test_short_keys_are_refused() -> None:
    with pytest.raises(ScanError):
        derive_key(b"short", b"label")
    with pytest.raises(ScanError):
        HmacHash().validate({"key": b"short"})
