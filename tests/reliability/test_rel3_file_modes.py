"""File modes by policy (issue 14, item 9): every file and folder a run or `sanitize` writes
gets the policy's ``output_access`` modes, checked by ``stat`` (before: marketing, analytics,
lineage and report files were 0644 under the usual umask, quarantine and activation 0600)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from _rel_helpers import POLICY, PURPOSE, SmallShop, run_once

from privacy_profile.ingest import KeyRing
from privacy_profile.ingest.write import sanitize_to_dir
from privacy_profile.policy import load_policy_file
from privacy_profile.policy.enums import OutputAccess

pytestmark = pytest.mark.slow  # two engine runs on 1,000 generated users


def _modes(root: Path) -> Iterator[tuple[Path, int, bool]]:
    yield root, stat.S_IMODE(root.stat().st_mode), True
    for p in sorted(root.rglob("*")):
        yield p, stat.S_IMODE(p.lstat().st_mode), p.is_dir()


def _with_access(small_shop: SmallShop, tmp_path: Path, access: str) -> SmallShop:
    text = POLICY.read_text(encoding="utf-8") + f"\noutput_access: {access}\n"
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return SmallShop(small_shop.input_dir, load_policy_file(path))


@pytest.mark.parametrize("access", [OutputAccess.OWNER, OutputAccess.GROUP])
def test_every_file_of_a_run_has_the_policys_mode(
    small_shop: SmallShop, tmp_path: Path, access: OutputAccess
) -> None:
    shop = (
        small_shop if access is OutputAccess.OWNER else _with_access(small_shop, tmp_path, "group")
    )
    assert shop.loaded.policy.output_access is access
    old = os.umask(0o022)  # the usual umask: files would otherwise be 0644
    try:
        release = run_once(shop, shop.input_dir, tmp_path / "out")
    finally:
        os.umask(old)
    seen = list(_modes(release.run_dir))
    files = [p for p, _, is_dir in seen if not is_dir]
    assert len(files) > 20  # marketing, analytics, report, activation, quarantine, lineage
    wrong = [
        (str(p.relative_to(release.run_dir.parent)), oct(mode))
        for p, mode, is_dir in seen
        if mode != (access.dir_mode if is_dir else access.file_mode)
    ]
    assert wrong == []
    runs = release.run_dir.parent
    assert stat.S_IMODE((runs / "runlog.jsonl").stat().st_mode) == access.file_mode
    assert stat.S_IMODE(runs.stat().st_mode) == access.dir_mode


def test_sanitize_output_has_the_policys_mode(small_shop: SmallShop, tmp_path: Path) -> None:
    shop = _with_access(small_shop, tmp_path, "group")
    out = sanitize_to_dir(
        shop.input_dir,
        shop.loaded,
        PURPOSE,
        KeyRing.development(shop.loaded.policy),
        tmp_path / "sanitized",
    )
    assert out.files
    for p, mode, is_dir in _modes(tmp_path / "sanitized"):
        assert mode == (0o750 if is_dir else 0o640), p
