"""The last leak guard: no raw direct-identifier value may appear in a string output cell.

While the input streams through, the guard keeps only *keyed* digests (BLAKE2b under a random
key made for this run and never stored) of every distinct raw direct-identifier value and of
its normalized form; the plaintext is not kept. Before anything is written, every distinct cell
of every string column of every output table, and every token of it (split on characters that
cannot be part of an identifier), is digested and compared. A match raises
:class:`LeakDetectedError` naming the table and column, never the value.

Values shorter than 4 characters, and purely numeric values shorter than 7 digits (surrogate
keys such as a 5-digit customer number, which collide by chance with other counters such as
stock codes), are not guarded: a known limitation, see docs/ingestion.md.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from typing import Any

import pandas as pd

from privacy_profile.errors import LeakDetectedError
from privacy_profile.ingest.normalize import Normalizer

__all__ = ["LeakGuard"]

_SPLIT = re.compile(r"[^0-9A-Za-z@._+\-\u00c0-\uffff]+|[\s\u3000，。；：、]+")


class LeakGuard:
    """Keyed digests of raw identifiers; :meth:`check` refuses outputs that contain one."""

    def __init__(self, *, min_length: int = 4, min_numeric_length: int = 7) -> None:
        self._key = secrets.token_bytes(32)
        self._digests: set[bytes] = set()
        self.min_length = min_length
        self.min_numeric_length = min_numeric_length

    def _eligible(self, s: str) -> bool:
        if len(s) < self.min_length:
            return False
        return not (s.isdigit() and len(s) < self.min_numeric_length)

    def __repr__(self) -> str:
        return f"LeakGuard(values={len(self._digests)})"

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("LeakGuard cannot be pickled")

    def _digest(self, value: str) -> bytes:
        return hashlib.blake2b(value.encode("utf-8"), key=self._key, digest_size=16).digest()

    def __len__(self) -> int:
        return len(self._digests)

    def add(self, values: pd.Series, normalizer: Normalizer | None = None) -> None:
        """Remember the distinct values of a raw identifier column (and their normalized form)."""
        uniq = pd.Series(pd.unique(values.dropna()), dtype="string")
        forms = [uniq.str.strip()]
        if normalizer is not None:
            forms.append(normalizer(uniq))
        for form in forms:
            for v in form.dropna().unique():
                s = str(v)
                if self._eligible(s):
                    self._digests.add(self._digest(s))

    def matches(self, text: str) -> bool:
        """True when ``text``, or one of its identifier-shaped parts, is a remembered value."""
        if not self._digests or len(text) < self.min_length:
            return False
        s = text.strip()
        if self._digest(s) in self._digests:
            return True
        parts = _SPLIT.split(s)
        return len(parts) > 1 and any(
            len(p) >= self.min_length and self._digest(p) in self._digests for p in parts
        )

    def hits(self, series: pd.Series) -> int:
        """How many distinct cells of ``series`` hold a remembered identifier."""
        if not self._digests:
            return 0
        return sum(self.matches(str(v)) for v in pd.unique(series.dropna()))

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
