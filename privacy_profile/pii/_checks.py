"""Checksums and lookup tables shared by the recognizers (pure functions, no presidio).

The tables ship in ``privacy_profile/pii/data``:

* ``cn_bankcard_bin.csv`` -- Chinese bank card BIN prefixes with card length (MIT, hexindai/bcbc,
  see ``LICENSE.cn_bankcard_bin.txt``);
* ``cn_admin_*.csv`` -- administrative division codes and names, NBS 2023 (WTFPL,
  modood/Administrative-divisions-of-China, see ``LICENSE.cn_admin_divisions.txt``).
"""

from __future__ import annotations

import datetime as _dt
import re
from functools import cache

from privacy_profile._checksums import gb11643_check_char, luhn_check_digit, luhn_ok
from privacy_profile.refdata import read_rows

__all__ = [
    "DIGITS",
    "NUMBER_START",
    "area_codes",
    "bin_lengths",
    "gb11643_check_char",
    "in_machine_token",
    "is_valid_date",
    "is_valid_resident_id",
    "known_bin",
    "luhn_check_digit",
    "luhn_ok",
    "normalize",
    "province_codes",
]

#: A digit, ASCII or full-width (regex character class).
NUMBER_START = r"(?<![0-9０-９])(?<![0-9０-９][.．])"
"""A number starts here: not inside a longer number, nor in the fraction of a decimal."""

DIGITS = "[0-9０-９]"

_FULL_WIDTH = str.maketrans(
    "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ"
    "ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ＠．＋－",
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz@.+-",
)


_HEX = frozenset("0123456789abcdefABCDEF")
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
#: The shortest hex digest taken for a machine value (MD5; SHA-1 is 40, SHA-256 64).
MIN_DIGEST_HEX = 32


def _run(text: str, start: int, end: int, chars: frozenset[str]) -> tuple[int, int]:
    left, right = start, end
    while left > 0 and text[left - 1] in chars:
        left -= 1
    while right < len(text) and text[right] in chars:
        right += 1
    return left, right


def in_machine_token(text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` lies inside a hex digest or a UUID.

    A digest is a run of at least 32 ASCII hex characters holding a letter a-f (SHA-256
    digests of files, keys' fingerprints); a UUID is the 8-4-4-4-12 form (run ids). About
    one SHA-256 digest in 500 holds 11 decimal digits in a row that spell a mobile number,
    so number recognizers skip matches inside such machine values instead of flagging
    them by chance. A person's number hidden inside 32 hex characters is not caught: an
    accepted limit (docs/pii.md).
    """
    if not all(c in _HEX for c in text[start:end] if c.isascii() and c.isalnum()):
        return False
    left, right = _run(text, start, end, _HEX)
    run = text[left:right]
    if right - left >= MIN_DIGEST_HEX and not run.isdigit():
        return True
    left, right = _run(text, start, end, _HEX | {"-"})
    return any(
        m.start() <= start - left and end - left <= m.end()
        for m in _UUID.finditer(text[left:right])
    )


def normalize(text: str) -> str:
    """Full-width digits, Latin letters and ``@.+-`` to ASCII (same length, so spans hold)."""
    return text.translate(_FULL_WIDTH)


@cache
def bin_lengths() -> dict[str, frozenset[int]]:
    """BIN prefix -> the card lengths issued under it."""
    table: dict[str, set[int]] = {}
    for row in read_rows("cn_bankcard_bin.csv"):
        table.setdefault(row["bin"], set()).add(int(row["length"]))
    return {k: frozenset(v) for k, v in table.items()}


@cache
def _bin_prefix_lengths() -> tuple[int, ...]:
    return tuple(sorted({len(k) for k in bin_lengths()}, reverse=True))


def known_bin(digits: str) -> bool:
    """True when ``digits`` starts with a BIN of the table issued at exactly this length."""
    table = bin_lengths()
    for n in _bin_prefix_lengths():
        lengths = table.get(digits[:n])
        if lengths is not None and len(digits) in lengths:
            return True
    return False


@cache
def province_codes() -> frozenset[str]:
    """Two-digit province codes (plus 71 Taiwan, 81 Hong Kong, 82 Macau used on IDs)."""
    return frozenset({r["code"] for r in read_rows("cn_admin_provinces.csv")} | {"71", "81", "82"})


@cache
def area_codes() -> tuple[str, ...]:
    """Six-digit county-level codes (2023); IDs issued under retired codes exist too."""
    return tuple(r["code"] for r in read_rows("cn_admin_areas.csv"))


def is_valid_date(yyyymmdd: str, *, today: _dt.date | None = None) -> bool:
    """A real calendar date between 1900-01-01 and today."""
    try:
        day = _dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return _dt.date(1900, 1, 1) <= day <= (today or _dt.date.today())


def is_valid_resident_id(value: str) -> bool:
    """18-digit ID (province, birth date, MOD 11-2) or 15-digit legacy ID (province, date).

    ``value`` must already be normalized (ASCII, upper-case X). The county code is checked at
    province level only: IDs issued under county codes retired since keep their number.
    """
    if len(value) == 18:
        if not value[:17].isdigit() or value[:2] not in province_codes():
            return False
        if not is_valid_date(value[6:14]):
            return False
        return gb11643_check_char(value[:17]) == value[17].upper()
    if len(value) == 15 and value.isdigit():
        return value[:2] in province_codes() and is_valid_date("19" + value[6:12])
    return False
