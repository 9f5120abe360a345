"""Marking outputs made with development keys in each file's own metadata, so that such a file
is recognisable after it is copied away from its run folder: a ``development_keys`` column
(CSV), key-value metadata (Parquet), a top-level field (JSON), a ``<meta>`` tag (HTML)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from privacy_profile._io import PARQUET_METADATA_ATTR
from privacy_profile.segments.outputs import DEV_KEYS_COLUMN, mark_development_frame

__all__ = [
    "DEV_KEYS_COLUMN",
    "DEV_KEYS_HTML_META",
    "DEV_KEYS_METADATA_KEY",
    "DEV_KEYS_WARNING",
    "mark_development",
    "mark_development_frame",
]

DEV_KEYS_WARNING = "DEVELOPMENT KEYS: pseudonyms and tokens are not protected; demo use only"
DEV_KEYS_METADATA_KEY = "privacy_profile.development_keys"
"""The Parquet key-value metadata key (value ``true``); the warning is under ``...warning``."""
DEV_KEYS_HTML_META = '<meta name="privacy-profile-development-keys" content="true">'


def _mark(name: str, obj: Any) -> Any:
    if isinstance(obj, pd.DataFrame):
        if name.endswith(".parquet"):
            out = obj.copy(deep=False)
            out.attrs = {
                PARQUET_METADATA_ATTR: {
                    DEV_KEYS_METADATA_KEY: "true",
                    DEV_KEYS_METADATA_KEY + ".warning": DEV_KEYS_WARNING,
                }
            }
            return out
        return mark_development_frame(obj)
    if isinstance(obj, Mapping):
        return {**obj, DEV_KEYS_COLUMN: True, DEV_KEYS_COLUMN + "_warning": DEV_KEYS_WARNING}
    if isinstance(obj, str) and "<head>" in obj:
        return obj.replace("<head>", "<head>\n" + DEV_KEYS_HTML_META, 1)
    return obj


def mark_development(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Each output of a release (file name -> DataFrame, JSON-like mapping or text) marked
    as made with development keys, in the way its file format allows."""
    return {name: _mark(name, obj) for name, obj in outputs.items()}
