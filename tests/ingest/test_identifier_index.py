"""The identifier index: keyed 64-bit digests per category, the same answers as a per-text
Python reference, normalised forms found inside texts."""

from __future__ import annotations

import hashlib
import pickle
import random
import re
import secrets
import unicodedata

import numpy as np
import pandas as pd
import pytest

from privacy_profile.ingest import IdentifierIndex
from privacy_profile.ingest.identifiers import identifier_label

OPENID = "oAbCdEfGhIjKlMnOpQrStUvWxYz01"
PHONE = "user.contact.phone_number"
OPENID_CAT = "user.unique_id.wechat_openid"


def _index() -> IdentifierIndex:
    ix = IdentifierIndex()
    ix.add(pd.Series([OPENID, "12345", None], dtype="string"), OPENID_CAT)
    ix.add(pd.Series(["+86 138-1234-5678", "0086 13700001111"], dtype="string"), PHONE)
    ix.add(pd.Series(["Foo.Bar@Example.com"], dtype="string"), "user.contact.email")
    ix.add(pd.Series(["龙猫小栗子", "王五", "Li"], dtype="string"), "user.name")
    return ix


def _hit(ix: IdentifierIndex, text: str) -> list[str]:
    return sorted(label for label, mask in ix.find([text]).items() if mask[0])


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        (OPENID, ["openid"]),
        (f"  {OPENID}\t", ["openid"]),
        (OPENID.upper(), ["openid"]),
        (f"note for {OPENID}，谢谢", ["openid"]),
        (f"https://shop.example/u?openid={OPENID}&utm=x", ["openid"]),
        (f'{{"user": "{OPENID}"}}', ["openid"]),
        ("call 138-1234-5678 now", ["phone"]),
        ("(138)12345678", ["phone"]),
        ("+86 13812345678", ["phone"]),
        ("0086-137-0000-1111", ["phone"]),
        ("１３８１２３４５６７８", ["phone"]),
        ("mail FOO.BAR@example.COM.", ["email"]),
        ("VIP 龙猫小栗子的订单", ["name"]),
        ("王五来过", ["name"]),
        (OPENID + "x", []),  # glued to ASCII letters: not a boundary
        ("12345", []),  # numeric ids shorter than 7 digits are not indexed
        ("Li Na", []),  # non-CJK names shorter than 4 characters are not indexed
        ("1381234567", []),
        ("tel13812345678", []),  # glued to ASCII letters
        ("a3f13812345678e9", []),  # inside a hex pseudonym
        ("2026013812345678", []),  # inside a longer number
        ("电话13812345678", ["phone"]),
        ("重要价值客户 / important value", []),
        ("", []),
    ],
)
def test_normalised_forms_are_found_inside_texts(text: str, labels: list[str]) -> None:
    assert _hit(_index(), text) == labels


def test_labels_of_policy_categories() -> None:
    assert identifier_label("user.contact.phone_number") == "phone"
    assert identifier_label("user.unique_id.wechat_openid") == "openid"
    assert identifier_label("user.government_id.resident_id") == "government_id"
    assert identifier_label("user.name") == "name"
    assert identifier_label("user.account") == "id"


class _Reference:
    """Per-text Python oracle: keyed BLAKE2b in a set, every window checked one by one."""

    def __init__(self) -> None:
        self.key = secrets.token_bytes(32)
        self.digests: dict[str, set[bytes]] = {}

    def _d(self, s: str) -> bytes:
        return hashlib.blake2b(s.encode(), key=self.key, digest_size=16).digest()

    def add(self, values: list[str], label: str) -> None:
        for v in values:
            s = unicodedata.normalize("NFKC", v)
            if label == "phone":
                s = re.sub(r"^(?:0086|86)(?=1\d{10}$)", "", re.sub(r"\D", "", s))
                ok = len(s) >= 7
            else:
                s = s.strip().casefold()
                ok = len(s) >= 7 if s.isdigit() else len(s) >= 4
            if ok:
                self.digests.setdefault(label, set()).add(self._d(s))

    def find(self, text: str) -> list[str]:
        out = []
        nfkc = unicodedata.normalize("NFKC", text)
        for label, digests in sorted(self.digests.items()):
            if label == "phone":
                joined = nfkc
                for _ in range(2):
                    joined = re.sub(r"([0-9])[\s\-().+]+([0-9])", r"\1\2", joined)
                tokens = [t for t in re.split(r"[^0-9A-Za-z]+", joined) if t.isdigit()]
                subs = {re.sub(r"^(?:0086|86)(?=1\d{10}$)", "", t) for t in tokens}
            else:
                s = nfkc.casefold()
                bounds = {0, len(s)} | {
                    i
                    for i in range(1, len(s))
                    if not (s[i - 1].isascii() and s[i].isascii())
                    or (s[i - 1].isalnum() != s[i].isalnum())
                }
                subs = {s[i:j] for i in bounds for j in bounds if j > i}
            if any(self._d(x) in digests for x in subs):
                out.append(label)
        return out


def test_same_answers_as_the_per_text_reference_on_random_texts() -> None:
    rng = random.Random(11)
    alphabet = "aB3_-.@+ \t，。、\u3000\u2003/|:;=?&x9中文é"
    ids = [
        "".join(rng.choice("abcdefXYZ0123456789") for _ in range(rng.randint(2, 12)))
        for _ in range(300)
    ]
    ids += ["123456", "1234567", "  padded-id  ", "ＡＢＣＤ", "id:with:colons"]
    phones = [f"1{rng.randrange(10**9, 10**10)}" for _ in range(50)]
    shown = [f"+86 {p[:3]}-{p[3:7]}-{p[7:]}" for p in phones[:25]] + phones[25:]
    ix, ref = IdentifierIndex(), _Reference()
    ix.add(pd.Series([*ids, None], dtype="string"), OPENID_CAT)
    ix.add(pd.Series(shown, dtype="string"), PHONE)
    ref.add(ids, "openid")
    ref.add(shown, "phone")
    texts = []
    for _ in range(3000):
        pieces = [
            rng.choice(ids + phones)
            if rng.random() < 0.3
            else "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
            for _ in range(rng.randint(1, 4))
        ]
        texts.append("".join(pieces))
    expected = [ref.find(t) for t in texts]
    found = ix.find(texts)
    got = [sorted(label for label, mask in found.items() if mask[i]) for i in range(len(texts))]
    assert 100 < sum(bool(e) for e in expected) < 2900
    assert got == expected


def test_key_is_random_per_index_and_never_the_pandas_default() -> None:
    a, b = IdentifierIndex(), IdentifierIndex()
    vals = np.array([OPENID.lower(), "13812345678"], dtype=object)
    assert not np.array_equal(a._hash(vals), b._hash(vals))
    assert a._key != b._key and len(a._key.encode()) == 16
    assert not np.array_equal(a._hash(vals), pd.util.hash_array(vals, categorize=False))
    a.add(pd.Series([OPENID]), OPENID_CAT)
    b.add(pd.Series([OPENID]), OPENID_CAT)
    assert _hit(a, OPENID) == _hit(b, OPENID) == ["openid"]
    sa = set(a._stores["openid"].consolidate().tolist())
    assert not sa & set(b._stores["openid"].consolidate().tolist())


def test_only_digests_are_kept_and_the_index_cannot_be_pickled() -> None:
    ix = IdentifierIndex()
    ix.add(pd.Series([OPENID] * 3, dtype="string"), OPENID_CAT)
    assert len(ix) == 1 and repr(ix) == "IdentifierIndex(openid=1)"
    state = {k: v for k, v in vars(ix).items() if k != "_key"}
    assert "AbCdEfGh".lower() not in repr(state).lower()
    store = ix._stores["openid"]
    assert all(d.dtype == np.uint64 for d in [store.sorted, *store.pending])
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(ix)


def test_repeated_adds_consolidate_to_distinct_digests() -> None:
    ix = IdentifierIndex()
    col = pd.Series([f"user-{i:06d}" for i in range(5000)], dtype="string")
    for _ in range(4):
        ix.add(col, "user.account")
    assert len(ix) == 5000 and not ix._stores["id"].pending
    assert np.all(np.diff(ix._stores["id"].sorted.astype(np.float64)) >= 0)
    assert ix.find(list(col.head(10)))["id"].all()
    assert ix.labels == ("id",)


def test_an_empty_index_finds_nothing() -> None:
    assert IdentifierIndex().find(["13812345678", OPENID]) == {}


def test_a_twin_digests_as_its_index_and_only_digests_travel_back() -> None:
    run = IdentifierIndex(min_numeric_length=8)
    twin = run.twin()
    assert run._key not in repr(twin)
    worker = IdentifierIndex.from_twin(pickle.loads(pickle.dumps(twin)))  # as a Spark task
    assert worker.min_numeric_length == 8
    worker.add(pd.Series([OPENID, None], dtype="string"), OPENID_CAT)
    worker.add(pd.Series(["139 1234 5678"], dtype="string"), "user.contact.phone_number")
    exported = pickle.loads(pickle.dumps(worker.export()))
    blob = pickle.dumps(exported)
    assert OPENID.encode() not in blob and OPENID.lower().encode() not in blob
    assert b"13912345678" not in blob
    assert not _hit(run, OPENID)
    run.merge(exported)
    assert _hit(run, OPENID) == ["openid"]
    assert _hit(run, "call +86 139-1234-5678") == ["phone"]
    assert len(run) == len(worker) == 2
    # digests made under another index's key are not found
    other = IdentifierIndex()
    other.merge(exported)
    assert not _hit(other, OPENID)
