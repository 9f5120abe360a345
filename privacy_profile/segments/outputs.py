"""Writing the marketing outputs (JSON + CSV) and, separately, activation audiences.

Writes are atomic (a temporary file in the same folder, then ``os.replace``). If a ``guard``
is given it is called on every table before anything is written, so a guard that raises
(e.g. :class:`~privacy_profile.errors.LeakDetectedError`) leaves the folder untouched.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from privacy_profile._io import atomic_write_text
from privacy_profile.segments.build import SegmentRelease

__all__ = [
    "Guard",
    "IdentifierChecker",
    "marketing_documents",
    "write_audiences",
    "write_marketing_outputs",
]

Guard = Callable[[str, pd.DataFrame], None]


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
    """The marketing outputs by file name: each table as CSV and as a JSON document carrying
    the run id and the epsilon of every release. Never an audience."""
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
    return docs


def write_marketing_outputs(
    release: SegmentRelease, out_dir: str | Path, guard: Guard | None = None
) -> list[Path]:
    """Write ``segments``, ``personas``, ``recommendations`` and ``tree_rules`` as JSON and
    CSV into ``out_dir``; returns the paths written. No audience is ever written here."""
    out = Path(out_dir)
    if guard is not None:
        for name, df in release.marketing_tables().items():
            guard(name, df)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for fname, obj in marketing_documents(release).items():
        path = out / fname
        if isinstance(obj, pd.DataFrame):
            atomic_write_text(path, obj.to_csv(index=False))
        else:
            atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")
        written.append(path)
    return written


def write_audiences(
    release: SegmentRelease, out_dir: str | Path, guard: IdentifierChecker
) -> list[Path]:
    """One CSV of tokens per segment (activation only); nothing when there are none. The
    ``guard`` (the run's release guard) refuses them all before anything is written if one
    holds a raw identifier of the input."""
    if not release.audiences:
        return []
    files = {
        f"audience_{key.replace(':', '_')}.csv": df for key, df in sorted(release.audiences.items())
    }
    guard.check_identifiers(files, what="activation audiences")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in files.items():
        p = out / name
        atomic_write_text(p, df.to_csv(index=False))
        written.append(p)
    return written
