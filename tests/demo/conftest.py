"""Fixtures for the demo data generator: one small data set generated once per module."""

from __future__ import annotations

import pandas as pd
import pytest
from demo_env import N_USERS, NOW, REPO_ROOT

from privacy_profile.demo import DemoDataset, generate_demo_data
from privacy_profile.policy import Policy, load_policy


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(REPO_ROOT / "policies" / "wechat_shop.yaml")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory, policy: Policy) -> DemoDataset:
    out = tmp_path_factory.mktemp("demo")
    return generate_demo_data(out, n_users=N_USERS, seed=7, now=NOW, policy=policy)


@pytest.fixture(scope="session")
def tables(demo: DemoDataset) -> dict[str, pd.DataFrame]:
    """Each table as text, blanks as empty strings (what a CSV reader sees)."""
    return {
        name: pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        for name, path in demo.paths.items()
    }
