"""What a reservation's lease costs: the time of one renewal (``Reservation.renew``, one locked
transaction) and of one charge drawn on the reservation, on a SQLite file and, when a URL is
given, on PostgreSQL. Median and 95th percentile over ``--n`` calls.

    .venv/bin/python benchmarks/ledger_lease_bench.py [--n 500] [--postgres postgresql://...]

A run renews every third of its lease (100 s with the default 5 minutes), so the heartbeat's
load on a shared ledger is about one small transaction per open run every 100 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from privacy_profile.dp import BudgetLedger, BudgetWindow, PrivacyLoss


def _timed(n: int, call: Callable[[], object]) -> tuple[float, float]:
    """Median and 95th percentile of ``n`` calls, in milliseconds."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def bench(where: str, n: int) -> dict[str, tuple[float, float]]:
    dataset = f"bench-{uuid.uuid4().hex[:8]}"
    with BudgetLedger.open(
        where,
        dataset=dataset,
        budget=PrivacyLoss(epsilon=float(n), delta=1e-6),
        window=BudgetWindow.lifetime(),
    ) as ledger:
        reservation = ledger.reserve("bench", PrivacyLoss(epsilon=float(n)), heartbeat=False)
        renew = _timed(n, reservation.renew)

        def charge() -> None:
            ledger.charge(
                run_id="bench",
                mechanism="laplace",
                loss=PrivacyLoss(epsilon=0.5),
                sensitivity=1.0,
                label="c",
            )

        drawn = _timed(n, charge)
        reservation.close()
    return {"renew": renew, "charge": drawn}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--postgres", default=None, help="a postgresql:// URL (no password)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stores = {"sqlite": str(Path(tmp) / "ledger.sqlite")}
        if args.postgres:
            stores["postgresql"] = args.postgres
        for name, where in stores.items():
            for op, (median, p95) in bench(where, args.n).items():
                print(f"{name:10} {op:6}  median {median:.2f} ms  p95 {p95:.2f} ms  (n={args.n})")


if __name__ == "__main__":
    main()
