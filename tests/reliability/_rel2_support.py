"""Helpers of the reserve-then-spend and atomic-release tests: a small generated shop, one
engine run, and the entry points of the child processes (spawn imports them by name)."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
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
SHOP_POLICY = ROOT / "policies" / "wechat_shop.yaml"
PURPOSE = "marketing.advertising.profiling"


def _segments_only_policy() -> Path:
    """The shop policy without its `analytics` section (10 epsilon per 30 days; a run spends
    4.5 on segments): these tests are about reserving and publishing a run, and their figures
    (charges, files) are the segment stage's. Written once per content next to the temp dir."""
    import hashlib

    from ruamel.yaml import YAML

    text = SHOP_POLICY.read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"pp-rel2-policy-{digest}.yaml"
    if not path.is_file():
        yaml = YAML()
        doc = yaml.load(text)
        doc.pop("analytics", None)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            yaml.dump(doc, f)
        os.replace(tmp, path)
    return path


POLICY = _segments_only_policy()
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
    except BaseException as e:  # report, so the parent fails at once instead of waiting
        results.put((run_id, "error", f"{type(e).__name__}: {e}"))
        raise
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
