"""The per-user segment table, read in one place (``segment_index``) by the funnel, the
retention cohorts and the KPIs: same positions, same refusals (located by row, never by the
user's value); the public segment keys checked in one place (``unique_segment_keys``)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from privacy_profile.analytics import (
    AnalysisPrivacy,
    FunnelParams,
    KpiParams,
    RetentionParams,
    dp_campaign_kpis,
    dp_funnel,
    dp_retention,
)
from privacy_profile.analytics._common import segment_index
from privacy_profile.demo.campaigns import CampaignTables
from privacy_profile.dp import Bounds, BudgetLedger, DPRandom, PrivacyLoss
from privacy_profile.errors import InputError, PrivacyParameterError

from .conftest import funnel_events

PRIVACY = AnalysisPrivacy(unit_column="u", loss=PrivacyLoss(epsilon=1.0))
SEGMENTED_FUNNEL = FunnelParams(
    steps=("view", "cart", "buy"),
    event_column="e",
    time_column="t",
    window=dt.timedelta(days=7),
    segment_column="s",
    segments=("a", "b"),
)
SEGMENTED_RETENTION = RetentionParams(
    time_column="t",
    period="week",
    start=dt.date(2026, 9, 28),
    cohorts=6,
    max_offset=3,
    segment_column="s",
    segments=("a", "b"),
)
SEGMENTED_KPI = KpiParams(
    campaign_column="campaign_id",
    interaction_column="event",
    impression_value="impression",
    click_value="click",
    conversion_value_column="amount",
    costs={"push2611": 4000.0, "coupon2611": 18000.0},
    revenue_bounds=Bounds(lower=0, upper=5000),
    max_campaigns=2,
    max_orders=5,
    segment_column="s",
    segments=("a", "b"),
)


def test_positions_follow_the_public_keys_and_unknown_segments_are_minus_one() -> None:
    table = pd.DataFrame({"u": ["x", "y", "z"], "s": ["b", "a", "not-listed"]})
    seg = segment_index(table, segment_column="s", unit_column="u", keys=["a", "b"], needed_by="")
    assert seg.to_dict() == {"x": 1, "y": 0, "z": -1}


def test_a_user_listed_twice_is_refused_with_its_rows_and_a_fix() -> None:
    table = pd.DataFrame({"u": ["w", "x", "y", "x", "y"], "s": ["a", "a", "b", "b", "a"]})
    with pytest.raises(InputError, match="lists a user twice") as e:
        segment_index(table, segment_column="s", unit_column="u", keys=["a"], needed_by="")
    assert "rows 2 and 4, counting from 1; 2 repeated row(s)" in e.value.message
    assert "'x'" not in e.value.message  # located by row, never by the user's value
    assert e.value.hint == "give one segment family (one segment per user)"


def test_kpis_refuse_a_user_listed_twice_with_its_rows_before_any_charge(
    campaigns: CampaignTables, ledger: BudgetLedger
) -> None:
    t = campaigns.tables
    users = t["campaign_sends"]["openid"].drop_duplicates()
    seg = pd.DataFrame({"openid": [*users, users.iloc[3]], "s": "a"})
    red = t["redemptions"].assign(amount=t["redemptions"]["amount"].astype(float))
    privacy = AnalysisPrivacy(unit_column="openid", loss=PrivacyLoss(epsilon=1.0))
    with pytest.raises(InputError, match="lists a user twice") as e:
        dp_campaign_kpis(
            t["campaign_sends"], t["campaign_events"], red, params=SEGMENTED_KPI,
            privacy=privacy, ledger=ledger, run_id="r", rng=DPRandom.for_testing(1), segments=seg,
        )  # fmt: skip
    assert f"rows 4 and {len(users) + 1}" in e.value.message
    assert ledger.charges_for_run("r") == []


def test_a_missing_column_or_segment_column_is_refused() -> None:
    table = pd.DataFrame({"u": ["x"]})
    with pytest.raises(InputError, match="no column"):
        segment_index(table, segment_column="s", unit_column="u", keys=["a"], needed_by="")
    with pytest.raises(PrivacyParameterError):
        segment_index(table, segment_column=None, unit_column="u", keys=["a"], needed_by="")


@pytest.mark.parametrize(
    ("run", "needed_by"),
    [
        (
            lambda ev, ledger, seg: dp_funnel(
                ev, params=SEGMENTED_FUNNEL, privacy=PRIVACY, ledger=ledger, run_id="r",
                rng=DPRandom.for_testing(1), segments=seg,
            ),
            "a per-segment funnel needs",
        ),
        (
            lambda ev, ledger, seg: dp_retention(
                ev, params=SEGMENTED_RETENTION, privacy=PRIVACY, ledger=ledger, run_id="r",
                rng=DPRandom.for_testing(1), segments=seg,
            ),
            "per-segment retention needs",
        ),
    ],
    ids=["funnel", "retention"],
)  # fmt: skip
def test_each_analysis_reads_the_segment_table_the_same_way(
    run: object, needed_by: str, ledger: BudgetLedger
) -> None:
    ev = funnel_events(200)
    assert callable(run)
    with pytest.raises(InputError, match=f"^{needed_by} the per-user segment table"):
        run(ev, ledger, None)
    users = ev["u"].drop_duplicates()
    twice = pd.DataFrame({"u": [*users, users.iloc[0]], "s": ["a"] * (len(users) + 1)})
    with pytest.raises(InputError, match="lists a user twice"):
        run(ev, ledger, twice)
    # refused before any charge: a run that cannot deliver spends nothing
    assert ledger.spent().epsilon == 0.0


@pytest.mark.parametrize(
    ("segments", "column", "message"),
    [
        ((), "s", "non-empty list of unique keys"),
        (("a", "a"), "s", "non-empty list of unique keys"),
        (("a", "b", "a"), "s", "'a' is listed at positions 1 and 3"),
        (("a",), None, "both"),
        (None, "s", "both"),
    ],
)
@pytest.mark.parametrize(
    "build",
    [SEGMENTED_FUNNEL, SEGMENTED_RETENTION, SEGMENTED_KPI],
    ids=["funnel", "retention", "kpi"],
)
def test_segment_keys_are_checked_the_same_way(
    build: FunnelParams | RetentionParams | KpiParams,
    segments: tuple[str, ...] | None,
    column: str | None,
    message: str,
) -> None:
    with pytest.raises(PrivacyParameterError, match=message):
        dataclasses.replace(build, segments=segments, segment_column=column)
    kept = dataclasses.replace(build, segments=["b", "a"])
    assert kept.segments == ("b", "a")
