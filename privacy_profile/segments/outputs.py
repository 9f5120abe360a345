"""Writing the marketing outputs (JSON + CSV) and, separately, activation audiences.

Writes are atomic (a temporary file in the same folder, then ``os.replace``). If a ``guard``
is given it is called on every table before anything is written, so a guard that raises
(e.g. :class:`~privacy_profile.errors.LeakDetectedError`) leaves the folder untouched.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from privacy_profile.segments.build import SegmentRelease

__all__ = ["Guard", "write_audiences", "write_marketing_outputs"]

Guard = Callable[[str, pd.DataFrame], None]


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def write_marketing_outputs(
    release: SegmentRelease, out_dir: str | Path, guard: Guard | None = None
) -> list[Path]:
    """Write ``segments``, ``personas``, ``recommendations`` and ``tree_rules`` as JSON and
    CSV into ``out_dir``; returns the paths written. No audience is ever written here."""
    out = Path(out_dir)
    tables = release.marketing_tables()
    if guard is not None:
        for name, df in tables.items():
            guard(name, df)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, df in tables.items():
        doc = {
            "run_id": release.run_id,
            "table": name,
            "epsilon_per_release": release.epsilon,
            "rows": _records(df),
        }
        jp = out / f"{name}.json"
        _atomic_write(jp, json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        cp = out / f"{name}.csv"
        _atomic_write(cp, df.to_csv(index=False))
        written += [jp, cp]
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
        _atomic_write(p, df.to_csv(index=False))
        written.append(p)
    return written
