"""Helpers of the reserve-then-spend and atomic-release tests: a small generated shop, one
engine run, and the entry points of the child processes (spawn imports them by name)."""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privacy_profile.demo import generate_demo_data
from privacy_profile.dp import DPRandom
from privacy_profile.dp.policy_ledger import open_ledger
from privacy_profile.engine import Release, sanitize_then_segment
from privacy_profile.errors import PrivacyProfileError
from privacy_profile.ingest import KeyRing
from privacy_profile.policy import LoadedPolicy, load_policy_file

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "wechat_shop.yaml"  # 10 epsilon per 30 days; a run spends 4.5
PURPOSE = "marketing.advertising.profiling"
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
RUN_EPSILON = 4.5


@dataclass(frozen=True)
class Shop:
    input_dir: Path
    loaded: LoadedPolicy


def make_shop(root: Path) -> Shop:
    loaded = load_policy_file(POLICY)
    data = generate_demo_data(root, n_users=1000, seed=3, now=NOW, policy=loaded.policy)
    return Shop(data.input_dir, loaded)


def run(shop: Shop, out: Path, run_id: str, **kw: Any) -> Release:
    out.mkdir(parents=True, exist_ok=True)
    with open_ledger(out / "ledger.sqlite", shop.loaded.policy) as ledger:
        return sanitize_then_segment(
            shop.input_dir,
            shop.loaded,
            PURPOSE,
            KeyRing.development(shop.loaded.policy, seed=b"rel2"),
            ledger,
            out,
            rng=DPRandom.for_testing(7),
            now=NOW,
            run_id=run_id,
            **kw,
        )


def race_child(input_dir: str, out: str, run_id: str, barrier: Any, results: Any) -> None:
    """One of the racing processes: wait for the others, then run; report the outcome."""
    shop = Shop(Path(input_dir), load_policy_file(POLICY))
    barrier.wait()
    try:
        run(shop, Path(out), run_id)
    except PrivacyProfileError as e:
        results.put((run_id, "refused", e.message))
    else:
        results.put((run_id, "released", ""))


def killed_child(input_dir: str, out: str, run_id: str, flag: str) -> None:
    """Run until the release stage is done, say so in ``flag``, then wait to be killed."""
    shop = Shop(Path(input_dir), load_policy_file(POLICY))

    def progress(stage: str, state: str) -> None:
        if (stage, state) == ("release", "done"):
            Path(flag).write_text(str(os.getpid()), encoding="utf-8")
            while True:
                time.sleep(1)

    run(shop, Path(out), run_id, progress=progress)
