"""End-to-end benchmark: generated mini-program data through ``sanitize_then_segment``.

    .venv/bin/python benchmarks/e2e_bench.py --users 250000 --events-per-user 40 --dir /tmp/e2e10m

Each phase runs in its own child process, so each peak resident set (``ru_maxrss``) is the
phase's own:

1. ``generate``: :func:`privacy_profile.demo.generate_demo_data` writes ``users``, ``events``,
   ``orders`` and ``consents`` CSV files under ``DIR/input`` (policies/wechat_shop.yaml's
   columns; ~0.2 % messy rows). Events are Poisson(activity x events-per-user) per user, so the
   event count is close to, not exactly, users x events-per-user; the figure printed is exact.
   Skipped when ``DIR/input`` already holds the files for the same arguments.
2. ``read``: the four files read alone with the ingestion reader (the same reader the sanitize
   stage uses; the figure is part of, not added to, the sanitize stage).
3. ``run``: :func:`privacy_profile.engine.sanitize_then_segment` with development keys, the
   policy's PII scanner and a fresh SQLite ledger; prints the engine's ``stage_seconds``.

``--profile`` runs phase 3 under pyinstrument and writes ``DIR/profile.txt`` / ``.html``.
Prints one markdown table; ``--json`` also writes the figures to ``DIR/figures.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
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
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def phase_generate(d: Path, users: int, per_user: float, seed: int) -> dict[str, Any]:
    from privacy_profile.demo import generate_demo_data
    from privacy_profile.policy import load_policy_file

    stamp = d / "input" / ".args.json"
    args = {"users": users, "events_per_user": per_user, "seed": seed}
    if stamp.is_file() and json.loads(stamp.read_text()) == args:
        rows = json.loads((d / "input" / ".rows.json").read_text())
        return {"seconds": None, "rows": rows, "peak_mib": None, "reused": True}
    if (d / "input").exists():
        shutil.rmtree(d / "input")
    t0 = time.perf_counter()
    policy = load_policy_file(POLICY).policy
    data = generate_demo_data(
        d, n_users=users, seed=seed, now=NOW, policy=policy, events_per_user=per_user
    )
    seconds = time.perf_counter() - t0
    rows = dict(data.rows)
    (d / "input" / ".rows.json").write_text(json.dumps(rows))
    stamp.write_text(json.dumps(args))
    return {"seconds": seconds, "rows": rows, "peak_mib": _peak_mib(), "reused": False}


def phase_read(d: Path) -> dict[str, Any]:
    from privacy_profile.ingest.readers import read_table
    from privacy_profile.policy import load_policy_file

    policy = load_policy_file(POLICY).policy
    out: dict[str, Any] = {}
    for name, spec in policy.tables.items():
        t0 = time.perf_counter()
        n = sum(
            len(chunk.frame) for chunk in read_table(d / "input" / spec.file_name(name), name, spec)
        )
        out[name] = {"rows": n, "seconds": time.perf_counter() - t0}
    out["peak_mib"] = _peak_mib()
    return out


def phase_run(d: Path, profile: bool) -> dict[str, Any]:
    from privacy_profile import open_ledger, sanitize_then_segment, scanner_for
    from privacy_profile.ingest import KeyRing
    from privacy_profile.policy import load_policy_file

    runs = d / "out"
    if runs.exists():
        shutil.rmtree(runs)
    runs.mkdir(parents=True)
    loaded = load_policy_file(POLICY)
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.01)
        profiler.start()
    t0 = time.perf_counter()
    scanner = scanner_for(loaded.policy)
    scanner_seconds = time.perf_counter() - t0
    with open_ledger(runs / "ledger.sqlite", loaded.policy) as ledger:
        release = sanitize_then_segment(
            d / "input",
            loaded,
            PURPOSE,
            KeyRing.development(loaded.policy),
            ledger,
            runs,
            scanner=scanner,
            now=NOW,
        )
    total = time.perf_counter() - t0
    if profiler is not None:
        profiler.stop()
        (d / "profile.txt").write_text(profiler.output_text(unicode=True, show_all=False))
        (d / "profile.html").write_text(profiler.output_html())
    ingest = release.ingest
    return {
        "seconds": total,
        "scanner_seconds": scanner_seconds,
        "stage_seconds": dict(release.stage_seconds),
        "peak_mib": _peak_mib(),
        "reconciles": ingest.reconciles(),
        "tables": {
            t: {"input": r.input_rows, "accepted": r.accepted_rows}
            for t, r in ingest.tables.items()
        },
        "released_segments": int((~release.segments["suppressed"].astype(bool)).sum()),
        "personas_rows": len(release.personas),
    }


def _child(phase: str, a: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--phase", phase, "--dir", str(a.dir)]
    cmd += ["--users", str(a.users), "--events-per-user", str(a.events_per_user)]
    cmd += ["--seed", str(a.seed)] + (["--profile"] if a.profile else [])
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=25_000)
    ap.add_argument("--events-per-user", type=float, default=40.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/privacy_profile_e2e"))
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--phase", choices=("generate", "read", "run"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.dir.mkdir(parents=True, exist_ok=True)
    if a.phase is not None:  # child process: one phase, figures as the last stdout line
        if a.phase == "generate":
            r = phase_generate(a.dir, a.users, a.events_per_user, a.seed)
        elif a.phase == "read":
            r = phase_read(a.dir)
        else:
            r = phase_run(a.dir, a.profile)
        print(json.dumps(r))
        return

    load_before = _load()
    gen = _child("generate", a)
    read = _child("read", a)
    run = _child("run", a)
    load_after = _load()
    rows = gen["rows"]
    print(f"rows: {rows} (events {rows['events']:,}); load average before {load_before}, "
          f"after {load_after}\n")  # fmt: skip
    lines = ["| phase / stage | seconds | peak RSS (MiB) |", "|---|---|---|"]
    if gen["reused"]:
        lines.append("| generate (CSV files) | (reused) | |")
    else:
        lines.append(f"| generate (CSV files) | {gen['seconds']:.1f} | {gen['peak_mib']:.0f} |")
    read_s = sum(v["seconds"] for k, v in read.items() if k != "peak_mib")
    peak = read["peak_mib"]
    lines.append(f"| read the 4 files alone (inside sanitize) | {read_s:.1f} | {peak:.0f} |")
    lines.append(f"| build the PII scanner | {run['scanner_seconds']:.1f} | |")
    for stage, s in run["stage_seconds"].items():
        lines.append(f"| engine: {stage} | {s:.1f} | |")
    lines.append(f"| **engine total** | **{run['seconds']:.1f}** | **{run['peak_mib']:.0f}** |")
    print("\n".join(lines))
    print(f"\nreconciles: {run['reconciles']}; released segment rows: {run['released_segments']}")
    if a.json:
        figures = {"gen": gen, "read": read, "run": run, "load": [load_before, load_after]}
        (a.dir / "figures.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
