"""Integer codes for identifier columns: factorize a column once, reuse the codes everywhere.

The consent gate and the pseudonymizer both work per distinct value and map the result back
to the rows by code; :func:`factorize` gives them one shared :class:`Factorized` so a column of
10M user ids is hashed into codes once per chunk, not once per stage.

For Arrow-backed string columns without missing values whose values all have the same byte
length (openids, unionids, fixed-length customer ids), the codes come from a vectorized 64-bit
hash of the bytes, factorized as integers, and every row is then compared byte for byte with
the first row of its code: a hash collision between two different values is detected and the
column falls back to :func:`pandas.factorize`. Either way the result equals
``pd.factorize(series, use_na_sentinel=True)``: codes in order of first appearance, -1 for a
missing value.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["Factorized", "arrow_strings", "factorize"]

_BLOCK_ROWS = 1 << 20  # rows hashed / compared per block (bounds the temporary copies)
_MAX_FIXED_BYTES = 64
_SEED = np.uint64(0x9E3779B97F4A7C15)
_MUL = np.uint64(0xFF51AFD7ED558CCD)
_SHIFT = np.uint64(33)


@dataclass(frozen=True)
class Factorized:
    """A column as integer codes into its distinct raw values.

    ``codes``: int64 per row (-1: missing). ``uniques``: the distinct values (pandas string
    Series, first-appearance order). ``index``: the rows' index.
    """

    codes: np.ndarray
    uniques: pd.Series
    index: pd.Index

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, mask: np.ndarray) -> Factorized:
        """The rows where ``mask`` (boolean) is true, with the same uniques."""
        return Factorized(self.codes[mask], self.uniques, self.index[mask])

    def compact(self) -> Factorized:
        """Only the uniques some row refers to (order kept), codes renumbered."""
        present = self.codes[self.codes >= 0]
        used = np.bincount(present, minlength=len(self.uniques)) > 0
        if used.all():
            return self
        remap = np.full(len(self.uniques) + 1, -1, dtype=np.int64)
        keep = np.flatnonzero(used)
        remap[keep] = np.arange(len(keep), dtype=np.int64)
        uniques = self.uniques.iloc[keep].reset_index(drop=True)
        return Factorized(remap[self.codes], uniques, self.index)


def arrow_strings(values: pd.Series | pd.Index) -> pa.Array:
    """``values`` as an Arrow ``large_string`` array (zero-copy for Arrow-backed strings)."""
    s = values if isinstance(values, pd.Series) else pd.Series(values, copy=False)
    if not (isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"):
        s = s.astype(pd.StringDtype("pyarrow"))
    arr = pa.array(s.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr


def _fixed_width(arr: pa.Array) -> np.ndarray | None:
    """The values as an (n, width) uint8 matrix when they all have the same byte length."""
    n = len(arr)
    if n == 0 or arr.null_count:
        return None
    dt = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    off_buf, data_buf = arr.buffers()[1], arr.buffers()[2]
    if off_buf is None or data_buf is None:
        return None
    offsets = np.frombuffer(off_buf, dtype=dt, count=n + 1, offset=arr.offset * dt().itemsize)
    width = int(offsets[1] - offsets[0])
    if not 0 < width <= _MAX_FIXED_BYTES or int(offsets[-1] - offsets[0]) != width * n:
        return None
    if not (np.diff(offsets) == width).all():
        return None
    data = np.frombuffer(data_buf, dtype=np.uint8)[int(offsets[0]) : int(offsets[-1])]
    return data.reshape(n, width)


def _hash_rows(m: np.ndarray) -> np.ndarray:
    """A 64-bit hash per row of a uint8 matrix (not cryptographic; collisions are checked)."""
    n, width = m.shape
    words = (width + 7) // 8
    out = np.empty(n, dtype=np.uint64)
    for lo in range(0, n, _BLOCK_ROWS):
        block = m[lo : lo + _BLOCK_ROWS]
        pad = np.zeros((len(block), words * 8), dtype=np.uint8)
        pad[:, :width] = block
        w = pad.view(np.uint64)
        h = np.full(len(block), _SEED, dtype=np.uint64)
        for j in range(words):
            h ^= w[:, j]
            h *= _MUL
            h ^= h >> _SHIFT
        out[lo : lo + len(block)] = h
    return out


def _fast_codes(m: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Codes and first-row positions from hashes, or None on a hash collision."""
    codes = np.asarray(pd.factorize(_hash_rows(m))[0], dtype=np.int64)
    top = np.maximum.accumulate(codes)
    is_new = np.empty(len(codes), dtype=bool)
    is_new[0] = True
    np.greater(top[1:], top[:-1], out=is_new[1:])
    first = np.flatnonzero(is_new)
    distinct = m[first]  # compact: the comparisons below gather from it, not from all rows

    def same(lo: int) -> bool:
        c = codes[lo : lo + _BLOCK_ROWS]
        return bool(np.array_equal(m[lo : lo + len(c)], distinct[c]))

    # numpy releases the GIL while gathering and comparing: two threads on two cores
    with ThreadPoolExecutor(max_workers=2) as pool:
        if not all(pool.map(same, range(0, len(codes), _BLOCK_ROWS))):
            return None  # two different values share a hash: use the general path
    return codes, first


def factorize(series: pd.Series) -> Factorized:
    """Codes per row into the distinct values of ``series`` (equal to ``pd.factorize``)."""
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        arr = arrow_strings(series)
        m = _fixed_width(arr)
        fast = _fast_codes(m) if m is not None else None
        if fast is not None:
            codes, first = fast
            uniq = arr.take(pa.array(first))
            uniques = pd.Series(
                uniq.to_pandas(types_mapper=lambda _t: pd.StringDtype("pyarrow")).array,
                dtype=pd.StringDtype("pyarrow"),
            )
            return Factorized(codes, uniques, series.index)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return Factorized(
        np.asarray(codes, dtype=np.int64), pd.Series(uniques, dtype="string"), series.index
    )
