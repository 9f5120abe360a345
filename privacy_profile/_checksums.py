"""The check digits of Chinese identifiers, once: Luhn (bank cards) and GB 11643-1999
ISO 7064 MOD 11-2 (resident IDs), as scalar checks for the PII recognizers and vectorized
generators for the synthetic demo data."""

from __future__ import annotations

from typing import cast

import numpy as np
import numpy.typing as npt

__all__ = [
    "GB11643_CHARS",
    "GB11643_WEIGHTS",
    "gb11643_check_char",
    "gb11643_check_chars",
    "luhn_check_digit",
    "luhn_check_digits",
    "luhn_ok",
]

GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
GB11643_CHARS = "10X98765432"

_WEIGHTS = np.array(GB11643_WEIGHTS, dtype=np.int64)
_CHARS = np.array(list(GB11643_CHARS))


def luhn_check_digit(payload: str) -> str:
    """The Luhn digit to append to ``payload`` (ASCII digits)."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) check of a full number (ASCII digits)."""
    return len(digits) >= 2 and luhn_check_digit(digits[:-1]) == digits[-1]


def gb11643_check_char(first17: str) -> str:
    """GB 11643-1999 ISO 7064 MOD 11-2 check character of the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, GB11643_WEIGHTS, strict=True))
    return GB11643_CHARS[total % 11]


def _digits(values: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.int64]:
    """(n, width) decimal digits of non-negative integers, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers[None, :]) % 10


def gb11643_check_chars(body17: npt.NDArray[np.int64]) -> npt.NDArray[np.str_]:
    """GB 11643 check characters of 17-digit resident-ID bodies given as integers."""
    return cast(npt.NDArray[np.str_], _CHARS[(_digits(body17, 17) @ _WEIGHTS) % 11])


def luhn_check_digits(payload: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.int64]:
    """Luhn check digits of ``width``-digit payloads (the card number without its last digit)."""
    d = _digits(payload, width)
    # from the right, the payload's last digit is doubled, then every second one
    doubled = (np.arange(width - 1, -1, -1) % 2) == 0
    x = np.where(doubled[None, :], d * 2, d)
    x = np.where(x > 9, x - 9, x)
    return cast(npt.NDArray[np.int64], (10 - x.sum(axis=1) % 10) % 10)
