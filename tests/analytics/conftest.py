"""Fixtures for the analytics tests: a ledger, seeded events and campaign tables."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from privacy_profile.demo.campaigns import CampaignTables, generate_campaign_tables
from privacy_profile.dp import BudgetLedger, BudgetWindow, PrivacyLoss

NOW = dt.datetime(2026, 11, 30, 12, 0, 0)
NOW_S = int((NOW - dt.datetime(1970, 1, 1)).total_seconds())


def iso(seconds: npt.NDArray[np.int64]) -> npt.NDArray[np.str_]:
    return np.datetime_as_string(np.asarray(seconds).astype("datetime64[s]"), unit="s")


@pytest.fixture
def ledger() -> BudgetLedger:
    """An in-memory ledger with a large but finite budget (tests only)."""
    return BudgetLedger.in_memory(
        dataset="test", budget=PrivacyLoss(epsilon=1e9, delta=0.5), window=BudgetWindow.lifetime()
    )


def funnel_events(n_users: int, seed: int = 3) -> pd.DataFrame:
    """Each user views; 40% of viewers add to cart within a day; half of those buy."""
    gen = np.random.default_rng(seed)
    users = np.arange(n_users)
    t0 = NOW_S - gen.integers(1, 60, n_users) * 86_400
    cart = gen.random(n_users) < 0.4
    buy = cart & (gen.random(n_users) < 0.5)
    late = gen.random(n_users) < 0.1  # bought, but 10 days later: outside a 7-day window
    rows = [
        pd.DataFrame({"u": users, "e": "view", "t": t0}),
        pd.DataFrame({"u": users[cart], "e": "cart", "t": t0[cart] + 3600}),
        pd.DataFrame(
            {
                "u": users[buy],
                "e": "buy",
                "t": np.where(late[buy], t0[buy] + 10 * 86_400, t0[buy] + 7200),
            }
        ),
        # a buy before any view does not count as a funnel step
        pd.DataFrame({"u": users[:50], "e": "buy", "t": t0[:50] - 86_400}),
    ]
    df = pd.concat(rows, ignore_index=True)
    df["u"] = "u" + df["u"].astype(str)
    df["t"] = iso(df["t"].to_numpy())
    return df.sample(frac=1.0, random_state=1).reset_index(drop=True)


@pytest.fixture
def campaigns() -> CampaignTables:
    openids = np.array([f"o{i:06d}" for i in range(20_000)])
    return generate_campaign_tables(11, openids, now_s=NOW_S, iso=iso)
