"""A plain writer of a segment release's marketing documents, with an optional per-table guard
(test-only: the engine writes them through the release guard)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from privacy_profile._io import atomic_write_bytes, atomic_write_text, parquet_bytes
from privacy_profile.segments import SegmentRelease
from privacy_profile.segments.outputs import marketing_documents

Guard = Callable[[str, pd.DataFrame], None]


def write_marketing_outputs(
    release: SegmentRelease, out_dir: str | Path, guard: Guard | None = None
) -> list[Path]:
    """Write ``segments``, ``personas``, ``recommendations`` and ``tree_rules`` as JSON, CSV
    and Parquet into ``out_dir``; returns the paths written. No audience is ever written here."""
    out = Path(out_dir)
    if guard is not None:
        for name, df in release.marketing_tables().items():
            guard(name, df)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for fname, obj in marketing_documents(release).items():
        path = out / fname
        if isinstance(obj, pd.DataFrame) and fname.endswith(".parquet"):
            atomic_write_bytes(path, parquet_bytes(obj))
        elif isinstance(obj, pd.DataFrame):  # with a byte-order mark, for Excel
            atomic_write_bytes(path, obj.to_csv(index=False).encode("utf-8-sig"))
        else:
            atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")
        written.append(path)
    return written
