"""The segment stage on Spark tables: with the demo shop's sanitized data tables as Spark
tables in a ``TableMap`` (the subjects table stays pandas, as on a Spark run; times as
TIMESTAMP_NTZ, as staged Parquet holds them; rows shuffled across partitions, the input
record number kept), ``segment_tables``, the pre-flight and ``build_segments`` give what the
pandas engine gives on the same tables, and no table is collected."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from privacy_profile import scanner_for
from privacy_profile.dp import BudgetLedger, BudgetWindow, DPRandom, PrivacyLoss
from privacy_profile.ingest import KeyRing, SanitizeResult
from privacy_profile.ingest.sanitize import sanitize
from privacy_profile.ingest.tables import TableMap
from privacy_profile.policy import LoadedPolicy
from privacy_profile.policy.model import Policy
from privacy_profile.segments import build_segments
from privacy_profile.segments.columns import feature_columns, unit_column
from privacy_profile.segments.features import FeatureParams, compute_features
from privacy_profile.segments.preflight import preflight
from privacy_profile.segments.remote import unit_features
from privacy_profile.segments.stage_inputs import segment_tables, tokenizer_for
from privacy_profile.spark.segments import UnitColumnTable
from privacy_profile.spark.tables import RECORD, SparkTable
from privacy_profile.spark.units import SparkUnitRows

from .conftest import NOW, PURPOSE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def san(demo: tuple[LoadedPolicy, Path, KeyRing]) -> SanitizeResult:
    loaded, input_dir, keys = demo
    return sanitize(input_dir, loaded, PURPOSE, keys, now=NOW, scanner=scanner_for(loaded.policy))


def _on_spark(spark: Any, frame: pd.DataFrame) -> SparkTable:
    """``frame`` as a staged table looks on Spark: the input record number in ``RECORD``,
    naive times as TIMESTAMP_NTZ, rows in another order than the records (3 partitions)."""
    from pyspark.sql import functions as F

    df = spark.createDataFrame(frame.assign(**{RECORD: np.arange(1, len(frame) + 1)}))
    for name, dtype in frame.dtypes.items():
        if pd.api.types.is_datetime64_dtype(dtype):
            df = df.withColumn(str(name), F.col(str(name)).cast("timestamp_ntz"))
    return SparkTable.of(df.repartition(3))


def _remote(spark: Any, san: SanitizeResult, policy: Policy) -> TableMap:
    """The sanitized tables as a Spark run holds them: data tables on Spark, the subjects
    table and the consent records in pandas."""
    keep = {policy.consent_table(), policy.subjects.table}
    local = {n: f for n, f in san.tables.items() if n in keep}
    remote = {n: _on_spark(spark, f) for n, f in san.tables.items() if n not in keep}
    return TableMap(local, remote)


@pytest.fixture(scope="module")
def remote(spark: Any, san: SanitizeResult, demo: tuple[LoadedPolicy, Path, KeyRing]) -> TableMap:
    return _remote(spark, san, demo[0].policy)


@pytest.fixture(scope="module")
def remote_users(
    spark: Any, san: SanitizeResult, demo: tuple[LoadedPolicy, Path, KeyRing], remote: TableMap
) -> TableMap:
    """As ``remote``, the subjects table on Spark too."""
    subjects = demo[0].policy.subjects.table
    return remote.replace(subjects, _on_spark(spark, san.tables[subjects]))


@pytest.fixture
def no_collect(spark: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The rows each Spark job brought to the driver (``collect`` / ``toArrow``); a
    ``toPandas`` (a whole table collected by a SparkTable without files) fails the test."""
    DataFrame = type(spark.range(1))  # the session's DataFrame class (classic or connect)
    rows: list[int] = []
    collect, to_arrow = DataFrame.collect, DataFrame.toArrow

    def spy_collect(self: Any) -> list[Any]:
        out = collect(self)
        rows.append(len(out))
        return out

    def spy_to_arrow(self: Any) -> Any:
        out = to_arrow(self)
        rows.append(out.num_rows)
        return out

    def no_to_pandas(self: Any) -> Any:
        raise AssertionError("a Spark table was collected with toPandas")

    monkeypatch.setattr(DataFrame, "collect", spy_collect)
    monkeypatch.setattr(DataFrame, "toArrow", spy_to_arrow)
    monkeypatch.setattr(DataFrame, "toPandas", no_to_pandas)
    yield rows


def test_the_staged_like_tables_hold_naive_times(remote: TableMap) -> None:
    from pyspark.sql import types as T

    for name, column in (("events", "ts"), ("orders", "ordered_at")):
        table = remote.remote(name)
        assert isinstance(table, SparkTable)
        assert isinstance(table.frame().schema[column].dataType, T.TimestampNTZType)
        assert RECORD in table.frame(record_column=RECORD).columns


def test_segment_tables_keep_remote_tables_remote(
    spark: Any, san: SanitizeResult, demo: tuple[LoadedPolicy, Path, KeyRing]
) -> None:
    policy = demo[0].policy
    unit = unit_column(policy)
    # the orders name their subject column differently: renamed to the unit column on Spark
    orders = san.tables["orders"].rename(columns={unit: "buyer"})
    spec = policy.tables["orders"].model_copy(update={"subject_column": "buyer"})
    renamed = policy.model_copy(update={"tables": {**policy.tables, "orders": spec}})
    san2 = dataclasses.replace(san, tables={**san.tables, "orders": orders})
    tables = _remote(spark, san2, renamed)
    want = segment_tables(renamed, san2)
    got = segment_tables(renamed, dataclasses.replace(san2, tables=tables))

    assert isinstance(got, TableMap) and set(got) == set(want)
    assert set(got.remote_names) == set(tables.remote_names)
    ours = got.remote("orders")
    assert isinstance(ours, UnitColumnTable)
    assert ours.columns == tuple(want["orders"].columns) and "buyer" not in ours.columns
    assert ours.frame().columns == list(want["orders"].columns)
    assert got.remote("events") is tables.remote("events")  # already named as the unit
    pd.testing.assert_frame_equal(got["flags"], want["flags"])
    pd.testing.assert_frame_equal(got[policy.subjects.table], want[policy.subjects.table])
    assert got.collected == [] and tables.collected == []
    # the renamed column holds the subjects, row for row (in record order)
    rows = ours.frame(record_column=RECORD).toArrow().to_pandas().sort_values(RECORD)
    assert rows[unit].tolist() == want["orders"][unit].astype(object).tolist()
    assert rows[unit].notna().sum() > 50


def _loose(policy: Policy, *, threshold: int, epsilon: float = 1e5) -> Policy:
    """``policy`` with every segmentation epsilon ``epsilon`` and the aggregation threshold
    ``threshold`` (limits raised to fit)."""
    spec = policy.segmentation
    assert spec is not None
    update: dict[str, Any] = {"rules_epsilon": epsilon}
    for family in ("rfm", "kmeans", "lifecycle", "personas", "tree"):
        part = getattr(spec, family)
        if part is not None:
            update[family] = part.model_copy(update={"epsilon": epsilon})
    priv = policy.privacy
    agg = priv.aggregation_threshold.model_copy(update={"threshold": threshold})
    priv = priv.model_copy(
        update={
            "aggregation_threshold": agg,
            "max_epsilon_per_query": epsilon,
            "epsilon_budget": 1e9,
        }
    )
    return policy.model_copy(
        update={"segmentation": spec.model_copy(update=update), "privacy": priv}
    )


@pytest.mark.parametrize(
    ("threshold", "paid", "failing"),
    [
        (5, None, set()),
        (10**6, None, {"family_units"}),  # RFM, k-means and lifecycle: too few units
        (5, ("no-such-status",), {"paid_orders"}),
    ],
)
def test_preflight_on_spark_equals_pandas(
    remote: TableMap,
    remote_users: TableMap,
    san: SanitizeResult,
    demo: tuple[LoadedPolicy, Path, KeyRing],
    threshold: int,
    paid: tuple[str, ...] | None,
    failing: set[str],
    no_collect: list[int],
) -> None:
    policy = _loose(demo[0].policy, threshold=threshold)
    cols = feature_columns(policy)
    if paid is not None:
        assert cols.orders is not None
        cols = dataclasses.replace(
            cols, orders=dataclasses.replace(cols.orders, paid_statuses=paid)
        )
    unit = unit_column(policy)

    def check(result: SanitizeResult) -> Any:
        tables = segment_tables(policy, result)
        out = preflight(policy, result.report, result.quarantine, tables, cols, unit)
        assert tables.collected == []
        return out

    want = check(san)
    assert {i.check for i in want.issues} == failing
    if threshold > 5:
        assert len(want.issues) == 3
    no_collect.clear()
    for tables in (remote, remote_users):
        got = check(dataclasses.replace(san, tables=tables))
        assert got == want
        assert tables.collected == []
    # counts only: single-row aggregations, and the subjects' distinct units (unit scale)
    n_users = int(san.tables[policy.subjects.table][unit].nunique())
    assert no_collect and all(n in (1, n_users) for n in no_collect), no_collect


def test_features_on_spark_equal_pandas_in_record_order(
    remote: TableMap, san: SanitizeResult, demo: tuple[LoadedPolicy, Path, KeyRing]
) -> None:
    policy = demo[0].policy
    params = FeatureParams(
        unit_column=unit_column(policy),
        now=NOW,
        columns=feature_columns(policy),
        lookback_days=120,
        spending_bands=(0.0, 100.0, 500.0),
        max_categories_per_user=2,
        order_amount_upper=2000.0,
    )
    want = compute_features(segment_tables(policy, san), params)
    tables = segment_tables(policy, dataclasses.replace(san, tables=remote))
    got = unit_features(tables, params)
    assert tables.collected == [] and remote.collected == []
    assert len(want.table) > 50 and want.dropped["events_before_lookback"] > 0
    # the table stays on Spark (collected here to compare); no activity rows are sent
    assert isinstance(got.table, SparkUnitRows)
    pd.testing.assert_frame_equal(got.table.to_pandas(), want.table, check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(got.categories, want.categories)
    assert got.activity.empty and list(got.activity.columns) == list(want.activity.columns)
    got.close()
    assert got.dropped == want.dropped


def _ledger() -> BudgetLedger:
    return BudgetLedger.in_memory(
        dataset="t", budget=PrivacyLoss(epsilon=1e9, delta=1e-3), window=BudgetWindow.lifetime()
    )


def test_build_segments_on_spark_releases_what_pandas_releases(
    remote: TableMap, san: SanitizeResult, demo: tuple[LoadedPolicy, Path, KeyRing]
) -> None:
    policy = _loose(demo[0].policy, threshold=5)
    assert policy.segmentation is not None

    def build(result: SanitizeResult) -> Any:
        tables = segment_tables(policy, result)
        release = build_segments(
            tables,
            policy,
            policy.segmentation,
            unit_column=unit_column(policy),
            ledger=_ledger(),
            run_id="run-1",
            now=NOW.replace(tzinfo=None),
            rng=DPRandom.for_testing(7),
            purpose=PURPOSE,
            tokenizer=tokenizer_for(result),
        )
        assert tables.collected == []
        return release

    want = build(san)
    got = build(dataclasses.replace(san, tables=remote))
    assert remote.collected == []
    # the comparison is not between two empty releases
    shown = want.segments.loc[~want.segments["suppressed"].astype(bool)]
    assert {"rfm", "kmeans", "lifecycle"} <= set(shown["family"]) and not want.personas.empty
    assert want.audiences and any(len(a) for a in want.audiences.values())
    for name, table in want.marketing_tables().items():
        pd.testing.assert_frame_equal(
            got.marketing_tables()[name], table, check_exact=False, rtol=1e-9, obj=name
        )
    assert got.audiences is not None and got.audiences.keys() == want.audiences.keys()
    for key, tokens in want.audiences.items():
        pd.testing.assert_frame_equal(got.audiences[key], tokens, obj=key)
    assert got.dropped == want.dropped and got.epsilon == want.epsilon


def test_a_local_orders_table_beside_remote_events(
    remote: TableMap, san: SanitizeResult, demo: tuple[LoadedPolicy, Path, KeyRing]
) -> None:
    """A map with the orders in pandas and the events on Spark: the orders go to Spark for
    the features (naive times kept naive) and their units to the active-units count."""
    unit = unit_column(demo[0].policy)
    active = len(
        set(san.tables["orders"][unit].dropna()) | set(san.tables["events"][unit].dropna())
    )
    mixed = remote.replace("orders", san.tables["orders"])
    assert mixed.remote("orders") is None and mixed.remote("events") is not None
    on_spark = dataclasses.replace(san, tables=mixed)
    for threshold in (active, active + 1):  # k-means and lifecycle pass, then fail
        policy = _loose(demo[0].policy, threshold=threshold)
        cols = feature_columns(policy)
        want, got = (
            preflight(policy, r.report, r.quarantine, segment_tables(policy, r), cols, unit)
            for r in (san, on_spark)
        )
        assert got == want
        failing = any(i.reason.startswith(("kmeans:", "lifecycle:")) for i in want.issues)
        assert failing == (threshold > active)
    params = FeatureParams(unit_column=unit, now=NOW, columns=cols, lookback_days=730)
    want_f = compute_features(segment_tables(policy, san), params)
    tables = segment_tables(policy, on_spark)
    got_f = unit_features(tables, params)
    assert tables.collected == [] and mixed.collected == []
    # the table stays on Spark (collected here to compare); no activity rows are sent
    assert isinstance(got_f.table, SparkUnitRows)
    pd.testing.assert_frame_equal(
        got_f.table.to_pandas(), want_f.table, check_exact=False, rtol=1e-12
    )
    pd.testing.assert_frame_equal(got_f.categories, want_f.categories)
    assert got_f.activity.empty and list(got_f.activity.columns) == list(want_f.activity.columns)
    got_f.close()
    assert got_f.dropped == want_f.dropped


def test_staged_parquet_orders_with_identity_links_and_another_subject_column(
    spark: Any,
    san: SanitizeResult,
    demo: tuple[LoadedPolicy, Path, KeyRing],
    tmp_path: Path,
) -> None:
    """Orders as the Spark engine stages them: Parquet files written from the pandas frame
    with the record number (naive times: TIMESTAMP_NTZ when Spark reads them; the later
    records in the larger file, which Spark reads first), an identity link applied as the
    rows are read, the subject column named ``buyer``: the same pre-flight and features as
    the pandas engine on the linked table, nothing collected."""
    from pyspark.sql import types as T

    base = _loose(demo[0].policy, threshold=5)
    unit = unit_column(base)
    spec = base.tables["orders"].model_copy(update={"subject_column": "buyer"})
    policy = base.model_copy(update={"tables": {**base.tables, "orders": spec}})
    orders = san.tables["orders"].rename(columns={unit: "buyer"})
    staged = orders.assign(**{RECORD: np.arange(1, len(orders) + 1)})
    cut = len(staged) // 4
    files = []
    for i, part in enumerate((staged.iloc[:cut], staged.iloc[cut:])):
        path = tmp_path / f"part-{i}.parquet"
        part.to_parquet(path, index=False)
        files.append(str(path))
    buyers = orders["buyer"].dropna().unique()
    links = pd.Series([buyers[1]], index=[buyers[0]])  # account buyers[0] is person buyers[1]
    table = SparkTable(
        source=spark.read.parquet(*files),
        columns=tuple(str(c) for c in orders.columns),
        rows=len(orders),
        files=tuple(files),
    ).with_links("buyer", links)
    linked = orders.assign(buyer=orders["buyer"].where(orders["buyer"] != buyers[0], buyers[1]))
    assert (linked["buyer"] == buyers[1]).sum() > (orders["buyer"] == buyers[1]).sum()
    local = dataclasses.replace(san, tables={**san.tables, "orders": linked})
    others = {n: f for n, f in san.tables.items() if n != "orders"}
    on_spark = dataclasses.replace(san, tables=TableMap(others, {"orders": table}))

    want, got = segment_tables(policy, local), segment_tables(policy, on_spark)
    ours = got.remote("orders")
    assert isinstance(ours, UnitColumnTable)
    assert isinstance(ours.frame().schema["ordered_at"].dataType, T.TimestampNTZType)
    cols = feature_columns(policy)
    assert preflight(policy, san.report, san.quarantine, got, cols, unit) == preflight(
        policy, san.report, san.quarantine, want, cols, unit
    )
    params = FeatureParams(unit_column=unit, now=NOW, columns=cols, lookback_days=730)
    want_f, got_f = compute_features(want, params), unit_features(got, params)
    assert got.collected == [] and on_spark.tables.collected == []
    # the table stays on Spark (collected here to compare); no activity rows are sent
    assert isinstance(got_f.table, SparkUnitRows)
    pd.testing.assert_frame_equal(
        got_f.table.to_pandas(), want_f.table, check_exact=False, rtol=1e-12
    )
    pd.testing.assert_frame_equal(got_f.categories, want_f.categories)
    assert got_f.activity.empty and list(got_f.activity.columns) == list(want_f.activity.columns)
    got_f.close()
    # collected on purpose, from the staged files: renamed, linked, in record order
    pd.testing.assert_frame_equal(ours.to_pandas(), want["orders"])


def test_a_spark_run_collects_no_table_for_its_segments(
    demo: tuple[LoadedPolicy, Path, KeyRing], spark: Any, tmp_path: Path
) -> None:
    """The engine on Spark (every data table kept there), the policy without analytics: the
    run's notes name no table collected to the driver; a collection by a segment-stage reader
    would be named (the segment tables share the run's record of collections)."""
    from privacy_profile import open_ledger, sanitize_then_segment
    from privacy_profile.spark import SparkBackend

    loaded, input_dir, keys = demo
    policy = loaded.policy.model_copy(update={"analytics": None})
    backend = SparkBackend(spark, driver_bytes=0, staging=str(tmp_path / "staging"))
    with open_ledger(tmp_path / "ledger.sqlite", policy) as ledger:
        release = sanitize_then_segment(
            input_dir,
            policy,
            PURPOSE,
            keys,
            ledger,
            tmp_path / "out",
            scanner=scanner_for(policy),
            rng=DPRandom.for_testing(5),
            now=NOW,
            backend=backend,
        )
    assert release.epsilon_spent > 0 and not release.segments.empty
    assert not [n for n in release.notes if "collected to the driver" in n], release.notes

    result = sanitize(input_dir, loaded, PURPOSE, keys, now=NOW, backend=backend)
    try:
        assert isinstance(result.tables, TableMap) and "events" in result.tables.remote_names
        tables = segment_tables(policy, result)
        assert tables.remote("events") is not None and len(tables["events"]) > 0
        assert result.tables.collected == ["events"]  # the run's notes would name it
    finally:
        backend.cleanup()
