"""The vectorized leak guard: keyed 64-bit digests, same semantics as the per-value guard."""

from __future__ import annotations

import hashlib
import pickle
import random
import secrets

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from privacy_profile.errors import LeakDetectedError
from privacy_profile.ingest import LeakGuard
from privacy_profile.ingest.guard import _SPLIT, _SPLIT_CHAR_RE2
from privacy_profile.ingest.normalize import normalize_phone


class _Reference:
    """The previous guard (keyed BLAKE2b per value, Python set), kept as the oracle."""

    def __init__(self, min_length: int = 4, min_numeric_length: int = 7) -> None:
        self.key = secrets.token_bytes(32)
        self.digests: set[bytes] = set()
        self.min_length, self.min_numeric_length = min_length, min_numeric_length

    def _d(self, s: str) -> bytes:
        return hashlib.blake2b(s.encode(), key=self.key, digest_size=16).digest()

    def add(self, values: pd.Series, normalizer=None) -> None:  # type: ignore[no-untyped-def]
        uniq = pd.Series(pd.unique(values.dropna()), dtype="string")
        forms = [uniq.str.strip()] + ([normalizer(uniq)] if normalizer else [])
        for form in forms:
            for v in form.dropna().unique():
                s = str(v)
                if len(s) >= self.min_length and not (
                    s.isdigit() and len(s) < self.min_numeric_length
                ):
                    self.digests.add(self._d(s))

    def matches(self, text: str) -> bool:
        if not self.digests or len(text) < self.min_length:
            return False
        s = text.strip()
        if self._d(s) in self.digests:
            return True
        parts = _SPLIT.split(s)
        return len(parts) > 1 and any(
            len(p) >= self.min_length and self._d(p) in self.digests for p in parts
        )


def test_split_character_class_matches_python_split_on_every_code_point() -> None:
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    ours = pc.match_substring_regex(pa.array(chars, pa.string()), _SPLIT_CHAR_RE2)
    ours_np = np.asarray(ours.to_numpy(zero_copy_only=False), dtype=bool)
    python = np.array([_SPLIT.search(c) is not None for c in chars])
    assert (ours_np == python).all()


def test_planted_identifiers_are_caught_in_every_shape() -> None:
    oid = "oAbCdEfGhIjKlMnOpQrStUvWxYz01"
    g = LeakGuard()
    g.add(pd.Series([oid, "+86 138-1234-5678", "12345", None], dtype="string"), normalize_phone)
    assert g.matches(oid) and g.matches(f"  {oid}\t") and g.matches(f"note for {oid}，谢谢")
    assert g.matches("call 13812345678 now") and g.matches("+86 138-1234-5678")
    assert not g.matches(oid + "x") and not g.matches("12345") and not g.matches("abc")
    assert g.hits(pd.Series(["x", oid, f"id={oid}", oid[:-1], None], dtype="string")) == 2
    frame = pd.DataFrame({"item_id": ["i1", f"gift for {oid}"], "n": [1, 2]})
    with pytest.raises(LeakDetectedError, match=r"t\.item_id \(1 distinct value\)") as e:
        g.check({"t": frame})
    assert oid not in str(e.value)


def test_same_answers_as_the_per_value_guard_on_random_texts() -> None:
    rng = random.Random(11)
    alphabet = "aB3_-.@+ \t，。、\u3000\u2003/|:;x9中文é"
    ids = [
        "".join(rng.choice("abcdef0123456789") for _ in range(rng.randint(2, 12)))
        for _ in range(400)
    ]
    ids += ["123456", "1234567", "  padded-id  ", "ＡＢＣＤ"]
    new, ref = LeakGuard(), _Reference()
    col = pd.Series([*ids, None], dtype="string")
    new.add(col, normalize_phone)
    ref.add(col, normalize_phone)
    texts = []
    for _ in range(3000):
        pieces = [
            rng.choice(ids)
            if rng.random() < 0.3
            else "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
            for _ in range(rng.randint(1, 4))
        ]
        texts.append("".join(pieces))
    expected = [ref.matches(t) for t in texts]
    assert 100 < sum(expected) < 2900
    assert [new.matches(t) for t in texts] == expected
    assert new.hits(pd.Series(texts, dtype="string")) == sum(
        ref.matches(t) for t in pd.unique(pd.Series(texts))
    )


def test_key_is_random_per_guard_and_never_the_pandas_default() -> None:
    a, b = LeakGuard(), LeakGuard()
    vals = np.array(["oAbCdEfGhIjKlMnOpQrStUvWxYz01", "13812345678"], dtype=object)
    assert not np.array_equal(a._hash(vals), b._hash(vals))
    assert a._key != b._key and len(a._key.encode()) == 16
    default = pd.util.hash_array(vals, categorize=False)
    assert not np.array_equal(a._hash(vals), default)
    a.add(pd.Series(vals, dtype="string"))
    b.add(pd.Series(vals, dtype="string"))
    assert a.matches(str(vals[0])) and b.matches(str(vals[0]))
    assert not set(a._store().tolist()) & set(b._store().tolist())


def test_only_digests_are_kept_and_the_guard_cannot_be_pickled() -> None:
    g = LeakGuard()
    g.add(pd.Series(["oAbCdEfGhIjKlMnOpQrStUvWxYz01"] * 3, dtype="string"))
    assert len(g) == 1 and repr(g) == "LeakGuard(values=1)"
    state = {k: v for k, v in vars(g).items() if k != "_key"}
    assert "oAbCdEfGh" not in repr(state)
    assert all(d.dtype == np.uint64 for d in [g._sorted, *g._pending])
    with pytest.raises(TypeError):
        pickle.dumps(g)


def test_repeated_adds_consolidate_to_distinct_digests() -> None:
    g = LeakGuard()
    col = pd.Series([f"user-{i:06d}" for i in range(5000)], dtype="string")
    for _ in range(4):
        g.add(col)
    assert len(g) == 5000 and not g._pending
    assert np.all(np.diff(g._sorted.astype(np.float64)) >= 0)
    assert g.hits(col.head(10)) == 10
