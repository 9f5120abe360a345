"""Helpers for the reliability tests: a small generated shop, copied per test."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from privacy_profile.demo import generate_demo_data
from privacy_profile.dp.policy_ledger import open_ledger
from privacy_profile.engine import Release, sanitize_then_segment
from privacy_profile.ingest import KeyRing
from privacy_profile.pii.for_policy import scanner_for
from privacy_profile.policy import LoadedPolicy, load_policy_file

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "wechat_shop.yaml"
PURPOSE = "marketing.advertising.profiling"
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


@dataclass(frozen=True)
class SmallShop:
    input_dir: Path
    loaded: LoadedPolicy


def make_shop(root: Path, *, n_users: int = 1000, seed: int = 3) -> SmallShop:
    loaded = load_policy_file(POLICY)
    data = generate_demo_data(root, n_users=n_users, seed=seed, now=NOW, policy=loaded.policy)
    return SmallShop(data.input_dir, loaded)


def copy_inputs(shop: SmallShop, dest: Path) -> Path:
    shutil.copytree(shop.input_dir, dest)
    return dest


def run_once(shop: SmallShop, input_dir: Path, out: Path) -> Release:
    out.mkdir(parents=True, exist_ok=True)
    with open_ledger(out / "ledger.sqlite", shop.loaded.policy) as ledger:
        return sanitize_then_segment(
            input_dir,
            shop.loaded,
            PURPOSE,
            KeyRing.development(shop.loaded.policy),
            ledger,
            out,
            scanner=scanner_for(shop.loaded.policy),
            now=NOW,
        )
