"""Issue 14 item 8 (readers): row-accurate CSV framing, encoding errors with a row number,
nested Parquet columns refused."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from privacy_profile.errors import InputError
from privacy_profile.ingest.readers import read_table
from privacy_profile.policy.model import Table


def _spec(fmt: str = "csv", encoding: str = "utf-8") -> Table:
    return Table.model_validate(
        {
            "format": fmt,
            "encoding": encoding,
            "retention_days": 30,
            "subject_column": "a",
            "columns": {
                "a": {"category": "system.operations", "role": "attribute", "treatment": "keep"}
            },
        }
    )


def _read(path: Path, spec: Table, block: int = 1 << 20) -> tuple[pd.DataFrame, list]:
    frames, bad = [], []
    for ch in read_table(path, "t", spec, block_bytes=block):
        frames.append(ch.frame)
        bad.extend(ch.malformed)
    return pd.concat(frames), bad


@pytest.mark.parametrize("block", [16, 1 << 20])
def test_one_stray_quote_quarantines_one_row_only(tmp_path: Path, block: int) -> None:
    f = tmp_path / "t.csv"
    rows = [f"{i},v{i},w{i}" for i in range(1, 41)]
    rows[4] = '5,"stray,w5'
    f.write_text("a,b,c\n" + "\n".join(rows) + "\n", encoding="utf-8")
    df, bad = _read(f, _spec(), block)
    assert [r for r, _ in bad] == [5]
    assert "quote" in bad[0][1] or "fields" in bad[0][1]
    assert df.index.tolist() == [i for i in range(1, 41) if i != 5]
    assert df.loc[40, "b"] == "v40"


def test_row_numbers_are_line_numbers_with_blank_lines_and_crlf(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_bytes(b"a,b\r\n1,x\r\n\r\n3,y\r\n4,z,extra\r\n5,w\r\n")
    df, bad = _read(f, _spec())
    assert df.index.tolist() == [1, 3, 5]
    assert bad == [(4, "expected 2 fields, found 3")]


def test_bad_utf8_is_reported_with_its_row(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_bytes(b"a,b\n1,x\n2,\xff\xfe\n3,z\n")
    with pytest.raises(InputError, match=r"row 2, line 3"):
        _read(f, _spec())


def test_nested_parquet_column_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "t.parquet"
    pd.DataFrame({"a": [["1", "2"], ["3"]]}).to_parquet(f)
    with pytest.raises(InputError, match="nested type"):
        _read(f, _spec("parquet"))
