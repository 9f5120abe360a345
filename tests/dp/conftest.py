"""Fixtures for the DP tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from privacy_profile.dp import BudgetLedger, BudgetWindow, PrivacyLoss


@pytest.fixture
def ledger() -> BudgetLedger:
    """An in-memory ledger with a large but finite budget (tests only)."""
    return BudgetLedger.in_memory(
        dataset="test",
        budget=PrivacyLoss(epsilon=1e9, delta=0.5),
        window=BudgetWindow.lifetime(),
    )


@pytest.fixture
def orders() -> pd.DataFrame:
    """Small multi-row data: 300 users, 1-20 orders each, 2 x 3 groups."""
    gen = np.random.default_rng(7)
    n_orders = gen.integers(1, 21, size=300)
    user = np.repeat(np.arange(300), n_orders)
    n = user.size
    return pd.DataFrame(
        {
            "user": user,
            "seg": np.where(gen.random(n) < 0.5, "a", "b"),
            "city": gen.choice(["x", "y", "z"], size=n),
            "amount": gen.uniform(-50, 150, size=n),
        }
    )
