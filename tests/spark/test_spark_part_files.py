"""A table given as a directory of part files on Spark: Spark reads the parts itself, every CSV
part's header line is dropped, and record numbers continue from part to part in name order
(whatever partitions Spark packs the parts' splits into), so the run equals the pandas run on
the concatenated file: rows, counts, quarantine and record numbers; a line that is not UTF-8
names the part file and its own row, as on pandas."""

from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from privacy_profile.errors import InputError
from privacy_profile.ingest import KeyRing
from privacy_profile.ingest.sanitize import sanitize
from privacy_profile.policy import LoadedPolicy, load_policy_file
from privacy_profile.spark import SparkBackend

from .conftest import NOW, PURPOSE

pytestmark = pytest.mark.slow


def _parts(events: pd.DataFrame | list[bytes], n: int) -> list[tuple[int, int]]:
    size = len(events)
    cuts = [0, size // 5, size // 5 + 1, size // 2, size]  # one part of a single row
    return list(itertools.pairwise(cuts))[:n]


def _csv_dir(input_dir: Path, dest: Path, extra: bytes | None = None) -> tuple[Path, Path]:
    """A copy of the input with messy events lines: ``whole`` with events.csv, ``parted``
    with events.csv as a directory of four CSV parts, each with the header (as Spark writes)."""
    whole = dest / "whole"
    shutil.copytree(input_dir, whole)
    events = whole / "events.csv"
    lines = events.read_bytes().split(b"\n")
    header, body = lines[0], [x for x in lines[1:] if x]
    assert len(body) > 400
    body[30] = body[30] + b",extra"  # a malformed record
    body.insert(60, b"")  # a blank line
    body[70] = body[70] + b"\r"  # a CRLF ending
    if extra is not None:
        body.insert(len(body) // 2 + 7, extra)  # in the last part
    events.write_bytes(b"\n".join([header, *body]) + b"\n")
    parted = dest / "parted"
    shutil.copytree(whole, parted)
    (parted / "events.csv").unlink()
    folder = parted / "events.csv"
    folder.mkdir()
    for i, (a, b) in enumerate(_parts(body, 4)):
        part = b"\n".join([header, *body[a:b]]) + b"\n"
        (folder / f"part-{i:05d}-5e1f-c000.csv").write_bytes(part)
        (folder / f".part-{i:05d}-5e1f-c000.csv.crc").write_bytes(b"crc")
    (folder / "_SUCCESS").write_bytes(b"")
    return whole, parted


def _sorted(q: pd.DataFrame) -> pd.DataFrame:
    return q.sort_values("_row", kind="stable").reset_index(drop=True) if len(q) else q


def _small_splits(spark: Any) -> tuple[str, str]:
    key = "spark.sql.files.maxPartitionBytes"
    before = spark.conf.get(key)
    spark.conf.set(key, str(128 * 1024))  # parts over several splits, splits packed together
    return key, before


def test_csv_parts_on_spark_equal_pandas_on_the_whole_file(
    demo: tuple[LoadedPolicy, Path, KeyRing], spark: Any, tmp_path: Path
) -> None:
    loaded, input_dir, keys = demo
    whole, parted = _csv_dir(input_dir, tmp_path)
    a = sanitize(whole, loaded, PURPOSE, keys, now=NOW)
    key, before = _small_splits(spark)
    try:
        # the other tables (under 100 kB) run on the driver; several batches per split
        backend = SparkBackend(spark, driver_bytes=100_000, batch_rows=400)
        b = sanitize(parted, loaded, PURPOSE, keys, now=NOW, backend=backend)
    finally:
        spark.conf.set(key, before)
    ra, rb = a.report.tables["events"], b.report.tables["events"]
    assert ra.quarantined.get("malformed_record") == 1
    assert ra == rb and rb.reconciles()
    pd.testing.assert_frame_equal(a.tables["events"], b.tables["events"])
    qa, qb = _sorted(a.quarantine["events"]), _sorted(b.quarantine["events"])
    pd.testing.assert_frame_equal(qa, qb)
    assert qb.loc[qb["_reason"] == "malformed_record", "_row"].tolist() == [31]


def test_parquet_parts_on_spark_equal_pandas_on_the_whole_file(
    spark: Any, tmp_path: Path, policy_file: Path, demo: tuple[LoadedPolicy, Path, KeyRing]
) -> None:
    _, input_dir, keys = demo
    text = policy_file.read_text(encoding="utf-8")
    block = "  events:\n    format: csv\n"
    assert block in text
    (tmp_path / "policy.yaml").write_text(text.replace(block, "  events:\n    format: parquet\n"))
    loaded = load_policy_file(tmp_path / "policy.yaml")
    whole, parted = tmp_path / "whole", tmp_path / "parted"
    for d in (whole, parted):
        shutil.copytree(input_dir, d)
        (d / "events.csv").unlink()
    events = pd.read_csv(input_dir / "events.csv", dtype="string", keep_default_na=False)
    events.to_parquet(whole / "events.parquet", index=False)
    folder = parted / "events.parquet"
    folder.mkdir()
    for i, (a, b) in enumerate(_parts(events, 4)):
        events.iloc[a:b].to_parquet(folder / f"part-{i:05d}-c000.snappy.parquet", index=False)
    (folder / "_SUCCESS").write_bytes(b"")
    a = sanitize(whole, loaded, PURPOSE, keys, now=NOW)
    backend = SparkBackend(spark, driver_bytes=0, partitions=3, keep_tables=False)
    b = sanitize(parted, loaded, PURPOSE, keys, now=NOW, backend=backend)
    ra, rb = a.report.tables["events"], b.report.tables["events"]
    assert ra.input_rows == len(events) == rb.input_rows and rb.reconciles()
    assert ra == rb
    pd.testing.assert_frame_equal(a.tables["events"], b.tables["events"])
    pd.testing.assert_frame_equal(_sorted(a.quarantine["events"]), _sorted(b.quarantine["events"]))


def test_a_line_that_is_not_utf8_names_its_part_as_on_pandas(
    demo: tuple[LoadedPolicy, Path, KeyRing], spark: Any, tmp_path: Path
) -> None:
    loaded, input_dir, keys = demo
    line = b"oBad,view,\xff\xfe,x,2025-06-09,,0"
    _, parted = _csv_dir(input_dir, tmp_path, extra=line)
    with pytest.raises(InputError) as on_pandas:
        sanitize(parted, loaded, PURPOSE, keys, now=NOW)
    key, before = _small_splits(spark)
    try:
        backend = SparkBackend(spark, driver_bytes=100_000)
        with pytest.raises(InputError) as on_spark:
            sanitize(parted, loaded, PURPOSE, keys, now=NOW, backend=backend)
    finally:
        spark.conf.set(key, before)
    assert "part-00003-5e1f-c000.csv: table 'events'" in str(on_pandas.value)
    assert re.search(r"\(row \d+, line \d+\)", str(on_pandas.value))
    assert str(on_spark.value) == str(on_pandas.value)
