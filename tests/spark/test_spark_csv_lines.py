"""A UTF-8 CSV on Spark is read as physical lines and parsed on the executors by the CSV
reader's own code: blank lines, CRLF endings, records with too few or too many fields and an
unbalanced quote give exactly the pandas reader's rows, quarantine, counts and record numbers
(Spark's CSV source pads or truncates such records); a line that is not UTF-8 stops the run
with the pandas reader's located message."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from privacy_profile.errors import InputError
from privacy_profile.ingest import KeyRing
from privacy_profile.ingest.sanitize import sanitize
from privacy_profile.policy import LoadedPolicy
from privacy_profile.spark import SparkBackend

from .conftest import NOW, PURPOSE

pytestmark = pytest.mark.slow


def _messy_copy(input_dir: Path, dest: Path, extra: bytes | None = None) -> Path:
    shutil.copytree(input_dir, dest)
    events = dest / "events.csv"
    lines = events.read_bytes().split(b"\n")
    header, body = lines[0], [x for x in lines[1:] if x]
    assert len(body) > 400
    width = header.count(b",") + 1
    fields = body[10].split(b",")
    assert len(fields) == width
    body[10] = b",".join(fields[:-1])  # one field short
    body[50] = body[50] + b",extra"  # one field too many
    body[90] = body[90].replace(b",", b',"', 1)  # an unbalanced quote
    body[130] = body[130] + b"\r"  # a CRLF line ending
    body.insert(200, b"")  # a blank line
    body.insert(300, b"\r")  # a blank CRLF line
    if extra is not None:
        body.insert(350, extra)
    events.write_bytes(b"\n".join([header, *body]) + b"\n")
    return dest


def _sorted(q: pd.DataFrame) -> pd.DataFrame:
    return q.sort_values("_row", kind="stable").reset_index(drop=True) if len(q) else q


def test_messy_csv_lines_on_spark_equal_pandas(
    demo: tuple[LoadedPolicy, Path, KeyRing], spark: Any, tmp_path: Path
) -> None:
    loaded, input_dir, keys = demo
    messy = _messy_copy(input_dir, tmp_path / "input")
    a = sanitize(messy, loaded, PURPOSE, keys, now=NOW)
    key = "spark.sql.files.maxPartitionBytes"
    before = spark.conf.get(key)
    spark.conf.set(key, str(24 * 1024))  # lines and messy records across many input splits
    try:
        backend = SparkBackend(spark, partitions=3, driver_bytes=0, batch_rows=150)
        b = sanitize(messy, loaded, PURPOSE, keys, now=NOW, backend=backend)
    finally:
        spark.conf.set(key, before)
    ra, rb = a.report.tables["events"], b.report.tables["events"]
    assert ra.quarantined.get("malformed_record") == 3  # short, long, unbalanced quote
    assert ra == rb and rb.reconciles()
    pd.testing.assert_frame_equal(a.tables["events"], b.tables["events"])
    qa, qb = _sorted(a.quarantine["events"]), _sorted(b.quarantine["events"])
    pd.testing.assert_frame_equal(qa, qb)
    malformed = qb.loc[qb["_reason"] == "malformed_record", "_row"].tolist()
    assert malformed == [11, 51, 91]  # record numbers: line numbers - 1


def test_a_line_that_is_not_utf8_stops_the_run_as_on_pandas(
    demo: tuple[LoadedPolicy, Path, KeyRing], spark: Any, tmp_path: Path
) -> None:
    loaded, input_dir, keys = demo
    bad = _messy_copy(input_dir, tmp_path / "input", extra=b"oBad,view,\xff\xfe,x,2025-06-09,,0")
    with pytest.raises(InputError) as on_pandas:
        sanitize(bad, loaded, PURPOSE, keys, now=NOW)
    backend = SparkBackend(spark, partitions=2, driver_bytes=0)
    with pytest.raises(InputError) as on_spark:
        sanitize(bad, loaded, PURPOSE, keys, now=NOW, backend=backend)
    assert "row 351, line 352" in str(on_pandas.value)  # body line 350, after the header
    assert str(on_spark.value) == str(on_pandas.value)
    assert on_spark.value.hint == on_pandas.value.hint


def test_a_gbk_csv_on_spark_equals_pandas(
    demo: tuple[LoadedPolicy, Path, KeyRing], spark: Any, tmp_path: Path, policy_file: Path
) -> None:
    from privacy_profile.policy import load_policy_file

    _, input_dir, keys = demo
    text = policy_file.read_text(encoding="utf-8")
    block = "  events:\n    format: csv\n"
    assert block in text
    gbk_policy = tmp_path / "policy.yaml"
    gbk_policy.write_text(text.replace(block, block + "    encoding: gbk\n"))
    loaded = load_policy_file(gbk_policy)
    messy = _messy_copy(input_dir, tmp_path / "input")
    events = messy / "events.csv"
    raw = events.read_text(encoding="utf-8")
    assert any(ord(ch) > 0x3000 for ch in raw)  # Chinese categories and keywords
    events.write_bytes(raw.encode("gbk"))
    a = sanitize(messy, loaded, PURPOSE, keys, now=NOW)
    b = sanitize(messy, loaded, PURPOSE, keys, now=NOW, backend=SparkBackend(spark, driver_bytes=0))
    assert a.report.tables["events"] == b.report.tables["events"]
    assert a.report.tables["events"].quarantined.get("malformed_record") == 3
    pd.testing.assert_frame_equal(a.tables["events"], b.tables["events"])
    pd.testing.assert_frame_equal(_sorted(a.quarantine["events"]), _sorted(b.quarantine["events"]))
