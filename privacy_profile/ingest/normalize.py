"""Identifier normalizers: equal identifiers written differently get one form before hashing.

Vectorized over a pandas Series of unique values (the pseudonymizer de-duplicates first).
The normalizer is chosen by the column's data category.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

__all__ = [
    "Normalizer",
    "normalize_default",
    "normalize_email",
    "normalize_phone",
    "normalize_resident_id",
    "normalizer_for",
]

Normalizer = Callable[[pd.Series], pd.Series]


def normalize_default(s: pd.Series) -> pd.Series:
    """Trim surrounding white space (openids, unionids, customer ids)."""
    return s.astype("string").str.strip()


def normalize_phone(s: pd.Series) -> pd.Series:
    """Mobile numbers to 11 digits: full-width digits, spaces, dashes, dots and parentheses
    removed; a +86 / 0086 / 86 country prefix removed before an 11-digit 1xx number."""
    t = s.astype("string").str.normalize("NFKC").str.replace(r"[\s\-().]", "", regex=True)
    return t.str.replace(r"^(?:\+86|0086|86)(?=1\d{10}$)", "", regex=True)


def normalize_email(s: pd.Series) -> pd.Series:
    """E-mail addresses trimmed and lower-cased (full-width forms folded by NFKC)."""
    return s.astype("string").str.normalize("NFKC").str.strip().str.lower()


def normalize_resident_id(s: pd.Series) -> pd.Series:
    """Resident ID numbers: full-width folded, spaces removed, check character upper-case X."""
    return s.astype("string").str.normalize("NFKC").str.replace(r"\s", "", regex=True).str.upper()


_BY_CATEGORY: list[tuple[str, Normalizer]] = [
    ("user.contact.phone_number", normalize_phone),
    ("user.contact.email", normalize_email),
    ("user.government_id", normalize_resident_id),
]


def normalizer_for(category: str) -> Normalizer:
    """The normalizer of a data category (longest matching prefix; default: trim)."""
    for prefix, fn in _BY_CATEGORY:
        if category == prefix or category.startswith(prefix + "."):
            return fn
    return normalize_default
