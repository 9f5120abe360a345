"""Development keys marked inside the released files' own metadata (issue 14, item 6), so a
file copied away from its run folder still says it was made with development keys; a run
with real keys carries no mark. Before: only the run's lineage and ingest report said so."""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from _rel_helpers import NOW, PURPOSE, SmallShop, run_once

from privacy_profile.dp.policy_ledger import open_ledger
from privacy_profile.engine import Release, sanitize_then_segment
from privacy_profile.ingest import KeyRing
from privacy_profile.lineage.audit import verify_run
from privacy_profile.lineage.dev_marking import DEV_KEYS_HTML_META, DEV_KEYS_METADATA_KEY
from privacy_profile.pii.for_policy import scanner_for
from privacy_profile.segments.outputs import DEV_KEYS_COLUMN

pytestmark = pytest.mark.slow  # two engine runs on 1,000 generated users


def _marks(path: Path) -> bool:
    """Whether a file, on its own, says it was made with development keys."""
    if path.suffix == ".parquet":
        md = pq.read_schema(path).metadata or {}
        return md.get(DEV_KEYS_METADATA_KEY.encode()) == b"true"
    if path.suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
        marked = list(frame.columns[:1]) == [DEV_KEYS_COLUMN]
        return marked and bool((frame[DEV_KEYS_COLUMN] == "true").all())
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8")).get(DEV_KEYS_COLUMN) is True
    if path.suffix == ".html":
        return DEV_KEYS_HTML_META in path.read_text(encoding="utf-8")
    raise AssertionError(f"unexpected released file {path}")


def _released(release: Release) -> list[Path]:
    files = [*release.marketing_files, *release.analytics_files, *release.activation_files]
    if release.report is not None:
        files.append(release.report)
    return files


def test_files_made_with_development_keys_say_so_after_a_copy(
    small_shop: SmallShop, tmp_path: Path
) -> None:
    release = run_once(small_shop, small_shop.input_dir, tmp_path / "out")
    assert release.development_keys
    files = _released(release)
    suffixes = {p.suffix for p in files}
    assert {".csv", ".parquet", ".json", ".html"} <= suffixes
    assert release.activation_files  # token files are marked too
    away = tmp_path / "copied"
    away.mkdir()
    for p in files:
        copy = away / f"{p.parent.name}-{p.name}"
        shutil.copy(p, copy)
        assert _marks(copy), copy.name
    # the marks are part of the released, hashed files: the audit passes
    report = verify_run(release.run_dir, ledger_path=tmp_path / "out" / "ledger.sqlite")
    assert report.event_types == ("START", "COMPLETE")


def test_files_made_with_real_keys_carry_no_mark(small_shop: SmallShop, tmp_path: Path) -> None:
    policy = small_shop.loaded.policy
    env = {
        f"PRIVACY_PROFILE_KEY_{n}": secrets.token_hex(32)
        for n in ("MARKETING", "REPORTING", "CUSTODIAN")
    }
    keys = KeyRing.from_policy(policy, env=env)
    assert not keys.is_development
    out = tmp_path / "out"
    out.mkdir()
    with open_ledger(out / "ledger.sqlite", policy) as ledger:
        release = sanitize_then_segment(
            small_shop.input_dir,
            small_shop.loaded,
            PURPOSE,
            keys,
            ledger,
            out,
            scanner=scanner_for(policy),
            now=NOW,
        )
    files = _released(release)
    assert files and not any(_marks(p) for p in files)
