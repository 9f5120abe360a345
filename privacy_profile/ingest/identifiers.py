"""The identifier index: keyed digests of every raw identifier value ingestion reads.

Ingestion adds each direct-identifier column to the index as it streams the input
(:meth:`IdentifierIndex.add`). Each value is first normalised the way its category is written
in the wild, so that equal identifiers written differently have one form:

* ``phone``: full-width digits folded (NFKC), every non-digit removed, a ``+86``/``0086``/``86``
  country prefix removed before an 11-digit ``1xx`` number;
* ``email``, ``openid``, ``unionid``, ``government_id`` and other ids: NFKC, trimmed,
  case-folded;
* ``name`` and ``address``: NFKC and trimmed, case kept ("as written").

Only keyed digests are kept: SipHash-2-4 (a keyed pseudo-random function, vectorized in C by
``pandas.util.hash_array``) under a key of 96 random bits from :mod:`secrets`, drawn per index,
never stored, printed or pickled. The digests are 64-bit integers in numpy arrays, one sorted
array per category, looked up with ``searchsorted``.

:meth:`IdentifierIndex.find` says which categories of indexed values occur *inside* each of a
batch of texts. Each text is normalised per category as the values were, and its substrings of
the lengths seen at indexing time are looked up:

* phone: the numbers of the text (separators ``space - ( ) . +`` between digits removed, runs
  of digits not glued to an ASCII letter, country prefix removed), whole:
  ``call 139-1234-5678 now``, ``+86 13912345678``, ``电话１３９...`` all hold the number;
* the others: every window that starts and ends at a boundary, i.e. where an ASCII letter or
  digit meets anything else, and around every non-ASCII character (so a CJK nickname is found
  anywhere in a Chinese note, an openid inside a URL query or a JSON string, an e-mail inside
  a sentence, in any case for the case-folded categories).

A text that is one run of ASCII letters and digits (most cells: pseudonyms, counts, codes) can
only hold an identifier as a whole; those are digested in one vectorized call. Phone windows
are found with Arrow kernels; the other windows are built in Python for the remaining texts.

Limits (see docs/lineage.md): values shorter than 4 characters (2 when they hold CJK
characters) and purely numeric values shorter than 7 digits are not indexed (short surrogate
keys collide by chance with counters and codes); an ASCII id glued to other ASCII letters or
digits (``ID12345678``) is not found, nor a phone number glued to ASCII letters or inside a
longer digit run (``tel13912345678``, ``2026013912345678``). 64-bit digests collide: a text that
holds no identifier may match one (probability about ``windows x values / 2**64``), which
can only cause a false refusal, never let an identifier through.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.util import hash_array

__all__ = ["IdentifierIndex", "IndexDigests", "IndexTwin", "identifier_label"]

U64 = npt.NDArray[np.uint64]

_CONSOLIDATE = 1 << 22  # merge pending digests into the sorted array beyond this many
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
# Boundaries: a run of ASCII letters/digits, a run of other ASCII characters, or one
# non-ASCII character each start an atom.
_ATOM = re.compile(r"[0-9A-Za-z]+|[^0-9A-Za-z\u0080-\U0010ffff]+|[^\x00-\x7f]")
_PHONE_SEPARATORS = r"[\s\-().+]"  # RE2 and Python alike


class _Style(enum.Enum):
    PHONE = "phone"
    CASEFOLD = "casefold"
    AS_WRITTEN = "as written"


# (data-category prefix, label, style), longest prefix first where they nest.
_LABELS: tuple[tuple[str, str, _Style], ...] = (
    ("user.contact.phone_number", "phone", _Style.PHONE),
    ("user.contact.email", "email", _Style.CASEFOLD),
    ("user.contact.address", "address", _Style.AS_WRITTEN),
    ("user.unique_id.wechat_openid", "openid", _Style.CASEFOLD),
    ("user.unique_id.wechat_unionid", "unionid", _Style.CASEFOLD),
    ("user.government_id", "government_id", _Style.CASEFOLD),
    ("user.name", "name", _Style.AS_WRITTEN),
)
_STYLE_OF_LABEL = {label: style for _, label, style in _LABELS}


def identifier_label(category: str) -> str:
    """The identifier category named in refusals (``phone``, ``email``, ``openid``, ``name``,
    ...) of a policy data category; ``id`` for any other identifier."""
    for prefix, label, _ in _LABELS:
        if category == prefix or category.startswith(prefix + "."):
            return label
    return "id"


def _style(label: str) -> _Style:
    return _STYLE_OF_LABEL.get(label, _Style.CASEFOLD)


@dataclass
class _Store:
    """The digests of one category: a sorted array, pending additions, the lengths seen."""

    sorted: U64 = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    pending: list[U64] = field(default_factory=list)
    pending_n: int = 0
    lengths: set[int] = field(default_factory=set)

    def consolidate(self) -> U64:
        if self.pending:
            merged = np.sort(np.concatenate([self.sorted, *self.pending]))
            if len(merged):
                merged = merged[np.concatenate(([True], merged[1:] != merged[:-1]))]
            self.sorted = merged
            self.pending, self.pending_n = [], 0
        return self.sorted

    def known(self, digests: U64) -> npt.NDArray[np.bool_]:
        store = self.consolidate()
        if not len(store) or not len(digests):
            return np.zeros(len(digests), dtype=bool)
        i = np.searchsorted(store, digests)
        i[i == len(store)] = 0
        return np.asarray(store[i] == digests)


def _normalize_values(values: pa.Array, style: _Style) -> pa.Array:
    """The normal form of raw values of one style (Arrow kernels; Python only for the
    case folding of non-ASCII values)."""
    s = pc.utf8_normalize(values, "NFKC")
    if style is _Style.PHONE:
        digits = pc.replace_substring_regex(s, r"[^0-9]", "")
        return pc.replace_substring_regex(digits, r"^(?:0086|86)(1[0-9]{10})$", r"\1")
    s = pc.utf8_trim_whitespace(s)
    if style is _Style.AS_WRITTEN:
        return s
    lower = pc.utf8_lower(s)  # equals str.casefold on ASCII
    wide = np.flatnonzero(~np.asarray(pc.string_is_ascii(s).fill_null(True), dtype=bool))
    if not len(wide):
        return lower
    folded = lower.to_pylist()
    for i in wide.tolist():
        v = s[i].as_py()
        folded[i] = v.casefold() if v is not None else None
    return pa.array(folded, pa.string())


def _windows(text: str, lengths: Sequence[int]) -> Iterable[str]:
    """Substrings of ``text`` of the given (ascending) lengths that start and end at
    boundaries (see the module docstring)."""
    n = len(text)
    starts = [m.start() for m in _ATOM.finditer(text)]
    ends = set(starts)
    ends.add(n)
    for b in starts:
        for length in lengths:
            e = b + length
            if e > n:
                break
            if e in ends:
                yield text[b:e]


@dataclass(frozen=True)
class IndexTwin:
    """What a worker inside the trust boundary (a Spark executor) needs to digest identifiers
    exactly as an index does: its key and length limits (:meth:`IdentifierIndex.twin`). It is
    picklable on purpose, to travel with a task; ``repr`` never shows the key."""

    key: str = field(repr=False)
    min_length: int
    min_cjk_length: int
    min_numeric_length: int


@dataclass(frozen=True)
class IndexDigests:
    """An index's digests and indexed lengths of one category (:meth:`IdentifierIndex.export`),
    for :meth:`IdentifierIndex.merge` into the index whose twin made them: no raw value."""

    label: str
    digests: U64 = field(repr=False)
    lengths: tuple[int, ...]


class IdentifierIndex:
    """Keyed digests of raw identifier values by category; see the module docstring."""

    def __init__(
        self, *, min_length: int = 4, min_cjk_length: int = 2, min_numeric_length: int = 7
    ) -> None:
        self._key = secrets.token_urlsafe(12)  # 16 ASCII characters = 16 bytes, 96 bits
        self._stores: dict[str, _Store] = {}
        self.min_length = min_length
        self.min_cjk_length = min_cjk_length
        self.min_numeric_length = min_numeric_length

    def __repr__(self) -> str:  # never the key
        counts = ", ".join(f"{k}={len(v.consolidate())}" for k, v in sorted(self._stores.items()))
        return f"IdentifierIndex({counts})"

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("IdentifierIndex cannot be pickled (it holds a secret key)")

    # -- workers ---------------------------------------------------------------------------------
    def twin(self) -> IndexTwin:
        """This index's key and limits for a worker inside the trust boundary: an index built
        there with :meth:`from_twin` digests values as this one does, and its :meth:`export`
        merges here, so raw identifier values never leave the worker."""
        return IndexTwin(
            key=self._key,
            min_length=self.min_length,
            min_cjk_length=self.min_cjk_length,
            min_numeric_length=self.min_numeric_length,
        )

    @classmethod
    def from_twin(cls, twin: IndexTwin) -> IdentifierIndex:
        """An empty index with ``twin``'s key and limits (see :meth:`twin`)."""
        index = cls(
            min_length=twin.min_length,
            min_cjk_length=twin.min_cjk_length,
            min_numeric_length=twin.min_numeric_length,
        )
        index._key = twin.key
        return index

    def export(self) -> list[IndexDigests]:
        """The digests and indexed lengths of every category (no raw value, no key)."""
        return [
            IndexDigests(label, store.consolidate().copy(), tuple(sorted(store.lengths)))
            for label, store in sorted(self._stores.items())
            if len(store.consolidate())
        ]

    def merge(self, parts: Iterable[IndexDigests]) -> None:
        """Add digests exported by an index built from this index's :meth:`twin`."""
        for part in parts:
            if part.label not in _STYLE_OF_LABEL and part.label != "id":
                raise ValueError(f"unknown identifier category {part.label!r}")
            store = self._stores.setdefault(part.label, _Store())
            store.lengths.update(part.lengths)
            digests = np.asarray(part.digests, dtype=np.uint64)
            store.pending.append(digests)
            store.pending_n += len(digests)
            if store.pending_n > max(_CONSOLIDATE, len(store.sorted)):
                store.consolidate()

    def __len__(self) -> int:
        return sum(len(s.consolidate()) for s in self._stores.values())

    @property
    def labels(self) -> tuple[str, ...]:
        """The identifier categories holding at least one value."""
        return tuple(sorted(k for k, v in self._stores.items() if len(v.consolidate())))

    def _hash(self, values: npt.NDArray[np.object_]) -> U64:
        if not len(values):
            return np.empty(0, dtype=np.uint64)
        digests: U64 = hash_array(values, encoding="utf8", hash_key=self._key, categorize=False)
        return digests

    # -- adding ----------------------------------------------------------------------------------
    def add(self, values: pd.Series, category: str) -> None:
        """Index the distinct values of a raw identifier column of data ``category`` (a policy
        category such as ``user.contact.phone_number``, or a label such as ``phone``)."""
        label = category if category in _STYLE_OF_LABEL else identifier_label(category)
        style = _style(label)
        uniq = pd.unique(values.dropna())
        if not len(uniq):
            return
        form = _normalize_values(pa.array(np.asarray(uniq, dtype=object), pa.string()), style)
        lengths = np.asarray(pc.utf8_length(form), dtype=np.int64)
        if style is _Style.PHONE:
            ok = lengths >= self.min_numeric_length
        else:
            numeric = np.asarray(pc.match_substring_regex(form, r"^[0-9]+$"), dtype=bool)
            ok = np.where(numeric, lengths >= self.min_numeric_length, lengths >= self.min_length)
            short = np.flatnonzero(~ok & ~numeric & (lengths >= self.min_cjk_length))
            for i in short.tolist():
                if _CJK.search(form[i].as_py()):
                    ok[i] = True
        if not ok.any():
            return
        kept = form.filter(pa.array(ok))
        store = self._stores.setdefault(label, _Store())
        store.lengths.update(int(n) for n in np.unique(lengths[ok]))
        digests = self._hash(np.asarray(kept.to_numpy(zero_copy_only=False), dtype=object))
        store.pending.append(digests)
        store.pending_n += len(digests)
        if store.pending_n > max(_CONSOLIDATE, len(store.sorted)):
            store.consolidate()

    # -- finding ---------------------------------------------------------------------------------
    def _stores_of(self, style: _Style) -> list[tuple[str, _Store]]:
        return [
            (label, s)
            for label, s in sorted(self._stores.items())
            if _style(label) is style and len(s.consolidate())
        ]

    def _lookup(
        self,
        stores: list[tuple[str, _Store]],
        candidates: npt.NDArray[np.object_],
        owners: npt.NDArray[np.int64],
        hits: dict[str, npt.NDArray[np.bool_]],
    ) -> None:
        if not len(candidates):
            return
        digests = self._hash(candidates)
        for label, store in stores:
            found = store.known(digests)
            if found.any():
                hits[label][owners[found]] = True

    def _find_phones(
        self,
        nfkc: pa.Array,
        stores: list[tuple[str, _Store]],
        hits: dict[str, npt.NDArray[np.bool_]],
    ) -> None:
        """Numbers in the texts: separators between digits removed, then every run of digits
        not glued to an ASCII letter, normalised like the values (country prefix removed),
        looked up whole. A window at every position would find phone numbers by chance inside
        long digit runs (hex pseudonyms, timestamps): about one per 10^5 windows for a
        million indexed numbers."""
        shortest = min(min(s.lengths) for _, s in stores)
        run_re = rf"[0-9](?:{_PHONE_SEPARATORS}*[0-9]){{{shortest - 1},}}"
        texts = np.flatnonzero(np.asarray(pc.match_substring_regex(nfkc, run_re), dtype=bool))
        if not len(texts):
            return
        joined = nfkc.take(pa.array(texts))
        for _ in range(2):  # a match consumes its digits: two passes join "1 2 3"
            joined = pc.replace_substring_regex(
                joined, rf"([0-9]){_PHONE_SEPARATORS}+([0-9])", r"\1\2"
            )
        tokens = pc.split_pattern_regex(joined, r"[^0-9A-Za-z]+")
        parents = texts[np.asarray(pc.list_parent_indices(tokens), dtype=np.int64)]
        flat = pc.list_flatten(tokens)
        digits = np.asarray(pc.match_substring_regex(flat, rf"^[0-9]{{{shortest},}}$"), dtype=bool)
        keep = np.flatnonzero(digits)
        if not len(keep):
            return
        runs = pc.replace_substring_regex(
            flat.take(pa.array(keep)), r"^(?:0086|86)(1[0-9]{10})$", r"\1"
        )
        cand = np.asarray(runs.to_numpy(zero_copy_only=False), dtype=object)
        self._lookup(stores, cand, parents[keep], hits)

    def find(self, texts: Sequence[str]) -> dict[str, npt.NDArray[np.bool_]]:
        """Per identifier category with a hit: a mask over ``texts``, True where the text holds
        an indexed value of that category (categories without a hit are absent)."""
        n = len(texts)
        hits: dict[str, npt.NDArray[np.bool_]] = {
            label: np.zeros(n, dtype=bool) for label in self._stores
        }
        if not n or not len(self):
            return {}
        nfkc = pc.utf8_normalize(pa.array(list(texts), pa.string()), "NFKC")
        phones = self._stores_of(_Style.PHONE)
        if phones:
            self._find_phones(nfkc, phones, hits)
        simple = np.asarray(
            pc.match_substring_regex(nfkc, r"^[0-9A-Za-z]+$").to_numpy(zero_copy_only=False),
            dtype=bool,
        )
        simple_idx = np.flatnonzero(simple)
        other_idx = np.flatnonzero(~simple)
        others: list[str | None] = nfkc.take(pa.array(other_idx, pa.int64())).to_pylist()
        for style in (_Style.CASEFOLD, _Style.AS_WRITTEN):
            stores = self._stores_of(style)
            if not stores:
                continue
            folded = pc.utf8_lower(nfkc) if style is _Style.CASEFOLD else nfkc
            whole = folded.take(pa.array(simple_idx, pa.int64()))
            self._lookup(
                stores,
                np.asarray(whole.to_numpy(zero_copy_only=False), dtype=object),
                simple_idx,
                hits,
            )
            lengths = sorted(set().union(*(s.lengths for _, s in stores)))
            cands: list[str] = []
            owners: list[int] = []
            for i, text in zip(other_idx.tolist(), others, strict=True):
                if text is None or len(text) < lengths[0]:
                    continue
                if style is _Style.CASEFOLD:
                    text = text.casefold()
                for w in _windows(text, lengths):
                    cands.append(w)
                    owners.append(i)
            self._lookup(
                stores,
                np.array(cands, dtype=object),
                np.asarray(owners, dtype=np.int64),
                hits,
            )
        return {label: mask for label, mask in hits.items() if mask.any()}
