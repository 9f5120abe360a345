"""Issue 14 item 2: `sanitize --out` never deletes user data. The folder must be new, empty or a
previous output of this tool (its marker lists every file); anything else is refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from _rel_helpers import POLICY, PURPOSE, SmallShop
from typer.testing import CliRunner

from privacy_profile._paths import OUTPUT_MARKER
from privacy_profile.cli import app

runner = CliRunner()


def _sanitize(shop: SmallShop, out: str | Path) -> tuple[int, str]:
    args = ["sanitize", "--policy", str(POLICY), "--purpose", PURPOSE, "--dev-keys"]
    result = runner.invoke(app, [*args, "--input", str(shop.input_dir), "--out", str(out)])
    assert "Traceback" not in result.output + result.stderr
    return result.exit_code, result.stderr


def test_new_folder_then_replace_previous_output(small_shop: SmallShop, tmp_path: Path) -> None:
    out = tmp_path / "san"
    assert _sanitize(small_shop, out)[0] == 0
    assert (out / OUTPUT_MARKER).is_file()
    for p in out.rglob("*"):
        if p.is_file():
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    assert _sanitize(small_shop, out)[0] == 0  # a previous output is replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["san"]  # nothing left behind


def test_empty_folder_is_used(small_shop: SmallShop, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    assert _sanitize(small_shop, out)[0] == 0
    assert (out / "orders.parquet").is_file()


def test_foreign_folder_is_refused_and_untouched(small_shop: SmallShop, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("years of work", encoding="utf-8")
    code, stderr = _sanitize(small_shop, out)
    assert code == 1 and "refusing to replace" in stderr
    assert (out / "thesis.docx").read_text(encoding="utf-8") == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_user_file_added_to_a_previous_output_is_kept(
    small_shop: SmallShop, tmp_path: Path
) -> None:
    out = tmp_path / "san"
    assert _sanitize(small_shop, out)[0] == 0
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    code, stderr = _sanitize(small_shop, out)
    assert code == 1 and "notes.txt" in stderr
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_out_is_a_file(small_shop: SmallShop, tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    target.write_text("a,b\n", encoding="utf-8")
    code, stderr = _sanitize(small_shop, target)
    assert code == 1 and "is a file" in stderr
    assert target.read_text(encoding="utf-8") == "a,b\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv"]


def test_out_is_the_current_folder(
    small_shop: SmallShop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("keep.txt").write_text("x", encoding="utf-8")
    code, stderr = _sanitize(small_shop, ".")
    assert code == 1 and "current folder" in stderr
    assert os.listdir(tmp_path) == ["keep.txt"]
