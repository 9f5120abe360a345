"""The executors stage sanitized partitions as Parquet files and the driver reads back only the
files the partitions named; the staging directory is private, removed after each table, and a
cluster without one is refused before anything is read."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from privacy_profile.errors import InputError
from privacy_profile.ingest import KeyRing
from privacy_profile.ingest.sanitize import sanitize
from privacy_profile.policy import LoadedPolicy
from privacy_profile.spark import SparkBackend
from privacy_profile.spark.ingest import STAGING_CONF, staging_root
from privacy_profile.spark.tasks import read_staged, write_staged

from .conftest import NOW, PURPOSE


class _Conf:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.values.get(key, default)


class _Context:
    def __init__(self, master: str) -> None:
        self.master = master


class _Session:
    """What :func:`staging_root` reads of a SparkSession (no JVM needed)."""

    def __init__(self, master: str, conf: dict[str, str] | None = None) -> None:
        self.sparkContext = _Context(master)
        self.conf = _Conf(conf or {})


def test_a_cluster_without_a_staging_directory_is_refused() -> None:
    with pytest.raises(InputError) as err:
        staging_root(_Session("spark://head:7077"))
    assert STAGING_CONF in (err.value.hint or "")
    assert "spark://head:7077" in str(err.value)


def test_the_staging_directory_comes_from_the_argument_then_the_conf(tmp_path: Path) -> None:
    given = _Session("yarn", {STAGING_CONF: "hdfs:///pp/staging"})
    assert staging_root(given) == ("hdfs:///pp/staging", False)
    assert staging_root(given, str(tmp_path)) == (str(tmp_path), False)
    relative = staging_root(_Session("yarn", {STAGING_CONF: "stage"}))[0]
    assert Path(relative).is_absolute()


def test_batch_rows_must_be_positive() -> None:
    with pytest.raises(InputError, match="batch_rows"):
        SparkBackend(_Session("local[2]"), batch_rows=0)


def test_a_local_master_gets_a_private_temporary_directory() -> None:
    root, created = staging_root(_Session("local[2]"))
    try:
        assert created
        assert stat.S_IMODE(Path(root).stat().st_mode) == 0o700
    finally:
        Path(root).rmdir()


def test_only_the_named_files_are_read_back_in_record_order(tmp_path: Path) -> None:
    def frame(rows: list[int], name: str) -> pd.DataFrame:
        index = pd.Index(rows, name="_row", dtype="int64")
        values = pd.array([f"{name}{r}" for r in rows], dtype="string")
        return pd.DataFrame({"v": values, "n": pd.array(rows, dtype="Int64")}, index=index)

    late = write_staged(str(tmp_path), frame([5, 7], "b"))
    early = write_staged(str(tmp_path), frame([1, 2], "a"))
    write_staged(str(tmp_path), frame([3], "retried"))  # a failed attempt's leftover
    back = read_staged([late, early])
    pd.testing.assert_frame_equal(back, frame([1, 2, 5, 7], "x").assign(v=back["v"]))
    assert back["v"].tolist() == ["a1", "a2", "b5", "b7"]
    assert str(back["v"].dtype) == "string"


@pytest.mark.slow
def test_a_spark_sanitize_leaves_nothing_in_the_staging_directory_after_cleanup(
    demo: tuple[LoadedPolicy, Path, KeyRing], spark: Any, tmp_path: Path
) -> None:
    loaded, input_dir, keys = demo
    staging = tmp_path / "staging"
    staging.mkdir()
    batch_conf = "spark.sql.execution.arrow.maxRecordsPerBatch"
    spark.conf.set(batch_conf, "1234")
    backend = SparkBackend(spark, driver_bytes=0, staging=str(staging))
    res = sanitize(input_dir, loaded, PURPOSE, keys, now=NOW, backend=backend)
    assert spark.conf.get(batch_conf) == "1234"  # the session's own setting is given back
    spark.conf.unset(batch_conf)
    data = [t for t in res.tables if t != loaded.policy.subjects.table]
    assert data
    for name in data:
        assert res.report.tables[name].accepted_rows == len(res.tables[name])
    assert sum(len(res.tables[t]) for t in data) > 0
    # the kept tables live there until the run ends (the engine calls cleanup)
    assert sorted(p.name.split("-", 1)[1] for p in staging.iterdir()) == sorted(data)
    backend.cleanup()
    assert list(staging.iterdir()) == []


def test_spark_row_ids_become_record_numbers_in_file_order() -> None:
    from collections import Counter

    import numpy as np

    from privacy_profile.spark.tasks import RowIds

    # input partitions 0, 1 and 3 held 3, 2 and 4 rows; partition 2 held none
    ids = RowIds(Counter({0: 3, 1: 2, 3: 4}))
    spark_ids = np.array([(1 << 33) + 1, 0, 2, (3 << 33) + 3, 1 << 33, (3 << 33)], dtype=np.int64)
    assert ids.records(spark_ids).tolist() == [5, 1, 3, 9, 4, 6]
    assert ids.records(np.array([], dtype=np.int64)).tolist() == []


@pytest.mark.slow
def test_a_failed_spark_job_is_an_engine_error_without_the_rows(
    demo: tuple[LoadedPolicy, Path, KeyRing], spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyspark.sql import functions as F

    from privacy_profile.errors import EngineError
    from privacy_profile.spark import ingest as spark_ingest

    loaded, input_dir, keys = demo
    secret = "oSECRETopenid0000000001"

    def broken_read(self: Any, run: Any, name: str, spec: Any) -> Any:
        # lines that are strings, not bytes: the executors' parsing fails on every row
        rows = spark.range(4).select(
            F.lit(secret).alias(spark_ingest._LINE), F.col("id").alias(spark_ingest.ROW)
        )
        header = spark_ingest.csv_header(run.inputs.location(name, spec), name, spec.encoding)
        return rows, tuple(header), True

    monkeypatch.setattr(SparkBackend, "_read", broken_read)
    backend = SparkBackend(spark, driver_bytes=0)
    with pytest.raises(EngineError) as err:
        sanitize(input_dir, loaded, PURPOSE, keys, now=NOW, backend=backend)
    assert "failed (" in str(err.value) and "nothing was spent" in str(err.value)
    assert secret not in str(err.value) and secret not in (err.value.hint or "")
    assert spark.sparkContext.applicationId in (err.value.hint or "")
