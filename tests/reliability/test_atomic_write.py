"""``_io.atomic_write_text`` writes the UTF-8 bytes of the text unchanged (no newline
translation) through ``atomic_write_bytes``; a failed write leaves the old file and no
temporary file."""

from __future__ import annotations

from pathlib import Path

import pytest

from privacy_profile._io import atomic_write_bytes, atomic_write_text


@pytest.mark.parametrize("text", ["a\nb\n", "a\r\nb\r\n", "重要价值客户 / important value\n", ""])
def test_text_is_written_as_its_utf8_bytes(tmp_path: Path, text: str) -> None:
    path = tmp_path / "out.csv"
    assert atomic_write_text(path, text) == path
    assert path.read_bytes() == text.encode("utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    atomic_write_bytes(path, b"old")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(path, "bad \udc80 surrogate")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
