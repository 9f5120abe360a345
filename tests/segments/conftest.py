"""Fixtures for the tests; helpers live in _segments_helpers.py."""

from __future__ import annotations

import pandas as pd
import pytest
from _segments_helpers import REPO, SPEC_YAML, parse_spec, synth_tables

from privacy_profile.dp import BudgetLedger, BudgetWindow, DPRandom, PrivacyLoss
from privacy_profile.policy.loader import load_policy
from privacy_profile.policy.model import Policy
from privacy_profile.segments import SegmentationSpec


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(REPO / "policies" / "wechat_shop.yaml")


@pytest.fixture
def spec() -> SegmentationSpec:
    return parse_spec(SPEC_YAML)


@pytest.fixture
def ledger() -> BudgetLedger:
    return BudgetLedger.in_memory(
        dataset="test",
        budget=PrivacyLoss(epsilon=1000.0, delta=1e-3),
        window=BudgetWindow.lifetime(),
    )


@pytest.fixture
def rng() -> DPRandom:
    return DPRandom.for_testing(7)


@pytest.fixture(scope="session")
def tables() -> dict[str, pd.DataFrame]:
    return synth_tables()
