"""Keyed pseudonyms (HMAC-SHA256 per domain) and reversible tokens (AES-SIV).

* :class:`Pseudonymizer` derives one subkey per pseudonymisation domain with HKDF (the domain
  name and key id are in the HKDF info), so pseudonyms of two domains cannot be joined and a new
  key id gives new pseudonyms. Values are normalized, de-duplicated, hashed once each with a
  copy of a prepared ``cryptography`` HMAC object, and mapped back. Output: 32 hex digits
  (128 bits).
* :class:`Tokenizer` encrypts deterministically with AES-SIV under a key derived from the
  custodian key; :meth:`Tokenizer.detokenize` needs that key and fails on any other.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from privacy_profile.errors import KeyMaterialError
from privacy_profile.ingest.codes import Factorized, arrow_strings, factorize
from privacy_profile.ingest.keys import KeyMaterial, KeyRing
from privacy_profile.ingest.normalize import Normalizer, normalize_default

__all__ = [
    "PSEUDONYM_HEX_DIGITS",
    "Pseudonymizer",
    "Tokenizer",
    "derive_subkey",
    "map_factorized",
    "map_unique",
    "take_fixed",
    "take_strings",
]

PSEUDONYM_HEX_DIGITS = 32  # 128 bits
_HKDF_SALT = b"privacy_profile/pseudonym/v1"
_TOKEN_PREFIX = "tk1_"


def derive_subkey(key: KeyMaterial, *, purpose: str, name: str, length: int = 32) -> bytes:
    """HKDF-SHA256 subkey of ``key`` bound to a purpose label, a name and the key id."""
    info = f"{purpose}|{name}|{key.key_id}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=_HKDF_SALT, info=info).derive(
        key.secret()
    )


def take_strings(values: list[str | None], codes: np.ndarray, index: pd.Index) -> pd.Series:
    """``values[codes]`` as a pandas string Series (code -1 -> missing), built in Arrow."""
    idx = pa.array(codes, type=pa.int64(), mask=codes < 0)
    arr = pa.DictionaryArray.from_arrays(idx, pa.array(values, type=pa.string()))
    out = arr.dictionary_decode().to_pandas(types_mapper=lambda _t: pd.StringDtype("pyarrow"))
    return pd.Series(out.array, index=index, dtype=pd.StringDtype("pyarrow"))


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_HEX_PAIRS = np.stack([_HEX[np.arange(256) >> 4], _HEX[np.arange(256) & 15]], axis=1)

# ``fn`` of map_unique: the new value per distinct value, as a list of strings or as an
# (n, width) uint8 matrix of ASCII strings of one width (pseudonyms: 32 hex digits)
ValuesFn = Callable[[list[str]], "list[str] | np.ndarray"]


def take_fixed(matrix: np.ndarray, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """Rows of an (n, width) ASCII matrix by code (-1 -> missing) as a string Series; built
    from numpy buffers (a fixed-width gather), faster than a dictionary decode."""
    n, width = len(codes), matrix.shape[1]
    valid = codes >= 0
    data = np.ascontiguousarray(matrix[codes[valid]])
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.where(valid, width, 0), out=offsets[1:])
    nulls = n - int(valid.sum())
    bitmap = pa.array(valid).buffers()[1] if nulls else None
    arr = pa.Array.from_buffers(
        pa.large_string(), n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)], nulls
    )
    out = arr.to_pandas(types_mapper=lambda _t: pd.StringDtype("pyarrow"))
    return pd.Series(out.array, index=index, dtype=pd.StringDtype("pyarrow"))


def map_unique(series: pd.Series, normalizer: Normalizer, fn: ValuesFn) -> tuple[pd.Series, int]:
    """Apply ``fn`` once per distinct normalized value and map the results back.

    Missing values (and values that normalize to the empty string) stay missing. Returns the
    new series and the number of distinct values ``fn`` saw.
    """
    return map_factorized(factorize(series), normalizer, fn)


def map_factorized(
    column: Factorized, normalizer: Normalizer, fn: ValuesFn
) -> tuple[pd.Series, int]:
    """:func:`map_unique` over an already factorized column (only the uniques some row uses
    are normalized and passed to ``fn``)."""
    column = column.compact()
    raw = column.uniques
    norm = normalizer(raw)
    empty = (norm.str.len() == 0).fillna(False).to_numpy(dtype=bool)
    a = arrow_strings(norm)
    if not empty.any() and not a.null_count and pc.all(pc.equal(a, arrow_strings(raw))).as_py():
        # normalization changed nothing: the distinct values stay distinct
        table = np.append(np.arange(len(a), dtype=np.int64), -1)
        distinct = a.to_pylist()
    else:
        ncodes, nuniques = pd.factorize(norm.mask(empty), use_na_sentinel=True)
        table = np.append(np.asarray(ncodes, dtype=np.int64), -1)  # unique -> normalized code
        distinct = [str(v) for v in nuniques.to_numpy(dtype=object)]
    values = fn(distinct)
    if isinstance(values, np.ndarray):
        return take_fixed(values, table[column.codes], column.index), len(values)
    return take_strings(list(values), table[column.codes], column.index), len(values)


@dataclass(frozen=True)
class Pseudonymizer:
    """HMAC-SHA256 pseudonyms per domain, from the domain keys of a :class:`KeyRing`."""

    keys: KeyRing

    def _hmac(self, domain: str) -> hmac.HMAC:
        sub = derive_subkey(self.keys.domain(domain), purpose="pseudonym", name=domain)
        return hmac.HMAC(sub, hashes.SHA256())

    def hash_values(self, values: list[str], *, domain: str) -> list[str]:
        """One pseudonym per value (no normalization, no de-duplication)."""
        base = self._hmac(domain)
        n = PSEUDONYM_HEX_DIGITS // 2
        out = []
        for v in values:
            h = base.copy()
            h.update(v.encode("utf-8"))
            out.append(h.finalize()[:n].hex())
        return out

    def hash_matrix(self, values: list[str], *, domain: str) -> np.ndarray:
        """:meth:`hash_values` as an (n, 32) uint8 matrix of lower-case hex digits."""
        base = self._hmac(domain)
        digests = []
        for v in values:
            h = base.copy()
            h.update(v.encode("utf-8"))
            digests.append(h.finalize())
        raw = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(len(values), 32)
        half = raw[:, : PSEUDONYM_HEX_DIGITS // 2]
        return _HEX_PAIRS[half].reshape(len(values), PSEUDONYM_HEX_DIGITS)

    def pseudonymize(
        self, series: pd.Series, *, domain: str, normalizer: Normalizer = normalize_default
    ) -> pd.Series:
        """Normalize, de-duplicate, hash once per distinct value and map back."""
        out, _ = map_unique(series, normalizer, lambda vs: self.hash_matrix(vs, domain=domain))
        return out

    def pseudonymize_factorized(
        self, column: Factorized, *, domain: str, normalizer: Normalizer = normalize_default
    ) -> pd.Series:
        """:meth:`pseudonymize` over a column already factorized (e.g. by the consent gate)."""
        out, _ = map_factorized(column, normalizer, lambda vs: self.hash_matrix(vs, domain=domain))
        return out


@dataclass(frozen=True)
class Tokenizer:
    """Deterministic AES-SIV tokens under the custodian key (reversible only with it)."""

    custodian: KeyMaterial

    def _siv(self) -> AESSIV:
        return AESSIV(derive_subkey(self.custodian, purpose="token", name="aes-siv", length=64))

    def _ad(self) -> list[bytes]:
        return [b"privacy_profile/token/v1", self.custodian.key_id.encode()]

    def tokenize_values(self, values: list[str]) -> list[str]:
        siv, ad = self._siv(), self._ad()
        return [
            _TOKEN_PREFIX
            + base64.urlsafe_b64encode(siv.encrypt(v.encode("utf-8"), ad)).rstrip(b"=").decode()
            for v in values
        ]

    def tokenize(
        self, series: pd.Series, *, normalizer: Normalizer = normalize_default
    ) -> pd.Series:
        out, _ = map_unique(series, normalizer, self.tokenize_values)
        return out

    def detokenize_values(self, tokens: list[str]) -> list[str]:
        siv, ad = self._siv(), self._ad()
        out = []
        for t in tokens:
            if not t.startswith(_TOKEN_PREFIX):
                raise KeyMaterialError(
                    "not a privacy_profile token", hint="pass tokens made by Tokenizer.tokenize"
                )
            body = t[len(_TOKEN_PREFIX) :]
            try:
                raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
                out.append(siv.decrypt(raw, ad).decode("utf-8"))
            except (InvalidTag, ValueError):
                raise KeyMaterialError(
                    f"a token does not decrypt under custodian key {self.custodian.key_id!r}",
                    hint="detokenize with the custodian key the tokens were made with",
                ) from None
        return out

    def detokenize(self, series: pd.Series) -> pd.Series:
        """Tokens back to the (normalized) identifiers; needs the right custodian key."""
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        plain = np.array([*self.detokenize_values([str(u) for u in uniques]), None], dtype=object)
        return pd.Series(
            plain[np.where(codes < 0, len(uniques), codes)], index=series.index, dtype="string"
        )
