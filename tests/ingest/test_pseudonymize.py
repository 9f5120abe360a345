"""Pseudonyms: stable per key and domain, different across domains and keys; normalization;
AES-SIV tokens round trip and fail under the wrong key."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy_profile.errors import KeyMaterialError
from privacy_profile.ingest import KeyMaterial, KeyRing, Pseudonymizer, Tokenizer
from privacy_profile.ingest.normalize import (
    normalize_email,
    normalize_phone,
    normalize_resident_id,
)


def ring(secret: bytes, key_id: str = "k1") -> KeyRing:
    return KeyRing(
        domains={
            "a": KeyMaterial.from_bytes(secret, key_id=key_id, source="test"),
            "b": KeyMaterial.from_bytes(secret, key_id=key_id, source="test"),
        }
    )


values = st.lists(st.text(min_size=1, max_size=20).filter(str.strip), min_size=1, max_size=20)
secrets_ = st.binary(min_size=32, max_size=48)


@settings(max_examples=50, deadline=None)
@given(values, secrets_)
def test_stable_per_key_and_domain(vals: list[str], secret: bytes) -> None:
    s = pd.Series(vals, dtype="string")
    p1 = Pseudonymizer(ring(secret)).pseudonymize(s, domain="a")
    p2 = Pseudonymizer(ring(secret)).pseudonymize(s, domain="a")
    assert p1.tolist() == p2.tolist()
    assert p1.str.len().eq(32).all() and p1.str.fullmatch("[0-9a-f]{32}").all()
    # equal inputs get equal pseudonyms, distinct inputs distinct ones
    assert p1.nunique() == s.str.strip().nunique()


@settings(max_examples=50, deadline=None)
@given(values, secrets_, secrets_)
def test_different_across_domains_keys_and_key_ids(
    vals: list[str], secret: bytes, other: bytes
) -> None:
    s = pd.Series(vals, dtype="string")
    pa_ = set(Pseudonymizer(ring(secret)).pseudonymize(s, domain="a"))
    pb = set(Pseudonymizer(ring(secret)).pseudonymize(s, domain="b"))
    assert not pa_ & pb  # the same key material, two domains: no join possible
    rotated = set(Pseudonymizer(ring(secret, key_id="k2")).pseudonymize(s, domain="a"))
    assert not pa_ & rotated
    if other != secret:
        assert not pa_ & set(Pseudonymizer(ring(other)).pseudonymize(s, domain="a"))


@pytest.mark.parametrize(
    ("fn", "variants"),
    [
        (
            normalize_phone,
            [
                "13812345678",
                "+86 138 1234 5678",
                "0086-138-1234-5678",
                "１３８１２３４５６７８",
                "+86 (138) 1234-5678",
                "86 13812345678",
            ],
        ),
        (normalize_email, ["Li.Wei@Example.COM", "  li.wei@example.com ", "ｌｉ.wei@example.com"]),
        (
            normalize_resident_id,
            ["11010519491231002x", "11010519491231002X", " 110105 19491231002x"],
        ),
    ],
)
def test_normalization_equivalences(fn, variants: list[str]) -> None:
    out = fn(pd.Series(variants, dtype="string"))
    assert out.nunique() == 1, out.tolist()
    p = Pseudonymizer(ring(b"k" * 32)).pseudonymize(
        pd.Series(variants, dtype="string"), domain="a", normalizer=fn
    )
    assert p.nunique() == 1


def test_phone_normalization_keeps_distinct_numbers_apart() -> None:
    out = normalize_phone(pd.Series(["13812345678", "13812345679", "8613812345678"]))
    assert out.tolist() == ["13812345678", "13812345679", "13812345678"]


def test_missing_values_stay_missing_and_dedup_maps_back() -> None:
    s = pd.Series(["x1", None, "x2", "x1", " x1 "], dtype="string")
    p = Pseudonymizer(ring(b"s" * 32)).pseudonymize(s, domain="a")
    assert p.isna().tolist() == [False, True, False, False, False]
    assert p[0] == p[3] == p[4] != p[2]


def test_aes_siv_round_trip_and_wrong_key() -> None:
    cust = KeyMaterial.from_bytes(b"c" * 64, key_id="cust-1", source="test")
    other = KeyMaterial.from_bytes(b"d" * 64, key_id="cust-1", source="test")
    s = pd.Series(["13812345678", "+86 138 1234 5678", None, "13900000000"], dtype="string")
    tok = Tokenizer(cust).tokenize(s, normalizer=normalize_phone)
    assert tok[0] == tok[1] != tok[3]  # deterministic after normalization
    assert "13812345678" not in "".join(tok.dropna())
    back = Tokenizer(cust).detokenize(tok)
    assert back.tolist()[:2] == ["13812345678", "13812345678"]
    assert back.isna().tolist() == [False, False, True, False]
    with pytest.raises(KeyMaterialError, match="does not decrypt"):
        Tokenizer(other).detokenize(tok)
