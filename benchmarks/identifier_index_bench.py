"""Identifier index benchmark: adding raw identifiers and finding them inside output cells.

Adds ``--values`` distinct openid-like ids and as many 11-digit phone numbers (seeded numpy)
to an :class:`~privacy_profile.ingest.IdentifierIndex`, then times :meth:`find` on
``--values`` distinct 64-hex pseudonym cells (the shape of a sanitized table's subject column)
and on ``--texts`` distinct short mixed Chinese/ASCII notes (the shape of free text). Not a
test: figures go to docs/benchmarks.md. Usage::

    .venv/bin/python benchmarks/identifier_index_bench.py --values 1000000 --texts 200000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from privacy_profile.ingest import IdentifierIndex


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--values", type=int, default=1_000_000)
    ap.add_argument("--texts", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    n = args.values
    rng = np.random.default_rng(args.seed)
    raw = rng.integers(0, 256, size=(n, 14), dtype=np.uint8)
    openids = pd.Series(["o" + b.tobytes().hex() for b in raw], dtype="string")
    phones = pd.Series([f"1{d:010d}" for d in rng.integers(3e9, 9.9e9, size=n)], dtype="string")
    pseudonyms = [rng.bytes(32).hex() for _ in range(n)]
    notes = [f"order {i} note 备注{i % 97}" for i in range(args.texts)]

    index = IdentifierIndex()
    t0 = time.perf_counter()
    index.add(openids, "user.unique_id.wechat_openid")
    index.add(phones, "user.contact.phone_number")
    stored = len(index)  # includes the merge into sorted arrays
    t_add = time.perf_counter() - t0
    t0 = time.perf_counter()
    hits = index.find(pseudonyms)
    t_pseud = time.perf_counter() - t0
    t0 = time.perf_counter()
    index.find(notes)
    t_notes = time.perf_counter() - t0
    print(
        f"add {2 * n:,} values: {t_add:.2f} s ({2 * n / t_add / 1e6:.2f} M values/s, "
        f"{stored:,} digests); find in {n:,} pseudonym cells: {t_pseud:.2f} s "
        f"({sum(int(m.sum()) for m in hits.values())} hits); "
        f"find in {len(notes):,} notes: {t_notes:.2f} s"
    )


if __name__ == "__main__":
    main()
