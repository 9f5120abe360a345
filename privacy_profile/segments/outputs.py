"""The marketing documents (JSON, CSV, Parquet) of a segment release, and the activation
audiences.

The engine writes the marketing documents only through the release guard
(:class:`~privacy_profile.lineage.guard.ReleaseGuard`); audiences are token files written
atomically (a temporary file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from privacy_profile._io import atomic_write_text
from privacy_profile.segments.build import SegmentRelease

__all__ = [
    "DEV_KEYS_COLUMN",
    "IdentifierChecker",
    "audience_file_name",
    "mark_development_frame",
    "marketing_documents",
    "write_audiences",
]


class IdentifierChecker(Protocol):
    """What writing audiences needs of the release guard: refuse raw identifiers (audiences
    hold tokens by design, so only the raw-identifier check applies)."""

    def check_identifiers(self, outputs: Mapping[str, Any], *, what: str) -> None: ...


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
            "epsilon_per_release": {str(k): v for k, v in release.epsilon.items()},
            "rows": _records(df),
        }
        docs[f"{name}.csv"] = df
        docs[f"{name}.parquet"] = df
    return docs


DEV_KEYS_COLUMN = "development_keys"
"""The first column of a CSV made with development keys (every cell ``true``)."""


def mark_development_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with the ``development_keys`` column first (a CSV has no other
    place for metadata that survives a copy)."""
    out = frame.copy()
    out.insert(0, DEV_KEYS_COLUMN, pd.Series(["true"] * len(out), index=out.index, dtype=object))
    return out


def audience_file_name(key: str) -> str:
    """The token file of one segment's audience (``rfm:important_value`` ->
    ``audience_rfm_important_value.csv``)."""
    return f"audience_{key.replace(':', '_')}.csv"


def write_audiences(
    release: SegmentRelease,
    out_dir: str | Path,
    guard: IdentifierChecker,
    *,
    development_keys: bool = False,
) -> list[Path]:
    """One CSV of tokens per segment (activation only); nothing when there are none. The
    ``guard`` (the run's release guard) refuses them all before anything is written if one
    holds a raw identifier of the input. With ``development_keys`` each file's first column
    is ``development_keys`` (``true``): tokens under a throwaway key are recognisable."""
    if not release.audiences:
        return []
    files = {audience_file_name(key): df for key, df in sorted(release.audiences.items())}
    if development_keys:
        files = {name: mark_development_frame(df) for name, df in files.items()}
    guard.check_identifiers(files, what="activation audiences")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in files.items():
        p = out / name
        atomic_write_text(p, df.to_csv(index=False))
        written.append(p)
    return written
