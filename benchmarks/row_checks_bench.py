"""What the per-row checks and the free-text re-scan add to ``sanitize`` (issue 14, item 9).

    python benchmarks/row_checks_bench.py --users 5000 [--no-scanner]

Generates the seeded demo shop, runs ``sanitize`` once with the policy's PII scanner and times
the whole call, the per-row checks of ``ingest/row_checks.py`` (identifier index and phone
shape over every kept cell, both scans of free text) and, inside them, the re-scan alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from privacy_profile.demo import generate_demo_data
from privacy_profile.ingest import KeyRing, row_checks, sanitize
from privacy_profile.pii.for_policy import scanner_for
from privacy_profile.policy import load_policy_file

ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
PURPOSE = "marketing.advertising.profiling"


def timed(fn: Callable[..., Any], into: list[float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - t0)

    return wrapper


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=5000)
    ap.add_argument("--no-scanner", action="store_true")
    args = ap.parse_args()
    policy = load_policy_file(ROOT / "policies" / "wechat_shop.yaml").policy
    checks: list[float] = []
    rescans: list[float] = []
    sanitize_module = importlib.import_module("privacy_profile.ingest.sanitize")
    sanitize_module.check_rows = timed(row_checks.check_rows, checks)
    row_checks.rescan = timed(row_checks.rescan, rescans)  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as d:
        data = generate_demo_data(Path(d), n_users=args.users, seed=5, now=NOW, policy=policy)
        scanner = None if args.no_scanner else scanner_for(policy)
        t0 = time.perf_counter()
        res = sanitize(
            data.input_dir, policy, PURPOSE, KeyRing.development(policy), now=NOW, scanner=scanner
        )
        total = time.perf_counter() - t0
    rows = sum(t.input_rows for t in res.report.tables.values())
    print(f"users {args.users}, input rows {rows:,}, scanner {'off' if scanner is None else 'on'}")
    print(f"sanitize {total:.2f} s; per-row checks {sum(checks):.2f} s "
          f"({sum(checks) / total:.1%}); of which re-scan {sum(rescans):.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
