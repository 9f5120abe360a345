"""The policy's analytics on Spark tables: each per-unit reduction computed on Spark equals the
pandas engine's (the demo shop's sanitized tables; times as the staged files give them,
timestamps without a zone, and as strings and zoned timestamps), and ``run_analytics`` over a
:class:`TableMap` of Spark tables releases exactly what the pandas path releases with the same
seeded random source, without collecting any table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from privacy_profile import scanner_for
from privacy_profile.analytics._common import AnalysisPrivacy
from privacy_profile.analytics.ab import ABParams, ab_per_user
from privacy_profile.analytics.from_policy import run_analytics
from privacy_profile.analytics.funnel import FunnelParams, funnel_depths
from privacy_profile.analytics.kpi import KpiParams, dp_kpis_from_pairs, kpi_pairs
from privacy_profile.analytics.on_spark import (
    ab_per_user_spark,
    funnel_depths_spark,
    kpi_pairs_spark,
    retention_pairs_spark,
)
from privacy_profile.analytics.policy_analyses import read_cost_table
from privacy_profile.analytics.retention import RetentionParams, retention_pairs
from privacy_profile.dp import BudgetLedger, BudgetWindow, PrivacyLoss
from privacy_profile.dp.model import Bounds
from privacy_profile.dp.rng import DPRandom
from privacy_profile.errors import InputError
from privacy_profile.ingest import KeyRing
from privacy_profile.ingest.sanitize import sanitize
from privacy_profile.ingest.tables import TableMap
from privacy_profile.policy import LoadedPolicy
from privacy_profile.spark.tables import SparkTable

from .conftest import NOW, PURPOSE

pytestmark = pytest.mark.slow

U = "openid"
DATA_TABLES = ("events", "campaign_sends", "campaign_events", "redemptions")
TIME_COLUMNS = {
    "events": "ts",
    "campaign_sends": "sent_at",
    "campaign_events": "ts",
    "redemptions": "redeemed_at",
}
RUN_NOW = NOW.replace(tzinfo=None)


def _ledger() -> BudgetLedger:
    return BudgetLedger.in_memory(
        dataset="t", budget=PrivacyLoss(epsilon=1e9, delta=0.5), window=BudgetWindow.lifetime()
    )


@pytest.fixture(scope="module")
def shop(demo: tuple[LoadedPolicy, Path, KeyRing]) -> tuple[LoadedPolicy, Path, dict[str, Any]]:
    """The demo shop's sanitized tables (pandas engine)."""
    loaded, input_dir, keys = demo
    san = sanitize(input_dir, loaded, PURPOSE, keys, now=NOW, scanner=scanner_for(loaded.policy))
    tables = dict(san.tables)
    assert len(tables["events"]) > 1000 and len(tables["campaign_sends"]) > 50
    assert len(tables["redemptions"]) > 0
    return loaded, input_dir, tables


def _spark(spark: Any, frame: pd.DataFrame, time: str | None, kind: str = "ntz") -> Any:
    """``frame`` on Spark, its time column as staged Parquet gives it (timestamp_ntz), or as
    a zoned timestamp or an ISO 8601 string."""
    from pyspark.sql import functions as F

    df = spark.createDataFrame(frame)
    if time is None:
        return df
    if kind == "ntz":
        return df.withColumn(time, F.col(time).cast("timestamp_ntz"))
    if kind == "timestamp":
        return df.withColumn(time, F.col(time).cast("timestamp"))
    return df.withColumn(time, F.col(time).cast("string"))


@pytest.fixture(scope="module")
def remote(spark: Any, shop: tuple[LoadedPolicy, Path, dict[str, Any]]) -> dict[str, Any]:
    _, _, tables = shop
    return {n: _spark(spark, tables[n], TIME_COLUMNS[n]).cache() for n in DATA_TABLES}


def _funnel(steps: tuple[str, ...] = ("view", "cart", "buy"), days: int = 7) -> FunnelParams:
    return FunnelParams(
        steps=steps, event_column="event_type", time_column="ts", window=dt.timedelta(days=days)
    )


def _by_unit(depth: np.ndarray, units: pd.Index) -> pd.Series:
    return pd.Series(depth, index=units.astype(str)).sort_index()


@pytest.mark.parametrize(("steps", "days"), [(("view", "cart", "buy"), 7), (("cart", "buy"), 1)])
def test_funnel_depths_equal_pandas(
    remote: dict[str, Any],
    shop: tuple[LoadedPolicy, Path, dict[str, Any]],
    steps: tuple[str, ...],
    days: int,
) -> None:
    params = _funnel(steps, days)
    want = _by_unit(*funnel_depths(shop[2]["events"], params, U))
    got = _by_unit(*funnel_depths_spark(remote["events"], params, U))
    assert len(got) == len(want) > 50
    pd.testing.assert_series_equal(got, want)
    assert set(want.unique()) == set(range(len(steps) + 1))  # every depth occurs


def _ab(campaign: str, arms: tuple[str, ...], days: int = 14) -> ABParams:
    return ABParams(
        arm_column="arm",
        exposure_time_column="sent_at",
        outcome_time_column="redeemed_at",
        outcome_value_column="amount",
        arms=arms,
        control="control",
        window=dt.timedelta(days=days),
        revenue_bounds=Bounds(lower=0.0, upper=1000.0),
        campaign_column="campaign_id",
        campaign=campaign,
    )


def _user_rows(u: Any) -> pd.DataFrame:
    frame = pd.DataFrame({"arm": u.arm, "converted": u.converted, "revenue": u.revenue})
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


@pytest.mark.parametrize(
    ("campaign", "arms", "days"),
    [
        ("coupon2611", ("control", "coupon5", "coupon10"), 14),
        ("coupon2611", ("control", "coupon5"), 2),  # an arm left out, a short window
        ("push2611", ("control", "push_a"), 14),
    ],
)
def test_ab_per_user_equals_pandas(
    remote: dict[str, Any],
    shop: tuple[LoadedPolicy, Path, dict[str, Any]],
    campaign: str,
    arms: tuple[str, ...],
    days: int,
) -> None:
    t = shop[2]
    params = _ab(campaign, arms, days)
    want = _user_rows(ab_per_user(t["campaign_sends"], t["redemptions"], params, U))
    got = _user_rows(ab_per_user_spark(remote["campaign_sends"], remote["redemptions"], params, U))
    assert len(want) > 10
    pd.testing.assert_frame_equal(got[["arm", "converted"]], want[["arm", "converted"]])
    # money: the same values up to the order of floating-point additions
    np.testing.assert_allclose(got["revenue"], want["revenue"], rtol=1e-12, atol=0)


def _retention(period: str, cohorts: int, max_offset: int) -> RetentionParams:
    start = {"day": dt.date(2026, 11, 1), "week": dt.date(2026, 9, 7), "month": dt.date(2026, 6, 1)}
    return RetentionParams(
        time_column="ts",
        period=period,  # type: ignore[arg-type]
        start=start[period],
        cohorts=cohorts,
        max_offset=max_offset,
    )


def _sorted_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    out = pairs.astype({U: str})
    return out.sort_values(list(out.columns)).reset_index(drop=True)


@pytest.mark.parametrize(
    ("period", "cohorts", "max_offset"), [("month", 6, 3), ("week", 8, 4), ("day", 20, 6)]
)
def test_retention_pairs_equal_pandas(
    remote: dict[str, Any],
    shop: tuple[LoadedPolicy, Path, dict[str, Any]],
    period: str,
    cohorts: int,
    max_offset: int,
) -> None:
    params = _retention(period, cohorts, max_offset)
    want = _sorted_pairs(retention_pairs(shop[2]["events"], params, U))
    got = _sorted_pairs(retention_pairs_spark(remote["events"], params, U))
    assert len(want) > 20 and want["offset"].max() > 0
    pd.testing.assert_frame_equal(got, want)


def _kpi(input_dir: Path, max_campaigns: int) -> KpiParams:
    return KpiParams(
        campaign_column="campaign_id",
        interaction_column="event",
        impression_value="impression",
        click_value="click",
        conversion_value_column="amount",
        costs=read_cost_table(input_dir / "campaign_costs.csv", "campaign_id", "cost_yuan"),
        revenue_bounds=Bounds(lower=0.0, upper=600.0),
        max_campaigns=max_campaigns,
        max_orders=3,
    )


def test_kpi_pairs_equal_pandas_in_order_and_bound_alike(
    remote: dict[str, Any], shop: tuple[LoadedPolicy, Path, dict[str, Any]]
) -> None:
    """The pairs come in the pandas order, so the DP step's secure random choice of each
    user's campaigns (here one of two) is the same draw for the same seed."""
    _, input_dir, t = shop
    params = _kpi(input_dir, max_campaigns=1)
    want = kpi_pairs(t["campaign_sends"], t["campaign_events"], t["redemptions"], params, U)
    got = kpi_pairs_spark(
        remote["campaign_sends"], remote["campaign_events"], remote["redemptions"], params, U
    )
    assert want[U].duplicated().any()  # some users got both campaigns: bounding chooses
    pd.testing.assert_frame_equal(
        got.astype({U: str, "campaign_id": str}).reset_index(drop=True),
        want.astype({U: str, "campaign_id": str}).reset_index(drop=True),
        check_exact=False,
        rtol=1e-12,
    )
    privacy = AnalysisPrivacy(unit_column=U, loss=PrivacyLoss(epsilon=1.0), threshold=0)
    a, b = (
        dp_kpis_from_pairs(
            p,
            params=params,
            privacy=privacy,
            ledger=_ledger(),
            run_id="r",
            rng=DPRandom.for_testing(7),
        )
        for p in (want, got)
    )
    pd.testing.assert_frame_equal(a.table, b.table)


def test_kpi_pairs_follow_the_staged_record_order(
    spark: Any, shop: tuple[LoadedPolicy, Path, dict[str, Any]]
) -> None:
    """A staged table's rows come in any order; its record numbers put the pairs in the
    pandas order (here the sends are stored in reverse)."""
    from privacy_profile.spark.analytics import table_frame
    from privacy_profile.spark.tables import RECORD

    _, input_dir, t = shop
    params = _kpi(input_dir, max_campaigns=1)
    sends = t["campaign_sends"]
    stored = sends.assign(**{RECORD: np.arange(1, len(sends) + 1)}).iloc[::-1]
    table = SparkTable.of(_spark(spark, stored.reset_index(drop=True), "sent_at"))
    frames = [table_frame(table, position=True)] + [
        _spark(spark, t[n], TIME_COLUMNS[n]) for n in ("campaign_events", "redemptions")
    ]
    want = kpi_pairs(sends, t["campaign_events"], t["redemptions"], params, U)
    got = kpi_pairs_spark(*frames, params, U)
    assert got[U].astype(str).tolist() == want[U].astype(str).tolist()
    assert got["campaign_id"].astype(str).tolist() == want["campaign_id"].astype(str).tolist()
    # without the record numbers the stored (reversed) order would be used
    unordered = kpi_pairs_spark(table.frame(), *frames[1:], params, U)
    assert unordered[U].astype(str).tolist() != want[U].astype(str).tolist()


def _table_map(spark: Any, tables: dict[str, pd.DataFrame]) -> TableMap:
    remote = {n: SparkTable.of(_spark(spark, tables[n], TIME_COLUMNS[n])) for n in DATA_TABLES}
    local = {n: f for n, f in tables.items() if n not in remote}
    return TableMap(local, remote)


def test_run_analytics_on_spark_tables_releases_what_pandas_releases(
    spark: Any, shop: tuple[LoadedPolicy, Path, dict[str, Any]]
) -> None:
    loaded, input_dir, tables = shop
    args = {"now": RUN_NOW, "cost_dir": input_dir, "run_id": "run-1"}
    pandas_rel = run_analytics(
        tables, loaded.policy, ledger=_ledger(), rng=DPRandom.for_testing(3), **args
    )
    table_map = _table_map(spark, tables)
    spark_rel = run_analytics(
        table_map, loaded.policy, ledger=_ledger(), rng=DPRandom.for_testing(3), **args
    )
    assert table_map.collected == []
    want, got = pandas_rel.documents(), spark_rel.documents()
    assert set(got) == set(want) >= {"funnel.csv", "ab_arms.csv", "retention.csv", "kpi.csv"}
    for name, doc in want.items():
        if isinstance(doc, pd.DataFrame):
            pd.testing.assert_frame_equal(got[name], doc, obj=name)
        else:
            assert got[name] == doc
    # the release is not empty: the funnel saw the demo's viewers
    assert pandas_rel.funnel is not None and pandas_rel.funnel.users_in > 50


def test_huge_epsilon_on_spark_gives_the_truth(
    spark: Any, shop: tuple[LoadedPolicy, Path, dict[str, Any]]
) -> None:
    """At a huge epsilon the DP step fed with the Spark reduction returns the true counts."""
    from privacy_profile.analytics.funnel import dp_funnel_from_depths

    events = shop[2]["events"]
    params = _funnel()
    depth, units = funnel_depths_spark(_spark(spark, events, "ts"), params, U)
    privacy = AnalysisPrivacy(unit_column=U, loss=PrivacyLoss(epsilon=1e6), threshold=0)
    res = dp_funnel_from_depths(
        depth, units, params=params, privacy=privacy, ledger=_ledger(), run_id="r",
        rng=DPRandom.for_testing(1),
    )  # fmt: skip
    truth, _ = funnel_depths(events, params, U)
    want = [int((truth >= k).sum()) for k in (1, 2, 3)]
    assert res.table["users"].tolist() == want


def _timed_events() -> pd.DataFrame:
    """Events with times around a window's edge and a day boundary, in several zones."""
    rows = [
        ("a", "view", "2026-11-01T10:00:00+08:00"),  # 02:00 UTC
        ("a", "cart", "2026-11-01T02:00:00"),  # the same instant: counts (at or after)
        ("a", "buy", "2026-11-08T02:00:00Z"),  # exactly the window's end: counts
        ("b", "view", "2026-11-01T00:00:00"),
        ("b", "cart", "2026-11-08T00:00:00.000001"),  # one microsecond late
        ("c", "view", "2026-10-31T23:30:00-01:00"),  # 2026-11-01 00:30 UTC
        ("c", "cart", "2026-11-01T00:29:59.999999Z"),  # before the view (in UTC)
        ("c", "cart", "2026-11-02T00:00:00"),
        ("d", "buy", "2026-11-01T00:00:00"),  # no view: depth 0
        ("e", "view", "2026-12-01T00:00:00+00:00"),
        ("f", "view", "2026-11-03"),  # a date alone: midnight UTC (not an offset of -03)
        ("f", "cart", "2026-11-09T23:59:59.999999+00:00"),  # in the window
        ("f", "buy", "2026-11-10T00:00:00.000001Z"),  # one microsecond after its end
    ]
    frame = pd.DataFrame(rows, columns=[U, "event_type", "ts"])
    return frame.astype({U: "string", "event_type": "string", "ts": "string"})


@pytest.mark.parametrize(
    ("kind", "zone"),
    [
        ("string", "UTC"),
        ("ntz", "UTC"),
        ("timestamp", "UTC"),
        # the session time zone plays no part (US daylight saving time ends on 2026-11-01)
        ("string", "America/New_York"),
        ("ntz", "America/New_York"),
    ],
)
def test_time_types_read_as_the_pandas_engine_reads_them(spark: Any, kind: str, zone: str) -> None:
    from pyspark.sql import functions as F

    frame = _timed_events()
    instants = pd.to_datetime(frame["ts"], utc=True, format="mixed")
    df = spark.createDataFrame(frame)
    if kind == "ntz":  # the UTC wall-clock times, as staged Parquet holds them
        utc_text = instants.dt.tz_localize(None).astype(str).to_numpy()
        frame = frame.assign(ts=instants.dt.tz_localize(None))
        df = spark.createDataFrame(frame.assign(ts=utc_text))
        df = df.withColumn("ts", F.col("ts").cast("timestamp_ntz"))
    elif kind == "timestamp":
        frame = frame.assign(ts=instants)
        df = spark.createDataFrame(frame)
    assert kind == "string" or df.schema["ts"].dataType.typeName().startswith("timestamp")
    before = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", zone)
    try:
        params = _funnel()
        want = _by_unit(*funnel_depths(frame, params, U))
        assert want.to_dict() == {"a": 3, "b": 1, "c": 2, "d": 0, "e": 1, "f": 2}
        pd.testing.assert_series_equal(_by_unit(*funnel_depths_spark(df, params, U)), want)
        rp = _retention("day", 40, 35)
        pd.testing.assert_frame_equal(
            _sorted_pairs(retention_pairs_spark(df, rp, U)),
            _sorted_pairs(retention_pairs(frame, rp, U)),
        )
    finally:
        spark.conf.set("spark.sql.session.timeZone", before)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ts": None}, "has missing times"),
        ({"ts": "yesterday"}, "is not a time"),
        ({U: None}, "rows without a 'openid'"),
    ],
)
def test_bad_rows_are_refused_as_in_pandas(
    spark: Any, change: dict[str, Any], message: str
) -> None:
    frame = _timed_events()
    for col, value in change.items():
        frame.loc[1, col] = value
    with pytest.raises(InputError, match=message):
        funnel_depths(frame, _funnel(), U)
    with pytest.raises(InputError, match=message):
        funnel_depths_spark(_spark(spark, frame, None), _funnel(), U)
    with pytest.raises(InputError, match=message):
        retention_pairs_spark(_spark(spark, frame, None), _retention("day", 40, 35), U)


def test_an_analysis_reads_spark_frames_only_when_all_its_tables_are_on_spark(
    spark: Any, shop: tuple[LoadedPolicy, Path, dict[str, Any]]
) -> None:
    """Mixed local and remote tables (or plain dicts) fall back to pandas frames, collecting
    the remote ones (recorded); remote Spark tables give Spark frames, nothing collected."""
    from privacy_profile.analytics.policy_analyses import AnalysisRun

    loaded, _, tables = shop
    sends = SparkTable.of(spark.createDataFrame(tables["campaign_sends"].iloc[:5]))
    outcomes = SparkTable.of(spark.createDataFrame(tables["redemptions"].iloc[:5]))

    def run(t: Any) -> AnalysisRun:
        return AnalysisRun(tables=t, policy=loaded.policy, ledger=_ledger(), run_id="r")

    both = TableMap({"users": tables["users"]}, {"campaign_sends": sends, "redemptions": outcomes})
    frames = run(both).spark_frames("campaign_sends", "redemptions")
    assert frames is not None and [f.count() for f in frames] == [5, 5]
    assert U in frames[0].columns and both.collected == []
    mixed = TableMap({"redemptions": tables["redemptions"]}, {"campaign_sends": sends})
    assert run(mixed).spark_frames("campaign_sends", "redemptions") is None
    assert run(dict(tables)).spark_frames("campaign_sends") is None
    with pytest.raises(InputError, match="not among the sanitized tables"):
        run(both).spark_frames("orders")
