"""Fixtures for the tests; helpers live in _ingest_helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from _ingest_helpers import (
    Shop,
    make_policy,
    write_shop,
)

from privacy_profile.ingest import KeyRing
from privacy_profile.policy.model import Policy


@pytest.fixture
def policy() -> Policy:
    return make_policy()


@pytest.fixture
def keys(policy: Policy) -> KeyRing:
    return KeyRing.development(policy, seed=b"tests")


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    return write_shop(tmp_path / "in")
