"""Writing the marketing outputs (JSON, CSV, Parquet) and, separately, activation audiences.

Writes are atomic (a temporary file in the same folder, then ``os.replace``). If a ``guard``
is given it is called on every table before anything is written, so a guard that raises
(e.g. :class:`~privacy_profile.errors.LeakDetectedError`) leaves the folder untouched.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from privacy_profile._io import atomic_write_bytes, atomic_write_text, parquet_bytes
from privacy_profile.segments.build import SegmentRelease

__all__ = [
    "Guard",
    "marketing_documents",
    "write_audiences",
    "write_marketing_outputs",
]

Guard = Callable[[str, pd.DataFrame], None]

DECIMALS = 4
"""Released values are rounded to this many decimals (post-processing, no privacy cost)."""


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item"):
        return _clean(v.item())
    if v is pd.NA:
        return None
    return v


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _clean(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def marketing_documents(release: SegmentRelease) -> dict[str, pd.DataFrame | dict[str, Any]]:
    """The marketing outputs by file name: each table as CSV (with a byte-order mark, for
    Excel), as Parquet and as a JSON document carrying the run id and the epsilon of every
    release. Never an audience."""
    docs: dict[str, pd.DataFrame | dict[str, Any]] = {}
    for name, table in release.marketing_tables().items():
        df = table.round(DECIMALS)  # post-processing: noisy values carry no more precision
        docs[f"{name}.json"] = {
            "run_id": release.run_id,
            "table": name,
            "epsilon_per_release": release.epsilon,
            "rows": _records(df),
        }
        docs[f"{name}.csv"] = df
        docs[f"{name}.parquet"] = df
    return docs


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


def write_audiences(release: SegmentRelease, out_dir: str | Path) -> list[Path]:
    """One CSV of tokens per segment (activation only); nothing when there are none."""
    if not release.audiences:
        return []
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for key, df in sorted(release.audiences.items()):
        p = out / f"audience_{key.replace(':', '_')}.csv"
        atomic_write_text(p, df.to_csv(index=False))
        written.append(p)
    return written
