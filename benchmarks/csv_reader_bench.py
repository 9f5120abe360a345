"""Throughput of the CSV reader (line-framed, row-accurate) on a generated file.

    python benchmarks/csv_reader_bench.py --rows 1000000 [--baseline OLD_READERS_PY]

``--baseline`` loads another version of ``privacy_profile/ingest/readers.py`` (e.g. from
``git show <commit>:privacy_profile/ingest/readers.py``) and times both, interleaved.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from privacy_profile.ingest import readers
from privacy_profile.policy.model import Table

SPEC = Table.model_validate(
    {
        "retention_days": 30,
        "subject_column": "user_id",
        "columns": {
            "user_id": {"category": "system.operations", "role": "attribute", "treatment": "keep"}
        },
    }
)


def _write(path: Path, rows: int) -> None:
    rnd = random.Random(1)
    with path.open("w", encoding="utf-8") as f:
        f.write("user_id,event,item_id,ts,amount\n")
        for _ in range(rows):
            f.write(
                f"o{rnd.getrandbits(64):x},view,{rnd.randrange(10**6)},"
                f"2026-11-{rnd.randrange(1, 29):02d}T10:00:00,{rnd.random() * 100:.2f}\n"
            )


def _load(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("baseline_readers", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["baseline_readers"] = mod
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--baseline")
    a = ap.parse_args()
    mods = [("current", readers)]
    if a.baseline:
        mods.insert(0, ("baseline", _load(a.baseline)))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "t.csv"
        _write(path, a.rows)
        for _ in range(a.repeat):
            for name, mod in mods:
                t0 = time.perf_counter()
                n = sum(len(c.frame) for c in mod.read_table(path, "t", SPEC))
                s = time.perf_counter() - t0
                print(f"{name}: {n} rows in {s:.2f} s ({n / s / 1e6:.2f} M rows/s)")


if __name__ == "__main__":
    main()
