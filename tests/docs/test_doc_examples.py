"""Every ```python block in README.md and docs/*.md runs as written.

Blocks of one file run in order in one namespace, in a scratch directory where `policies/`
points at the repository's policies (so examples can say `load_policy("policies/...")`).
Mark a block ```text if it is not meant to run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text(encoding="utf-8")) if path.exists() else []


WITH_CODE = [p for p in DOCS if _blocks(p)]


@pytest.mark.parametrize("path", WITH_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_doc_code_blocks_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "policies").symlink_to(ROOT / "policies")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__doc_example__"}
    for i, code in enumerate(_blocks(path)):
        try:
            exec(compile(code, f"{path.name}[block {i}]", "exec"), namespace)
        except Exception as e:  # pragma: no cover - the failure message is the point
            raise AssertionError(f"{path.relative_to(ROOT)} block {i} failed: {e!r}") from e


def test_some_docs_have_runnable_examples() -> None:
    assert len(WITH_CODE) >= 1
    assert os.path.isdir(ROOT / "docs")
