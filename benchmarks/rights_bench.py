"""Rights benchmark: an access and an erasure request against a large sanitized store.

    .venv/bin/python benchmarks/rights_bench.py --rows 10000000 --users 1000000 --dir /tmp/rb

Each phase runs in its own child process, so each peak resident set (``ru_maxrss``) is the
phase's own:

1. ``make``: writes ``DIR/store/events.parquet`` (``--rows`` event rows, written in slices of
   one row group each, as ``write_sanitized`` lays out a sanitized events table: pseudonymous
   ``openid`` of 32 hex digits, event type, item, category, hour-truncated timestamp) and
   ``DIR/store/users.parquet`` (one row per user), with the pseudonyms a development key ring
   (fixed seed) gives the raw ids ``o00000000``... Skipped when the files exist for the same
   arguments.
2. ``access``: a fresh register, ``submit("access", raw id)`` and ``process_request`` with an
   export folder: every events row group is streamed once.
3. ``erase``: ``submit("erase", ...)`` and ``process_request``: a counting pass, then the
   streamed rewrite of ``events.parquet`` into a temporary file and ``os.replace``.

Prints one markdown table (seconds, peak RSS, rows found / removed).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
POLICY = REPO / "policies" / "wechat_shop.yaml"
PURPOSE = "marketing.advertising.profiling"
SEED = b"rights-benchmark"
SUBJECT = 42  # the raw id o00000042 is the subject of both requests


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def _setup() -> tuple[Any, Any]:
    from privacy_profile.ingest import KeyRing
    from privacy_profile.policy import load_policy_file

    policy = load_policy_file(POLICY).policy
    return policy, KeyRing.development(policy, seed=SEED)


def phase_make(d: Path, rows: int, users: int, group_rows: int) -> dict[str, Any]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from privacy_profile.ingest.pseudonymize import Pseudonymizer

    store = d / "store"
    stamp = store / ".args.json"
    args = {"rows": rows, "users": users, "group_rows": group_rows}
    if stamp.is_file() and json.loads(stamp.read_text()) == args:
        return {"skipped": True}
    shutil.rmtree(store, ignore_errors=True)
    store.mkdir(parents=True)
    t0 = time.perf_counter()
    policy, keys = _setup()
    raw = [f"o{i:08d}" for i in range(users)]
    pseud = Pseudonymizer(keys).hash_matrix(raw, domain="marketing_analytics")
    names = pa.array(pseud.view(f"S{pseud.shape[1]}").ravel().astype(str))
    meta = {
        b"privacy_profile": json.dumps(
            {
                "policy": policy.name,
                "purpose": PURPOSE,
                "pseudonymization_domain": "marketing_analytics",
                "development_keys": "true",
            },
            sort_keys=True,
        ).encode()
    }
    users_t = pa.table({"openid": names, "channel": pa.array(["ads"] * users)})
    pq.write_table(users_t.replace_schema_metadata(meta), store / "users.parquet")
    rng = np.random.default_rng(1)
    schema = pa.schema(
        [
            ("openid", pa.string()),
            ("event_type", pa.string()),
            ("item_id", pa.string()),
            ("category", pa.string()),
            ("ts", pa.timestamp("us")),
        ],
        metadata=meta,
    )
    kinds = pa.array(["view", "cart", "fav", "search", "share"])
    cats = pa.array(["女装", "男装", "美妆", "母婴", "数码", "家居", "食品", "运动"])
    items = pa.array([f"i{i:06d}" for i in range(50_000)])
    start = np.datetime64("2026-01-01T00", "us")
    with pq.ParquetWriter(store / "events.parquet", schema) as w:
        done = 0
        while done < rows:
            n = min(group_rows, rows - done)
            who = rng.integers(0, users, n)
            ts = start + rng.integers(0, 330 * 24, n).astype("timedelta64[h]")
            w.write_table(
                pa.table(
                    {
                        "openid": names.take(pa.array(who)),
                        "event_type": kinds.take(pa.array(rng.integers(0, 5, n))),
                        "item_id": items.take(pa.array(rng.integers(0, 50_000, n))),
                        "category": cats.take(pa.array(rng.integers(0, 8, n))),
                        "ts": pa.array(ts),
                    },
                    schema=schema,
                ),
                row_group_size=group_rows,
            )
            done += n
    stamp.write_text(json.dumps(args))
    size = (store / "events.parquet").stat().st_size
    return {"seconds": time.perf_counter() - t0, "events_mib": size / 2**20}


def phase_request(d: Path, kind: str) -> dict[str, Any]:
    from privacy_profile.lineage.runlog import RunLog
    from privacy_profile.rights import RightsRegister, process_request

    policy, keys = _setup()
    reg_path = d / f"{kind}.sqlite"
    reg_path.unlink(missing_ok=True)
    export = d / "export" if kind == "access" else None
    with RightsRegister(reg_path, policy, run_log=RunLog(d / "runlog.jsonl")) as reg:
        t0 = time.perf_counter()
        req = reg.submit(kind, f"o{SUBJECT:08d}", keys)
        out = process_request(reg, req.request_id, stores=[d / "store"], export_dir=export)
        seconds = time.perf_counter() - t0
    found = out.summary.get("rows_found", out.summary.get("store_rows_removed"))
    return {"seconds": seconds, "peak_mib": _peak_mib(), "rows": found}


def _child(phase: str, a: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--phase", phase, "--dir", str(a.dir)]
    cmd += ["--rows", str(a.rows), "--users", str(a.users), "--group-rows", str(a.group_rows)]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--group-rows", type=int, default=1_048_576)
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--phase", choices=["make", "access", "erase"])
    a = ap.parse_args()
    a.dir.mkdir(parents=True, exist_ok=True)
    if a.phase == "make":
        print(json.dumps(phase_make(a.dir, a.rows, a.users, a.group_rows)))
        return
    if a.phase is not None:
        print(json.dumps(phase_request(a.dir, a.phase)))
        return
    made = _child("make", a)
    access = _child("access", a)
    erase = _child("erase", a)
    print(f"events: {a.rows:,} rows, {a.users:,} users; make: {made}")
    print("| request | seconds | peak RSS (MiB) | rows found / removed |")
    print("|---|---:|---:|---:|")
    for name, r in (("access", access), ("erase", erase)):
        print(f"| {name} | {r['seconds']:.1f} | {r['peak_mib']:.0f} | {r['rows']} |")


if __name__ == "__main__":
    main()
