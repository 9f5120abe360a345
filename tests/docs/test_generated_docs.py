"""Generated references are committed and up to date; every CLI command is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from privacy_profile._docgen import cli_commands, generated_files

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "path", list(generated_files(ROOT)), ids=lambda p: str(p.relative_to(ROOT))
)
def test_generated_file_is_fresh(path: Path) -> None:
    expected = generated_files(ROOT)[path]
    assert path.exists(), f"{path} is missing: run `python scripts/gen_docs.py`"
    assert path.read_text(encoding="utf-8") == expected, (
        f"{path.relative_to(ROOT)} is stale: run `python scripts/gen_docs.py` and commit"
    )


def test_every_cli_command_is_documented_and_tested() -> None:
    cli_doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    tests_text = "\n".join(
        p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("test_*.py")
    )
    for path, cmd in cli_commands():
        name = " ".join(path)
        assert f"## `privacy-profile {name}`" in cli_doc
        assert cmd.help, f"command {name!r} has no help text"
        # each command is invoked by some test as a list of its words
        words = ", ".join(f'"{w}"' for w in path)
        assert words in tests_text, f"no test invokes `privacy-profile {name}`"
