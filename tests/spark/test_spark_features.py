"""Per-unit segment features on Spark equal the pandas engine's (``compute_features`` is the
reference, order included) on the demo shop's sanitized tables, with rows the run window
drops, refund records, rows without a unit, and missing optional columns / tables; only
per-unit and per-(unit, day) results reach the driver."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from privacy_profile import scanner_for
from privacy_profile.errors import InputError
from privacy_profile.ingest import KeyRing
from privacy_profile.ingest.sanitize import sanitize
from privacy_profile.policy import LoadedPolicy
from privacy_profile.segments.columns import feature_columns, unit_column
from privacy_profile.segments.features import (
    PREVIOUS_ACTIVE_DAY,
    FeatureParams,
    UnitFeatures,
    activity_of_table,
    compute_features,
    reduce_activity,
)
from privacy_profile.segments.lifecycle import LifecycleParams, assign_lifecycle
from privacy_profile.spark.features import spark_compute_features
from privacy_profile.spark.units import SparkUnitRows

from .conftest import NOW, PURPOSE

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _functions_by_value() -> None:
    """This module's batch functions reach the Python workers by value (the workers cannot
    import the tests package); nothing without pyspark (the ``spark`` fixture skips)."""
    try:
        from pyspark import cloudpickle
    except ImportError:
        return
    cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def shop(demo: tuple[LoadedPolicy, Path, KeyRing]) -> tuple[dict[str, pd.DataFrame], FeatureParams]:
    """The demo shop's sanitized tables plus rows the window drops (after the run, without a
    time, before the lookback), refund records with negative amounts, rows without a unit."""
    loaded, input_dir, keys = demo
    san = sanitize(input_dir, loaded, PURPOSE, keys, now=NOW, scanner=scanner_for(loaded.policy))
    params = FeatureParams(
        unit_column=unit_column(loaded.policy),
        now=NOW,
        columns=feature_columns(loaded.policy),
        lookback_days=120,
        spending_bands=(0.0, 100.0, 500.0),
        max_categories_per_user=2,
        order_amount_upper=2000.0,
    )
    u = params.unit_column
    orders, events = san.tables["orders"], san.tables["events"]
    assert len(orders) > 50 and len(events) > 1000 and len(san.tables["users"]) > 50
    buyers = orders.loc[orders["status"] == "paid", u].drop_duplicates().iloc[:3].tolist()

    def more(table: pd.DataFrame, rows: list[dict[str, Any]]) -> pd.DataFrame:
        extra = pd.DataFrame(rows)
        extra = extra.astype({c: table[c].dtype for c in extra.columns})
        return pd.concat([table, extra], ignore_index=True)

    day = pd.Timestamp("2026-10-01")
    refund = {"status": "returned", "category": "图书", "coupon_used": False}
    orders = more(
        orders,
        [
            {u: buyers[0], "order_id": "R1", "amount": -40.5, "ordered_at": day, **refund},
            {u: buyers[1], "order_id": "R2", "amount": -1e6, "ordered_at": day, **refund},
            {u: buyers[2], "order_id": "R3", "amount": 30.0, "ordered_at": day, **refund},
            {u: pd.NA, "order_id": "N1", "amount": 10.0, "ordered_at": day, "status": "paid"},
            {
                u: buyers[0],
                "order_id": "F1",
                "amount": 9.0,
                "ordered_at": pd.Timestamp("2027-01-01"),
            },
            {u: buyers[0], "order_id": "T1", "amount": 9.0, "ordered_at": pd.NaT, "status": "paid"},
        ],
    )
    events = more(
        events,
        [
            {u: pd.NA, "event_type": "view", "ts": day, "category": "图书"},
            {u: pd.NA, "event_type": "buy", "ts": day + pd.Timedelta(hours=30)},
            {u: buyers[0], "event_type": pd.NA, "ts": day, "category": "运动"},
            {u: buyers[1], "event_type": "view", "ts": pd.Timestamp("2026-12-01 01:00")},
        ],
    )
    return {**san.tables, "orders": orders, "events": events}, params


@dataclass(frozen=True)
class _DtypeCheck:
    """A predicate (run on the executors) keeping every row of a batch whose columns have
    ``dtypes`` (the pandas table's); raises otherwise."""

    dtypes: tuple[tuple[str, str], ...]

    def __call__(self, batch: pd.DataFrame) -> Any:
        got = tuple((str(k), str(v)) for k, v in batch.dtypes.items())
        if got != self.dtypes:
            raise AssertionError(f"batch dtypes {got} != {self.dtypes}")
        return np.ones(len(batch), dtype=bool)


def _on_spark(spark: Any, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    return {name: spark.createDataFrame(t) for name, t in tables.items()}


def _assert_same(want: UnitFeatures, got: UnitFeatures) -> None:
    """``got`` (Spark: the table kept there) equals ``want`` (pandas): the table's values,
    dtypes and unit order, the categories and dropped counts; Spark sends no activity rows
    (an empty frame with the unit and day columns)."""
    assert isinstance(want.table, pd.DataFrame) and isinstance(got.table, SparkUnitRows)
    assert got.table.columns == tuple(want.table.columns)
    table = got.table.to_pandas()
    pd.testing.assert_frame_equal(table, want.table, check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(got.categories, want.categories)
    u = want.table.columns[0]
    assert got.activity.empty and list(got.activity.columns) == [u, "_day"]
    assert list(want.dropped.items()) == list(got.dropped.items())
    # cached on disk until close (idempotent)
    level = got.table.frame.storageLevel
    assert level.useDisk and not level.useMemory
    got.close()
    got.close()
    assert not got.table.frame.storageLevel.useDisk


def test_spark_features_equal_pandas_and_collect_only_the_categories(
    shop: tuple[dict[str, pd.DataFrame], FeatureParams], spark: Any, monkeypatch: Any
) -> None:
    tables, params = shop
    want = compute_features(tables, params)
    sdfs = _on_spark(spark, tables)
    collected: list[int] = []
    frame_type = type(sdfs["orders"])
    to_arrow, collect = frame_type.toArrow, frame_type.collect

    def spy_to_arrow(self: Any) -> Any:
        out = to_arrow(self)
        collected.append(out.num_rows)
        return out

    def spy_collect(self: Any) -> list[Any]:
        out = collect(self)
        collected.append(len(out))
        return out

    monkeypatch.setattr(frame_type, "toArrow", spy_to_arrow)
    monkeypatch.setattr(frame_type, "collect", spy_collect)
    got = spark_compute_features(sdfs, params)
    monkeypatch.undo()
    _assert_same(want, got)

    # the edge rows took effect (the comparison is not between two empty results)
    u = params.unit_column
    d = want.dropped
    assert d["orders_after_run_date_or_no_time"] == 2 and d["events_after_run_date_or_no_time"] == 1
    assert d["orders_before_lookback"] > 0 and d["events_before_lookback"] > 0
    assert want.activity[u].isna().sum() == 2  # two (no unit, day) rows
    t = want.table.set_index(u)
    assert not t.index.hasnans and t["monetary"].min() == 0.0  # the 1e6 refund clips at 0
    assert t["top_category"].notna().any() and t["age_band"].notna().any()
    first_active = want.activity.groupby(u)["_day"].min().reindex(t.index)
    assert (t["first_seen"] < first_active).any()  # moved back to the registration day
    # the driver received the one-row dropped counts and the categories only: no per-unit
    # or per-(unit, day) rows, never the events
    assert sorted(collected) == [1, len(want.categories)]
    # batches reach a function with the pandas engine's dtypes
    assert isinstance(got.table, SparkUnitRows)
    dtypes = tuple((str(k), str(v)) for k, v in want.table.dtypes.items())
    assert got.table.where(_DtypeCheck(dtypes)).count() == len(want.table)
    got.close()


def test_spark_features_without_events_or_optional_columns(
    shop: tuple[dict[str, pd.DataFrame], FeatureParams], spark: Any
) -> None:
    tables, params = shop
    orders = tables["orders"].drop(columns=["coupon_used", "category"])
    # times as ISO strings (parsed by each engine; Spark's session time zone is UTC here)
    iso = orders["ordered_at"].dt.strftime("%Y-%m-%dT%H:%M:%S").astype("string")
    orders["ordered_at"] = iso
    users = tables["users"].drop(columns=["registered_at", "channel"])
    small = {"orders": orders, "users": users}  # no events table; no lookback
    p = replace(params, lookback_days=None, order_amount_upper=None)
    want = compute_features(small, p)
    assert want.categories.empty and want.table["coupon_rate"].isna().all()
    assert want.dropped == {"orders_after_run_date_or_no_time": 2}
    _assert_same(want, spark_compute_features(_on_spark(spark, small), p))


def test_spark_features_refuse_what_pandas_refuses(
    shop: tuple[dict[str, pd.DataFrame], FeatureParams], spark: Any
) -> None:
    tables, params = shop
    sdfs = _on_spark(spark, tables)
    with pytest.raises(InputError, match="orders or an events table"):
        spark_compute_features({"users": sdfs["users"]}, params)
    broken = {**sdfs, "events": sdfs["events"].drop("event_type")}
    with pytest.raises(InputError, match=r"table 'events' lacks columns \['event_type'\]"):
        spark_compute_features(broken, params)
    with pytest.raises(InputError, match=r"table 'events' lacks columns \['event_type'\]"):
        compute_features({**tables, "events": tables["events"].drop(columns="event_type")}, params)


def test_module_imports_without_pyspark() -> None:
    code = (
        "import sys; sys.modules['pyspark'] = None\n"
        "import privacy_profile.spark.features as f\n"
        "assert callable(f.spark_compute_features)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path.cwd())


def test_spark_features_previous_active_day_instead_of_activity_rows(
    shop: tuple[dict[str, pd.DataFrame], FeatureParams], spark: Any
) -> None:
    """With ``activity_before_days`` (the lifecycle's window) both engines' tables carry
    PREVIOUS_ACTIVE_DAY, each unit's day of :func:`reduce_activity` (NaT without one); Spark
    sends no activity rows, and the lifecycle stages read back from the column equal those of
    the full activity rows. The subjects table here stays a pandas frame (sent to Spark)."""
    tables, params = shop
    reduced = replace(params, activity_before_days=30)
    want = compute_features(tables, reduced)
    sdfs = {**_on_spark(spark, tables), "users": tables["users"]}
    got = spark_compute_features(sdfs, reduced)
    u = params.unit_column
    assert isinstance(want.table, pd.DataFrame) and want.table.columns[-1] == PREVIOUS_ACTIVE_DAY
    full = compute_features(tables, params)
    assert isinstance(full.table, pd.DataFrame) and PREVIOUS_ACTIVE_DAY not in full.table
    # the column is reduce_activity's day per unit
    rows = reduce_activity(full.activity, reduced).dropna(subset=[u]).set_index(u)["_day"]
    expect = rows.reindex(want.table[u].to_numpy()).to_numpy()
    np.testing.assert_array_equal(want.table[PREVIOUS_ACTIVE_DAY].to_numpy(), expect)
    assert want.table[PREVIOUS_ACTIVE_DAY].notna().sum() > 10
    assert want.table[PREVIOUS_ACTIVE_DAY].isna().sum() > 0
    _assert_same(want, got)

    life = LifecycleParams(
        new_within_days=30, active_within_days=30, returning_gap_days=60, churned_after_days=180
    )
    back = activity_of_table(want.table, u)
    stages = [
        assign_lifecycle(t, a, life, unit_column=u, now=NOW)
        for t, a in ((full.table, full.activity), (want.table, back))
    ]
    pd.testing.assert_series_equal(stages[0], stages[1])
    assert stages[0].nunique() > 1


def test_spark_features_subjects_first_row_per_unit_and_string_times(
    shop: tuple[dict[str, pd.DataFrame], FeatureParams], spark: Any
) -> None:
    """The subjects' first row per unit on Spark is the one the pandas engine keeps; a
    registration time given as a string is parsed as pandas parses it."""
    tables, params = shop
    users = tables["users"]
    assert params.columns.registered_at is not None and params.columns.gender is not None
    reg, gender = params.columns.registered_at, params.columns.gender
    # a second row for some units: another gender, an earlier registration (pandas keeps the
    # first row; a later duplicate must not win)
    dup = users.iloc[:5].copy()
    dup[gender] = "其他"
    dup[reg] = pd.Timestamp("2020-01-01")
    both = pd.concat([users, dup], ignore_index=True)
    iso = both[reg].dt.strftime("%Y-%m-%d %H:%M:%S").astype("string")
    for subjects in (both, both.assign(**{reg: iso})):
        local = {**tables, "users": subjects}
        want = compute_features(local, params)
        assert isinstance(want.table, pd.DataFrame)
        assert "其他" not in set(want.table["gender"].dropna())
        # on Spark (the local frame: the previous test)
        _assert_same(want, spark_compute_features(_on_spark(spark, local), params))
