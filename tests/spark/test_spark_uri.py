"""The Spark engine reads inputs given as URIs itself (``file://`` here; ``hdfs://`` and
``s3a://`` go the same way) and gives what the pandas loop gives from the plain paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from privacy_profile import scanner_for
from privacy_profile.ingest import KeyRing
from privacy_profile.ingest.sanitize import sanitize
from privacy_profile.policy import LoadedPolicy
from privacy_profile.spark import SparkBackend

from .conftest import NOW, PURPOSE

pytestmark = pytest.mark.slow


def test_sanitize_on_spark_from_a_file_uri_equals_pandas_from_the_path(
    demo: tuple[LoadedPolicy, Path, KeyRing], spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded, input_dir, keys = demo
    scanner = scanner_for(loaded.policy)
    a = sanitize(input_dir, loaded, PURPOSE, keys, now=NOW, scanner=scanner)
    read: list[str] = []
    reader = type(spark.read)
    for fmt in ("text", "csv", "json", "parquet"):  # record what Spark is asked to read
        original = getattr(reader, fmt)

        def spy(self: Any, path: str, *args: Any, _f: Any = original, **kw: Any) -> Any:
            read.append(path)
            return _f(self, path, *args, **kw)

        monkeypatch.setattr(reader, fmt, spy)
    backend = SparkBackend(spark, partitions=2, driver_bytes=0)
    b = sanitize(
        input_dir.as_uri(), loaded, PURPOSE, keys, now=NOW, scanner=scanner, backend=backend
    )
    data_tables = [t for t in a.tables if t != loaded.policy.subjects.table]
    inputs = [r for r in read if r.startswith(input_dir.as_uri())]
    assert data_tables and sorted(inputs) == sorted(
        f"{input_dir.as_uri()}/{loaded.policy.tables[t].file_name(t)}" for t in data_tables
    )
    # every other read is a kept table's checked rows in the staging directory
    assert all("/finished/part-" in r for r in read if r not in inputs)
    assert set(a.tables) == set(b.tables)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
        qa, qb = a.quarantine[name], b.quarantine[name]
        if len(qa):
            qa = qa.sort_values("_row", kind="stable").reset_index(drop=True)
            qb = qb.sort_values("_row", kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(qa, qb)
        assert a.report.tables[name] == b.report.tables[name]
    assert any(n.startswith("engine: ") and "spark" in n for n in b.report.notes)
