"""Release outputs as files: how a DataFrame, a JSON-like object or a text is serialized
(CSV with a byte-order mark, Parquet, JSON, text), read back, and walked cell by cell for
the release guard (every header, cell and JSON leaf, with where it is)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd

from privacy_profile._io import parquet_bytes

__all__ = ["Output", "cell_text", "output_cells", "read_output", "serialize_output"]

# A DataFrame (CSV or Parquet), a JSON-like mapping or list (JSON), or text.
Output: TypeAlias = Any


def cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _walk(obj: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            yield f"{path}.<key>", str(k)
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{path}[{i}]")
    else:
        text = cell_text(obj)
        if text:
            yield path, text


def output_cells(name: str, obj: Output) -> Iterator[tuple[str, str, int | None, str]]:
    if isinstance(obj, pd.DataFrame):
        for col in obj.columns:
            yield name, "<header>", None, str(col)
            for row, value in enumerate(obj[col].tolist()):
                text = cell_text(value)
                if text:
                    yield name, str(col), row, text
    elif isinstance(obj, str):
        body: str = obj
        for lineno, line in enumerate(body.splitlines(), start=1):
            if line.strip():
                yield name, "<text>", lineno, line
    else:
        for path, text in _walk(obj, "$"):
            yield name, path, None, text


def serialize_output(name: str, obj: Output) -> bytes:
    if isinstance(obj, pd.DataFrame):
        if name.endswith(".parquet"):
            return parquet_bytes(obj)
        # utf-8-sig: a byte-order mark, so that Excel shows Chinese labels
        csv: str = obj.to_csv(index=False, lineterminator="\n")
        return csv.encode("utf-8-sig")
    if isinstance(obj, str):
        return str(obj).encode("utf-8")
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def read_output(path: Path) -> Output:
    if path.suffix == ".csv":  # utf-8-sig reads files with and without a byte-order mark
        frame: Output = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        return frame
    if path.suffix == ".parquet":
        table: Output = pd.read_parquet(path)
        return table
    if path.suffix == ".json":
        data: Any = json.loads(path.read_text(encoding="utf-8-sig"))
        if isinstance(data, Mapping | list):
            return data if isinstance(data, list) else dict(data)
        return str(data)
    return path.read_text(encoding="utf-8-sig")
