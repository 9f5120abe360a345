"""Order independence (issue 13, item 3): released groups come out in sorted key order (private
selection) or declared order (public groups), never in order of first appearance; with a fixed
seed, permuting the input rows gives the identical output (bounding's random choices and the
noise are tied to sorted codes, not to row positions; grid sums are exact integers)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from privacy_profile.dp import (
    Aggregation,
    Bounds,
    BudgetLedger,
    DPRandom,
    MetricSpec,
    PrivacyLoss,
    PrivacyUnit,
    PrivateSelection,
    PublicGroups,
    dp_aggregate,
)

B = Bounds(lower=0.0, upper=100.0)
METRICS = [
    MetricSpec(aggregation=Aggregation.PRIVACY_ID_COUNT),
    MetricSpec(aggregation=Aggregation.SUM, column="amount", bounds=B),
    MetricSpec(aggregation=Aggregation.MEAN, column="amount", bounds=B),
]


def data() -> pd.DataFrame:
    g = np.random.default_rng(3)
    n = 6000
    user = g.integers(0, 800, n)
    return pd.DataFrame(
        {
            "user": [f"u{u:04d}" for u in user],
            "city": g.choice(["zz", "b", "yy", "a", "m"], size=n),
            "seg": g.choice([3, 1, 2], size=n),
            # one row per (user, city, seg) pair at most matters for row sampling; the per-user
            # group cap (2) is exceeded, so bounding's group choice is exercised
            "amount": np.round(g.uniform(-10, 120, n), 2),
        }
    ).drop_duplicates(subset=["user", "city", "seg"], ignore_index=True)


def run(df: pd.DataFrame, ledger: BudgetLedger, groups: Any) -> pd.DataFrame:
    return dp_aggregate(
        df,
        unit=PrivacyUnit(column="user", max_groups_contributed=2, max_rows_per_group=1),
        by=["city", "seg"],
        metrics=METRICS,
        loss=PrivacyLoss(epsilon=2.0, delta=1e-5),
        ledger=ledger,
        run_id="o",
        groups=groups,
        threshold=0,
        rng=DPRandom.for_testing(21),
    ).table


@pytest.mark.parametrize("kind", ["private", "public"])
def test_permuting_rows_gives_identical_output(ledger: BudgetLedger, kind: str) -> None:
    df = data()
    groups: Any = (
        PrivateSelection()
        if kind == "private"
        else PublicGroups.of([(c, s) for c in ("m", "a", "zz", "b", "yy") for s in (2, 3, 1)])
    )
    first = run(df, ledger, groups)
    assert len(first) >= 5
    for seed in (1, 2):
        perm = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        pd.testing.assert_frame_equal(run(perm, ledger, groups), first)
    keys = list(zip(first.city, first.seg, strict=True))
    if kind == "private":
        assert keys == sorted(keys)
    else:
        assert keys == list(groups.keys)  # the declared order: data-independent


def test_private_selection_order_is_sorted_not_first_appearance(ledger: BudgetLedger) -> None:
    df = pd.DataFrame({"user": np.arange(300), "k": np.repeat(["c", "a", "b"], 100)})
    t = dp_aggregate(
        df,
        unit=PrivacyUnit.one_row_per_unit("user"),
        by=["k"],
        metrics=[],
        loss=PrivacyLoss(epsilon=5.0, delta=1e-6),
        ledger=ledger,
        run_id="o",
        groups=PrivateSelection(),
        threshold=0,
        rng=DPRandom.for_testing(0),
    ).table
    assert t.k.tolist() == ["a", "b", "c"]
