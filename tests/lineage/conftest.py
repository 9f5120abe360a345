"""Fixtures for the lineage tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from _lineage_helpers import Run, make_run


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return make_run(tmp_path)
