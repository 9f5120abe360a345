"""The last leak guard: no raw direct-identifier value may appear in a string output cell.

While the input streams through, the guard keeps only *keyed* digests of every distinct raw
direct-identifier value and of its normalized form; the plaintext is not kept. The digest is
SipHash-2-4 (a keyed pseudo-random function) through ``pandas.util.hash_array``, vectorized in
C, under a key of 16 random URL-safe characters (96 bits, from :mod:`secrets`) made for each
guard and never stored or printed; digests are 64-bit integers held in numpy arrays, merged
lazily into one sorted array of distinct digests and looked up with ``searchsorted``.

Before anything is written, every distinct cell of every string column of every output table,
and every token of it (split on characters that cannot be part of an identifier), is digested
and compared. A match raises :class:`LeakDetectedError` naming the table and column, never the
value.

64-bit digests collide: an output cell that is not an identifier may share a digest with one
(probability about ``identifiers x distinct cells / 2**64``, ~1e-7 for a million of each). A
collision can only make the guard refuse (fail closed: a false refusal, nothing written),
never let an identifier through.

Values shorter than 4 characters, and purely numeric values shorter than 7 digits (surrogate
keys such as a 5-digit customer number, which collide by chance with other counters such as
stock codes), are not guarded: a known limitation, see docs/ingestion.md.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.util import hash_array

from privacy_profile.errors import LeakDetectedError
from privacy_profile.ingest.normalize import Normalizer

__all__ = ["LeakGuard"]

_SPLIT = re.compile(r"[^0-9A-Za-z@._+\-\u00c0-\uffff]+|[\s\u3000，。；：、]+")
# One character of _SPLIT, in RE2 syntax (Arrow): Python's Unicode ``\s`` at or above U+00C0
# spelled out (every whitespace character below U+00C0 is already outside the first class).
# Used only to pick the cells worth splitting; tests check it against _SPLIT on every code point.
_SPLIT_CHAR_RE2 = (
    r"[^0-9A-Za-z@._+\-\x{00c0}-\x{ffff}]|[\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
    r"\x{202f}\x{205f}\x{3000}，。；：、]"
)
_CONSOLIDATE = 1 << 22  # merge pending digests into the sorted array beyond this many

U64 = npt.NDArray[np.uint64]


class LeakGuard:
    """Keyed digests of raw identifiers; :meth:`check` refuses outputs that contain one."""

    def __init__(self, *, min_length: int = 4, min_numeric_length: int = 7) -> None:
        self._key = secrets.token_urlsafe(12)  # 16 ASCII characters = 16 bytes, 96 bits
        self._sorted: U64 = np.empty(0, dtype=np.uint64)  # distinct digests, sorted
        self._pending: list[U64] = []
        self._pending_n = 0
        self.min_length = min_length
        self.min_numeric_length = min_numeric_length

    def __repr__(self) -> str:
        return f"LeakGuard(values={len(self)})"

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("LeakGuard cannot be pickled")

    def _hash(self, values: npt.NDArray[np.object_]) -> U64:
        """Keyed 64-bit digests (SipHash-2-4) of an object array of ``str``."""
        if not len(values):
            return np.empty(0, dtype=np.uint64)
        digests: U64 = hash_array(values, encoding="utf8", hash_key=self._key, categorize=False)
        return digests

    def _store(self) -> U64:
        if self._pending:
            self._sorted = np.unique(np.concatenate([self._sorted, *self._pending]))
            self._pending, self._pending_n = [], 0
        return self._sorted

    def _known(self, digests: U64) -> npt.NDArray[np.bool_]:
        store = self._store()
        if not len(store) or not len(digests):
            return np.zeros(len(digests), dtype=bool)
        i = np.searchsorted(store, digests)
        i[i == len(store)] = 0
        return np.asarray(store[i] == digests)

    def __len__(self) -> int:
        return len(self._store())

    def _eligible(
        self, values: npt.NDArray[np.object_], lengths: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.bool_]:
        """Long enough, and numeric values long enough (``str.isdigit`` as before)."""
        ok = lengths >= self.min_length
        short = np.flatnonzero(ok & (lengths < self.min_numeric_length))
        if len(short):
            ok[short[[values[i].isdigit() for i in short]]] = False
        return ok

    def add(self, values: pd.Series, normalizer: Normalizer | None = None) -> None:
        """Remember the distinct values of a raw identifier column (and their normalized form)."""
        uniq = pd.Series(pd.unique(values), dtype="string").dropna()
        stripped = uniq.str.strip()
        forms = [stripped]
        if normalizer is not None:
            normalized = normalizer(uniq)
            if not normalized.equals(stripped):  # e.g. the default normalizer only strips
                forms.append(normalized)
        for form in forms:
            form = form.dropna()
            arr = np.asarray(form, dtype=object)
            lengths = form.str.len().to_numpy(dtype=np.int64)
            digests = np.unique(self._hash(arr[self._eligible(arr, lengths)]))
            if len(digests):
                self._pending.append(digests)
                self._pending_n += len(digests)
        if self._pending_n > max(_CONSOLIDATE, len(self._sorted)):
            self._store()

    def _hit_mask(self, texts: npt.NDArray[np.object_]) -> npt.NDArray[np.bool_]:
        """Per text: the stripped text, or one of its identifier-shaped parts, is remembered."""
        out = np.zeros(len(texts), dtype=bool)
        if not len(texts):
            return out
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        idx = np.flatnonzero(lengths >= self.min_length)
        if not len(idx):
            return out
        stripped = np.array([texts[i].strip() for i in idx], dtype=object)
        whole = self._known(self._hash(stripped))
        out[idx[whole]] = True
        rest = np.flatnonzero(~whole)
        if not len(rest):
            return out
        has_split = pc.match_substring_regex(pa.array(stripped[rest], pa.string()), _SPLIT_CHAR_RE2)
        cand = rest[np.asarray(has_split.to_numpy(zero_copy_only=False), dtype=bool)]
        parts: list[str] = []
        owner: list[int] = []
        for j in cand:
            for p in _SPLIT.split(stripped[j]):
                if len(p) >= self.min_length:
                    parts.append(p)
                    owner.append(j)
        if parts:
            hit = self._known(self._hash(np.array(parts, dtype=object)))
            out[idx[np.asarray(owner, dtype=np.int64)[hit]]] = True
        return out

    def matches(self, text: str) -> bool:
        """True when ``text``, or one of its identifier-shaped parts, is a remembered value."""
        if len(text) < self.min_length or not len(self._store()):
            return False
        return bool(self._hit_mask(np.array([text], dtype=object))[0])

    def hits(self, series: pd.Series) -> int:
        """How many distinct cells of ``series`` hold a remembered identifier."""
        if not len(self._store()):
            return 0
        texts = np.array([str(v) for v in pd.unique(series.dropna())], dtype=object)
        return int(self._hit_mask(texts).sum())

    def check(self, tables: Mapping[str, pd.DataFrame]) -> None:
        """Raise :class:`LeakDetectedError` if any string cell holds a raw identifier."""
        found: list[str] = []
        for name, frame in tables.items():
            for col in frame.columns:
                s = frame[col]
                if not (pd.api.types.is_string_dtype(s) or s.dtype == object):
                    continue
                n = self.hits(s)
                if n:
                    found.append(f"{name}.{col} ({n} distinct value{'s' if n != 1 else ''})")
        if found:
            raise LeakDetectedError(
                "raw direct-identifier values appear in the output: " + ", ".join(found),
                hint="declare the column as a direct identifier with pseudonymize/tokenize/drop, "
                "or fix the input; nothing was written",
            )
