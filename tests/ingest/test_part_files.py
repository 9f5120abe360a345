"""A table given as a directory of part files (a Spark or Hive export) reads as the file the
parts concatenate to: the same sanitized rows, counts, quarantine and record numbers (they
continue from part to part); markers and hidden files are ignored; an empty directory, mixed
formats, compressed text parts, nested folders and parts whose headers differ are refused; an
error inside a part names the part file and its own row."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _ingest_helpers import NOW, PURPOSE, Shop, make_policy

from privacy_profile.errors import InputError
from privacy_profile.ingest import KeyRing, sanitize
from privacy_profile.ingest.readers import read_table
from privacy_profile.policy.model import Policy


def _split_csv(file: Path, folder: Path, cuts: list[int], *, header: bool = True) -> Path:
    """``file`` (a CSV) as part files of its data lines cut at ``cuts``, each with the header
    (as Spark writes them), plus Spark's marker and checksum files; ``file`` is removed."""
    lines = file.read_bytes().splitlines(keepends=True)
    head, body = lines[0], lines[1:]
    file.unlink()
    folder.mkdir()
    bounds = [0, *cuts, len(body)]
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        name = f"part-{i:05d}-2b1c-c000.csv"
        (folder / name).write_bytes((head if header else b"") + b"".join(body[a:b]))
        (folder / f".{name}.crc").write_bytes(b"crc")
    (folder / "_SUCCESS").write_bytes(b"")
    return folder


def _messy_events(shop: Shop) -> Path:
    """The shop's events.csv with a malformed record and a blank line in its middle."""
    events = shop.dir / "events.csv"
    lines = events.read_bytes().splitlines(keepends=True)
    lines.insert(15, b"too,few\n")
    lines.insert(25, b"\n")
    events.write_bytes(b"".join(lines))
    return events


def _same_run(a: Any, b: Any) -> None:
    assert set(a.tables) == set(b.tables)
    for t in a.tables:
        pd.testing.assert_frame_equal(a.tables[t], b.tables[t])
        assert a.report.tables[t].reconciles()
        ra, rb = a.report.tables[t], b.report.tables[t]
        assert (ra.input_rows, ra.accepted_rows, ra.excluded_rows, ra.quarantined_rows) == (
            rb.input_rows,
            rb.accepted_rows,
            rb.excluded_rows,
            rb.quarantined_rows,
        )
        assert ra.quarantined == rb.quarantined and ra.excluded == rb.excluded
    for t in a.quarantine:
        pd.testing.assert_frame_equal(a.quarantine[t], b.quarantine[t])


def test_a_directory_of_csv_parts_sanitizes_as_the_concatenated_file(
    shop: Shop, policy: Policy, keys: KeyRing, tmp_path: Path
) -> None:
    _messy_events(shop)
    whole = sanitize(shop.dir, policy, PURPOSE, keys, now=NOW)
    assert whole.report.tables["events"].quarantined.get("malformed_record") == 1
    parted = tmp_path / "parted"
    shutil.copytree(shop.dir, parted)
    # Spark names the output directory as the table's file: events.csv/part-*.csv
    _split_csv(parted / "events.csv", parted / "events.csv", [10, 20])
    by_parts = sanitize(parted, policy, PURPOSE, keys, now=NOW)
    _same_run(whole, by_parts)
    q = by_parts.quarantine["events"]
    # part 2 holds records 11-20
    assert q.loc[q["_reason"] == "malformed_record", "_row"].tolist() == [15]
    # a mapping of table name to directory works the same
    paths = {t: parted / spec.file_name(t) for t, spec in policy.tables.items()}
    _same_run(whole, sanitize(paths, policy, PURPOSE, keys, now=NOW))


def _chunks(path: Path, table: str, policy: Policy) -> tuple[pd.DataFrame, list[Any]]:
    chunks = list(read_table(path, table, policy.tables[table], chunk_rows=4))
    frame = pd.concat([c.frame for c in chunks])
    return frame, [m for c in chunks for m in c.malformed]


def _events_policy(fmt: str) -> Policy:
    def mutate(d: dict[str, Any]) -> None:
        d["tables"]["events"]["format"] = fmt

    return make_policy(mutate)


@pytest.mark.parametrize(
    ("fmt", "ext", "write"),
    [
        ("parquet", ".snappy.parquet", lambda f, p: f.to_parquet(p, index=False)),
        ("jsonl", ".json", lambda f, p: f.to_json(p, orient="records", lines=True)),
    ],
    ids=["parquet", "jsonl"],
)
def test_parquet_and_json_parts_read_as_the_concatenated_file(
    shop: Shop, tmp_path: Path, fmt: str, ext: str, write: Callable[[pd.DataFrame, Path], None]
) -> None:
    policy = _events_policy(fmt)
    events = pd.read_csv(shop.dir / "events.csv", dtype="string")
    whole = tmp_path / f"events{ext}"
    write(events, whole)
    folder = tmp_path / "events"
    folder.mkdir()
    for i, (a, b) in enumerate([(0, 7), (7, 8), (8, len(events))]):
        write(events.iloc[a:b], folder / f"part-{i:05d}{ext}")
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / ".part-00000.crc").write_bytes(b"x")
    fa, ma = _chunks(whole, "events", policy)
    fb, mb = _chunks(folder, "events", policy)
    pd.testing.assert_frame_equal(fa, fb)
    assert ma == mb
    assert fb.index.tolist() == list(range(1, len(events) + 1))


def test_a_part_with_only_a_header_and_empty_parts(
    shop: Shop, policy: Policy, tmp_path: Path
) -> None:
    whole, _ = _chunks(shop.dir / "events.csv", "events", policy)
    folder = _split_csv(shop.dir / "events.csv", tmp_path / "events", [0, 5, 5])
    (folder / "part-00009-empty.csv").write_bytes(b"")  # a task with no rows
    parted, _ = _chunks(folder, "events", policy)
    pd.testing.assert_frame_equal(whole, parted)


def _refused(folder: Path, policy: Policy) -> InputError:
    with pytest.raises(InputError) as info:
        list(read_table(folder, "events", policy.tables["events"]))
    return info.value


def test_an_empty_directory_is_refused(policy: Policy, tmp_path: Path) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / ".hidden.csv").write_bytes(b"a,b\n1,2\n")
    err = _refused(folder, policy)
    assert "holds no part file" in str(err) and str(folder) in str(err)


def test_mixed_formats_are_refused(shop: Shop, policy: Policy, tmp_path: Path) -> None:
    folder = _split_csv(shop.dir / "events.csv", tmp_path / "events", [10])
    (folder / "part-00002.parquet").write_bytes(b"PAR1")
    err = _refused(folder, policy)
    assert "mixes formats" in str(err) and "part-00002.parquet" in str(err)
    assert "tables.events.format" in (err.hint or "")


def test_compressed_text_parts_and_nested_folders_are_refused(
    shop: Shop, policy: Policy, tmp_path: Path
) -> None:
    folder = _split_csv(shop.dir / "events.csv", tmp_path / "events", [10])
    (folder / "part-00002.csv.gz").write_bytes(b"\x1f\x8b")
    err = _refused(folder, policy)
    assert "compressed" in str(err) and "part-00002.csv.gz" in str(err)
    (folder / "part-00002.csv.gz").unlink()
    (folder / "day=2026-11-30").mkdir()
    assert "day=2026-11-30" in str(_refused(folder, policy))


def test_parts_whose_headers_differ_are_refused(shop: Shop, policy: Policy, tmp_path: Path) -> None:
    folder = _split_csv(shop.dir / "events.csv", tmp_path / "events", [10, 20])
    second = folder / "part-00001-2b1c-c000.csv"
    text = second.read_text(encoding="utf-8").splitlines(keepends=True)
    text[0] = text[0].replace("item_id,category", "category,item_id")
    second.write_text("".join(text), encoding="utf-8")
    err = _refused(folder, policy)
    assert str(second) in str(err) and "another column order" in str(err)
    text[0] = text[0].replace("category,item_id", "category,sku")
    second.write_text("".join(text), encoding="utf-8")
    err = _refused(folder, policy)
    assert "missing ['item_id'], extra ['sku']" in str(err)


def test_an_error_inside_a_part_names_the_part_and_its_row(
    shop: Shop, policy: Policy, tmp_path: Path
) -> None:
    folder = _split_csv(shop.dir / "events.csv", tmp_path / "events", [10, 20])
    third = folder / "part-00002-2b1c-c000.csv"
    lines = third.read_bytes().splitlines(keepends=True)
    lines[3] = b"oX,view,\xff\xfe,x,2026-11-26T12:00:00,\n"  # not UTF-8, row 3 of the part
    third.write_bytes(b"".join(lines))
    err = _refused(folder, policy)
    assert f"{third}: table 'events' is not valid utf-8 text (row 3, line 4)" in str(err)
