"""RFM, lifecycle and rule segments written once for pandas tables and kept rows: the shared
row-wise lifecycle stage against ``assign_lifecycle`` (precedence table and seeded shop data),
the pandas engine's kept rows (``LocalUnitRows``) against the pandas release, and the errors a
kept-rows release gives before spending anything."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from _segments_helpers import DEMO_COLUMNS, NOW

from privacy_profile.dp import Bounds, BudgetLedger, BudgetWindow, DPRandom, PrivacyLoss
from privacy_profile.errors import InputError, PolicyError
from privacy_profile.segments import compute_features
from privacy_profile.segments._common import ReleaseContext
from privacy_profile.segments.features import PREVIOUS_ACTIVE_DAY, FeatureParams, UnitFeatures
from privacy_profile.segments.lifecycle import (
    LifecycleParams,
    assign_lifecycle,
    lifecycle_stage,
    release_lifecycle,
)
from privacy_profile.segments.rfm import (
    RfmParams,
    release_rfm,
    rfm_population,
    rfm_population_rows,
)
from privacy_profile.segments.rules import (
    MEMBER_COLUMN,
    SEGMENT_COLUMN,
    evaluate_rule,
    mark_rule,
    parse_rule,
    rule_columns,
    rule_features,
)
from privacy_profile.segments.units import LocalUnitRows, UnitLabels, as_series

LIFE = LifecycleParams(
    new_within_days=30, active_within_days=30, returning_gap_days=60, churned_after_days=180
)
RUN_DAY = pd.Timestamp(NOW.date())


def _features(tables: dict[str, pd.DataFrame], before: int | None) -> UnitFeatures:
    return compute_features(
        tables,
        FeatureParams(
            unit_column="openid",
            now=NOW,
            lookback_days=730,
            columns=DEMO_COLUMNS,
            activity_before_days=before,
        ),
    )


def _with_previous_day(f: UnitFeatures) -> pd.DataFrame:
    """The kept rows' form of ``f``: the previous active day as a column of the table, from
    the reduced activity rows (one per unit)."""
    prev = f.activity.set_index("openid")["_day"]
    assert prev.index.is_unique
    return f.table.assign(
        **{PREVIOUS_ACTIVE_DAY: prev.reindex(f.table["openid"].to_numpy()).to_numpy()}
    )


def _ago(days: int | None) -> pd.Timestamp:
    return pd.NaT if days is None else RUN_DAY - pd.Timedelta(days=days)


# (days since first seen, since last seen, since the previous active day) -> stage
PRECEDENCE = [
    ((10, 5, 100), "new"),  # new wins over returning
    ((10, 200, None), "new"),  # and over churned
    ((400, 5, 100), "returning"),
    ((400, 29, 90), "returning"),  # previous day exactly at the gap's edge (30 + 60)
    ((400, 5, 89), "active"),  # inside the gap: not returning
    ((400, 5, None), "active"),
    ((400, 30, 200), "dormant"),  # last seen exactly at the active edge: not active
    ((400, 179, None), "dormant"),
    ((400, 180, None), "churned"),
]


def test_lifecycle_stage_precedence_agrees_with_assign_lifecycle() -> None:
    units = [f"u{i}" for i in range(len(PRECEDENCE))]
    frame = pd.DataFrame(
        {
            "openid": units,
            "first_seen": [_ago(c[0]) for c, _ in PRECEDENCE],
            "last_seen": [_ago(c[1]) for c, _ in PRECEDENCE],
            PREVIOUS_ACTIVE_DAY: [_ago(c[2]) for c, _ in PRECEDENCE],
        }
    )
    want = [stage for _, stage in PRECEDENCE]
    assert lifecycle_stage(frame, LIFE, now=NOW).tolist() == want
    # the same units as activity rows: the last and the previous active day (first seen may
    # be a registration day, without activity)
    activity = pd.DataFrame(
        {
            "openid": np.repeat(units, 2),
            "_day": [_ago(d) for c, _ in PRECEDENCE for d in c[1:]],
        }
    ).dropna()
    got = assign_lifecycle(frame, activity, LIFE, unit_column="openid", now=NOW)
    assert got.tolist() == want


@pytest.mark.parametrize(
    "life",
    [
        LIFE,
        LifecycleParams(
            new_within_days=7, active_within_days=14, returning_gap_days=21, churned_after_days=90
        ),
    ],
)
def test_lifecycle_stage_on_the_previous_day_column_equals_assign_lifecycle(
    tables: dict[str, pd.DataFrame], life: LifecycleParams
) -> None:
    full = _features(tables, None)
    reduced = _features(tables, life.active_within_days)
    want = assign_lifecycle(full.table, full.activity, life, unit_column="openid", now=NOW)
    got = lifecycle_stage(_with_previous_day(reduced), life, now=NOW)
    assert got.tolist() == want.tolist()
    # most stages occur (returning among them): the comparison covers the rules
    assert want.nunique() >= 4 and "returning" in set(want)


def _ctx(seed: int = 5) -> ReleaseContext:
    ledger = BudgetLedger.in_memory(
        dataset="t", budget=PrivacyLoss(epsilon=100.0), window=BudgetWindow.lifetime()
    )
    return ReleaseContext(
        ledger=ledger,
        run_id="r",
        rng=DPRandom.for_testing(seed),
        unit_column="openid",
        threshold=10,
    )


def _charges(ctx: ReleaseContext) -> list[tuple[str, float]]:
    return [(c.label, c.epsilon) for c in ctx.ledger.charges_for_run("r")]


def test_lifecycle_on_local_rows_releases_what_the_pandas_table_releases(
    tables: dict[str, pd.DataFrame],
) -> None:
    f = _features(tables, LIFE.active_within_days)
    a, b = _ctx(), _ctx()
    kw: dict[str, Any] = {"now": NOW, "loss": PrivacyLoss(epsilon=1.0)}
    t1, s1, _ = release_lifecycle(f.table, f.activity, LIFE, ctx=a, **kw)
    rows = LocalUnitRows(_with_previous_day(f))
    t2, s2, _ = release_lifecycle(rows, None, LIFE, ctx=b, **kw)
    pd.testing.assert_frame_equal(t1, t2)
    assert isinstance(s1, pd.Series) and isinstance(s2, UnitLabels)
    pd.testing.assert_series_equal(as_series(s2), s1)
    assert _charges(a) == _charges(b) == [("lifecycle/stages/privacy_id_count", 1.0)]


def test_lifecycle_refuses_rows_without_the_previous_day_before_spending(
    tables: dict[str, pd.DataFrame],
) -> None:
    f = _features(tables, LIFE.active_within_days)
    ctx = _ctx()
    # the pandas engine's table also carries the column (when activity_before_days is set)
    without = f.table.drop(columns=[PREVIOUS_ACTIVE_DAY], errors="ignore")
    with pytest.raises(InputError, match=PREVIOUS_ACTIVE_DAY):
        release_lifecycle(
            LocalUnitRows(without), None, LIFE, now=NOW, loss=PrivacyLoss(epsilon=1.0), ctx=ctx
        )
    with pytest.raises(InputError, match="activity rows"):
        release_lifecycle(f.table, None, LIFE, now=NOW, loss=PrivacyLoss(epsilon=1.0), ctx=ctx)
    assert ctx.ledger.spent().epsilon == 0.0


RFM = RfmParams(
    recency_bounds=Bounds(lower=0, upper=730),
    frequency_bounds=Bounds(lower=0, upper=50),
    monetary_bounds=Bounds(lower=0, upper=20000),
)


def test_rfm_on_local_rows_releases_what_the_pandas_table_releases(
    tables: dict[str, pd.DataFrame],
) -> None:
    f = _features(tables, None).table
    a, b = _ctx(), _ctx()
    r1 = release_rfm(f, RFM, loss=PrivacyLoss(epsilon=2.0), ctx=a)
    r2 = release_rfm(LocalUnitRows(f), RFM, loss=PrivacyLoss(epsilon=2.0), ctx=b)
    pd.testing.assert_frame_equal(r1.table, r2.table)
    assert r1.splits == r2.splits
    assert isinstance(r1.assignment, pd.Series) and isinstance(r2.assignment, UnitLabels)
    pd.testing.assert_series_equal(as_series(r2.assignment), r1.assignment)
    assert _charges(a) == _charges(b) and len(_charges(a)) > 3
    pop = rfm_population(f)
    assert 0 < len(pop) < len(f)
    kept = rfm_population_rows(LocalUnitRows(f)).to_pandas()
    assert kept["openid"].tolist() == pop["openid"].tolist()


def test_rule_columns_are_evaluate_rule_per_row(tables: dict[str, pd.DataFrame]) -> None:
    f = _features(tables, None).table
    expr = 'monetary > 500 and (province in ["浙江省", "上海市"] or not (frequency < 3))'
    node = parse_rule(expr, rule="r")
    assert list(rule_features(node)) == ["monetary", "province", "frequency"]
    want = evaluate_rule(node, f, rule="r")
    assert 0 < want.sum() < len(f)
    marked = mark_rule(LocalUnitRows(f), node, rule="r").to_pandas()
    assert marked[MEMBER_COLUMN].tolist() == want.tolist()
    seg = marked[SEGMENT_COLUMN]
    assert seg.notna().tolist() == want.tolist() and set(seg.dropna()) == {"r"}
    half = f.iloc[: len(f) // 2]
    pd.testing.assert_frame_equal(  # row-wise: a batch's columns are the table's rows
        rule_columns(half, node=node, rule="r"),
        rule_columns(f, node=node, rule="r").iloc[: len(half)],
    )


def test_mark_rule_refuses_a_missing_feature_before_any_batch(
    tables: dict[str, pd.DataFrame],
) -> None:
    f = _features(tables, None).table
    node = parse_rule('frequency > 1 and loyalty == "gold"', rule="r", tags={"loyalty"})
    with pytest.raises(PolicyError) as pandas_err:
        evaluate_rule(node, f, rule="r")

    class NoBatches(LocalUnitRows):
        def with_columns(self, fn: Any, schema: Any) -> Any:
            raise AssertionError("a batch ran")

    with pytest.raises(PolicyError) as rows_err:
        mark_rule(NoBatches(f), node, rule="r")
    assert str(rows_err.value) == str(pandas_err.value)
    assert "loyalty" in str(rows_err.value)
