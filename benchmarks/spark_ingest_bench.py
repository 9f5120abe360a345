"""Ingestion on pandas vs Spark local[N]: generated mini-program data through ``sanitize``.

    .venv/bin/python benchmarks/spark_ingest_bench.py --users 25000 --events-per-user 40 \\
        --dir /tmp/spark1m

Generates the inputs once (policies/wechat_shop.yaml's tables, as benchmarks/e2e_bench.py
does), then runs :func:`privacy_profile.ingest.sanitize` in a fresh child process per engine
(``pandas``; ``spark`` with ``SparkBackend`` on ``local[N]``, session start included and
reported apart), and prints wall time, rows and peak resident memory: the child's own
(``ru_maxrss``) and its whole process tree's (sampled twice a second from /proc: for Spark the
driver, the JVM and its Python workers). ``--generate-only`` writes the inputs and stops; each
engine can be run alone with ``--child pandas|spark``. Both engines must give the same
accepted and quarantined counts (checked).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
POLICY = REPO / "policies" / "wechat_shop.yaml"
PURPOSE = "marketing.advertising.profiling"
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


def _generate(d: Path, users: int, per_user: float) -> int:
    from privacy_profile.demo import generate_demo_data
    from privacy_profile.policy import load_policy_file

    stamp = d / "input" / ".bench.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == [users, per_user]:
        return int(json.loads((d / "input" / ".rows.json").read_text()))
    policy = load_policy_file(POLICY).policy
    data = generate_demo_data(
        d, n_users=users, seed=1, now=NOW, policy=policy, events_per_user=per_user
    )
    rows = sum(1 for _ in (data.input_dir / "events.csv").open(encoding="utf-8")) - 1
    (d / "input" / ".rows.json").write_text(json.dumps(rows))
    stamp.write_text(json.dumps([users, per_user]))
    return rows


def _tree_rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants (Linux /proc): for Spark the driver,
    its JVM and the JVM's Python workers."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total / 1024


class _TreeSampler(threading.Thread):
    """Samples the process tree's resident memory twice a second; ``peak`` is the largest."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            self.peak = max(self.peak, _tree_rss_mib(os.getpid()))


def _child(engine: str, d: Path, master: str) -> dict[str, Any]:
    from privacy_profile import scanner_for
    from privacy_profile.ingest import KeyRing
    from privacy_profile.ingest.sanitize import sanitize
    from privacy_profile.policy import load_policy_file

    loaded = load_policy_file(POLICY)
    keys = KeyRing.development(loaded.policy, seed=b"bench")
    backend, start_s = None, 0.0
    sampler = _TreeSampler()
    sampler.start()
    if engine == "spark":
        from privacy_profile.spark import SparkBackend, spark_session

        t0 = time.perf_counter()
        spark = spark_session(master)
        start_s = time.perf_counter() - t0
        backend = SparkBackend(spark)
    t0 = time.perf_counter()
    res = sanitize(
        d / "input",
        loaded,
        PURPOSE,
        keys,
        now=NOW,
        scanner=scanner_for(loaded.policy),
        backend=backend,
    )
    seconds = time.perf_counter() - t0
    sampler.stop.set()
    tree_peak = max(sampler.peak, _tree_rss_mib(os.getpid()))
    if engine == "spark":
        spark.stop()
    t = res.report.tables
    return {
        "engine": engine if engine == "pandas" else f"spark {master}",
        "session_start_s": round(start_s, 1),
        "sanitize_s": round(seconds, 1),
        "accepted": {k: v.accepted_rows for k, v in t.items()},
        "quarantined": {k: v.quarantined_rows for k, v in t.items()},
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "tree_peak_mib": round(tree_peak),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=25_000)
    ap.add_argument("--events-per-user", type=float, default=40)
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--child", choices=["pandas", "spark"])
    ap.add_argument("--generate-only", action="store_true", help="write the inputs and stop")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(_child(a.child, a.dir, a.master)))
        return
    a.dir.mkdir(parents=True, exist_ok=True)
    rows = _generate(a.dir, a.users, a.events_per_user)
    if a.generate_only:
        print(f"events: {rows} in {a.dir / 'input'}")
        return
    out = []
    for engine in ("pandas", "spark"):
        cmd = [sys.executable, __file__, "--child", engine, "--dir", str(a.dir)]
        cmd += ["--master", a.master]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        r["process_s"] = round(time.perf_counter() - t0, 1)
        out.append(r)
    p, s = out
    assert p["accepted"] == s["accepted"] and p["quarantined"] == s["quarantined"], out
    print(f"events: {rows}; load: {Path('/proc/loadavg').read_text().split()[:3]}")
    print(
        "| engine | sanitize s | session start s | process s | peak MiB (driver process) "
        "| peak MiB (process tree) |"
    )
    print("|---|---|---|---|---|---|")
    for r in out:
        print(
            f"| {r['engine']} | {r['sanitize_s']} | {r['session_start_s']} | {r['process_s']} "
            f"| {r['peak_mib']} | {r['tree_peak_mib']} |"
        )
    print(f"ratio spark/pandas (sanitize): {s['sanitize_s'] / max(p['sanitize_s'], 0.1):.2f}")


if __name__ == "__main__":
    main()
