"""Fixtures of the reliability tests; helpers live in _rel_helpers.py."""

from __future__ import annotations

import pytest
from _rel_helpers import SmallShop, make_shop


@pytest.fixture(scope="session")
def small_shop(tmp_path_factory: pytest.TempPathFactory) -> SmallShop:
    return make_shop(tmp_path_factory.mktemp("shop"))
