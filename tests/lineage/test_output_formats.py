"""Marketing outputs: CSV with a byte-order mark (Excel shows Chinese labels), Parquet beside
it, and the audit re-scan reads both."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from privacy_profile.errors import LeakDetectedError
from privacy_profile.ingest import IdentifierIndex
from privacy_profile.lineage.guard import ReleaseGuard

LABELS = ["重要价值客户 important value", "一般挽留客户 general win-back"]
FRAME = pd.DataFrame({"label": LABELS, "dp_size": [120.5, 80.0]})


def test_release_writes_bom_csv_and_parquet(tmp_path: Path) -> None:
    guard = ReleaseGuard.for_run(IdentifierIndex())
    written = guard.release({"segments.csv": FRAME, "segments.parquet": FRAME}, tmp_path)
    assert {p.name for p in written} == {"segments.csv", "segments.parquet"}
    raw = (tmp_path / "segments.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw[3:].decode("utf-8").startswith("label,dp_size\n重要价值客户")
    back = pd.read_parquet(tmp_path / "segments.parquet")
    pd.testing.assert_frame_equal(back, FRAME)
    assert guard.find_leaks_in_files(written) == []  # BOM tolerated, Parquet read


def test_rescan_finds_an_identifier_in_a_parquet_output(tmp_path: Path) -> None:
    index = IdentifierIndex()
    index.add(pd.Series(["oAbCdEfGhIjKlMnOpQrStUvWxYz12"]), "user.unique_id.wechat_openid")
    guard = ReleaseGuard.for_run(index)
    planted = FRAME.assign(note=["-", "oAbCdEfGhIjKlMnOpQrStUvWxYz12"])
    with pytest.raises(LeakDetectedError):
        guard.release({"segments.parquet": planted}, tmp_path / "refused")
    assert not list((tmp_path / "refused").glob("*.parquet"))
    path = tmp_path / "tampered.parquet"
    planted.to_parquet(path, index=False)
    leaks = guard.find_leaks_in_files([path])
    assert leaks and leaks[0].output == "tampered.parquet" and leaks[0].column == "note"
