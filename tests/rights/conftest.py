"""Fixtures of the rights tests: one small shop per module."""

from __future__ import annotations

import pytest
from _rights_helpers import World, make_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("rights"))
