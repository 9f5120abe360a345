"""The ``slow`` marker: declared, used on the heavy end-to-end tests, and not deselected by
default (``make test`` runs everything; ``-m "not slow"`` is the quick run)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("tests/engine/test_end_to_end.py", "tests/engine/test_public_data_e2e.py")


def _pytest_options() -> dict[str, object]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    options: dict[str, object] = data["tool"]["pytest"]["ini_options"]
    return options


def test_slow_is_declared_and_not_deselected_by_default() -> None:
    options = _pytest_options()
    markers = [str(m) for m in options["markers"]]  # type: ignore[attr-defined]
    assert any(m.startswith("slow:") for m in markers)
    assert "-m" not in str(options.get("addopts", "")).split()


@pytest.mark.parametrize("path", HEAVY)
def test_heavy_end_to_end_modules_are_marked_slow(path: str) -> None:
    assert "pytestmark = pytest.mark.slow" in (ROOT / path).read_text(encoding="utf-8")
