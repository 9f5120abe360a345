"""The Spark backend gives what the pandas loop gives: the same pseudonyms, quarantine,
counts and identifier index; and, with the same DP random stream, the same released values;
the release guard and ``audit verify`` pass on a Spark run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from privacy_profile import open_ledger, sanitize_then_segment, scanner_for
from privacy_profile.dp.rng import DPRandom
from privacy_profile.ingest import KeyRing
from privacy_profile.ingest.run_values import pseudonym_values
from privacy_profile.ingest.sanitize import sanitize
from privacy_profile.lineage.audit import verify_run
from privacy_profile.policy import LoadedPolicy
from privacy_profile.spark import SparkBackend

from .conftest import NOW, PURPOSE

pytestmark = pytest.mark.slow


def _sorted_quarantine(q: pd.DataFrame) -> pd.DataFrame:
    return q.sort_values("_row", kind="stable").reset_index(drop=True) if len(q) else q


@pytest.mark.parametrize(
    "split_bytes",
    [
        None,  # each file one input partition, spread round-robin over three
        32 * 1024,  # many input partitions per file: record numbers across splits
    ],
)
def test_sanitize_on_spark_equals_pandas(
    demo: tuple[LoadedPolicy, Path, KeyRing], spark: Any, split_bytes: int | None
) -> None:
    loaded, input_dir, keys = demo
    scanner = scanner_for(loaded.policy)
    a = sanitize(input_dir, loaded, PURPOSE, keys, now=NOW, scanner=scanner)
    key = "spark.sql.files.maxPartitionBytes"
    before = spark.conf.get(key)
    if split_bytes is not None:
        spark.conf.set(key, str(split_bytes))
        events = loaded.policy.tables["events"]
        path = input_dir / events.file_name("events")
        assert spark.read.text(str(path)).rdd.getNumPartitions() > 3
    try:
        b = sanitize(
            input_dir,
            loaded,
            PURPOSE,
            keys,
            now=NOW,
            scanner=scanner,
            # with many splits, also many Arrow batches per partition
            backend=SparkBackend(
                spark, partitions=3, driver_bytes=0, batch_rows=300 if split_bytes else 200_000
            ),
        )
    finally:
        spark.conf.set(key, before)
    assert set(a.tables) == set(b.tables)
    data_tables = [t for t in a.tables if t != loaded.policy.subjects.table]
    assert data_tables  # the Spark path really ran
    # the data tables stayed on Spark: nothing was collected to the driver by sanitize itself
    # (pseudonym values for the guard come from distinct values)
    assert set(b.tables.remote_names) == set(data_tables) and not a.tables.remote_names
    assert list(pseudonym_values(loaded.policy, b)) and b.tables.collected == []
    for name in data_tables:
        held = b.tables.remote(name)
        assert held is not None
        assert held.rows == b.report.tables[name].accepted_rows == held.frame().count()
        assert held.columns == tuple(a.tables[name].columns)
    assert any(n.startswith("tables kept on spark: ") for n in b.report.notes)
    for name in a.tables:
        assert len(a.tables[name].columns) > 0
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
        pd.testing.assert_frame_equal(
            _sorted_quarantine(a.quarantine[name]), _sorted_quarantine(b.quarantine[name])
        )
        assert a.report.tables[name] == b.report.tables[name]
        assert b.report.tables[name].reconciles()
    assert sum(b.report.tables[t].accepted_rows for t in data_tables) > 0
    assert sum(b.report.tables[t].quarantined_rows for t in data_tables) > 0
    assert len(a.identifiers) == len(b.identifiers) > 0
    assert a.activation.opted_out == b.activation.opted_out
    assert any(n.startswith("engine: ") and "spark" in n for n in b.report.notes)


def _run(demo: tuple[LoadedPolicy, Path, KeyRing], out: Path, backend: SparkBackend | None) -> Any:
    loaded, input_dir, keys = demo
    out.mkdir(parents=True)
    with open_ledger(out / "ledger.sqlite", loaded.policy) as ledger:
        release = sanitize_then_segment(
            input_dir,
            loaded,
            PURPOSE,
            keys,
            ledger,
            out,
            scanner=scanner_for(loaded.policy),
            rng=DPRandom.for_testing(5),
            now=NOW,
            backend=backend,
        )
    return release


def test_run_on_spark_releases_the_same_values_and_verifies(
    demo: tuple[LoadedPolicy, Path, KeyRing], spark: Any, tmp_path: Path
) -> None:
    pandas_run = _run(demo, tmp_path / "pandas", None)
    staging = tmp_path / "staging"
    backend = SparkBackend(spark, driver_bytes=0, staging=str(staging))
    spark_run = _run(demo, tmp_path / "spark", backend)
    # the rows kept on Spark for the run were deleted when it ended; no stage collected them
    assert staging.is_dir() and not any(staging.iterdir())
    assert not [n for n in spark_run.notes if "collected to the driver" in n], spark_run.notes
    # the same sanitized input and the same DP random stream: the same released values
    pd.testing.assert_frame_equal(pandas_run.segments, spark_run.segments)
    pd.testing.assert_frame_equal(pandas_run.personas, spark_run.personas)
    assert spark_run.epsilon_spent == pytest.approx(pandas_run.epsilon_spent)
    assert spark_run.epsilon_spent > 0
    # the analytics (funnel, A/B, retention, KPIs) reduced on Spark release the same tables
    assert [p.name for p in spark_run.analytics_files] == [
        p.name for p in pandas_run.analytics_files
    ]
    assert any(p.suffix == ".csv" for p in spark_run.analytics_files)
    for a, b in zip(pandas_run.analytics_files, spark_run.analytics_files, strict=True):
        if a.suffix == ".csv":
            pd.testing.assert_frame_equal(pd.read_csv(a), pd.read_csv(b))
    # the release guard wrote the marketing files; the audit passes on the Spark run
    assert spark_run.marketing_files
    report = verify_run(spark_run.run_dir, ledger_path=tmp_path / "spark" / "ledger.sqlite")
    assert report is not None
    # lineage records the engine and the Spark application id
    events = [json.loads(line) for line in spark_run.lineage_events.read_text().splitlines()]
    facets = events[-1]["run"]["facets"]
    assert facets["processing_engine"]["name"] == "spark"
    assert facets["spark_applicationDetails"]["applicationId"] == spark.sparkContext.applicationId
    pandas_events = pandas_run.lineage_events.read_text().splitlines()
    assert "spark_applicationDetails" not in json.loads(pandas_events[-1])["run"]["facets"]
