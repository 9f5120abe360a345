"""Seeded synthetic identifiers for tests and benchmarks (never real people's identifiers).

Resident IDs use a real county code, a birth date and the GB 11643 check character; bank
cards a real BIN at its issued length plus the Luhn digit; phones a real mobile prefix.
The ``random.Random`` seed is an explicit test hook: this is test data, not key material.
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from dataclasses import dataclass

from privacy_profile.pii._checks import (
    area_codes,
    bin_lengths,
    gb11643_check_char,
    luhn_check_digit,
)
from privacy_profile.pii.recognizers.cn_mobile import _PREFIXES

__all__ = ["Labeled", "bank_card", "email", "embed", "mobile", "resident_id", "to_full_width"]

_FW = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass(frozen=True)
class Labeled:
    """A text with its gold spans: (start, end, entity type)."""

    text: str
    spans: tuple[tuple[int, int, str], ...]


def to_full_width(text: str) -> str:
    """ASCII digits to full-width digits."""
    return text.translate(_FW)


def resident_id(rng: random.Random) -> str:
    """An 18-digit ID: real county code, date 1950-2005, sequence, MOD 11-2 check."""
    area = rng.choice(area_codes())
    date = f"{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = f"{area}{date}{rng.randint(0, 999):03d}"
    return body + gb11643_check_char(body)


def bank_card(rng: random.Random) -> str:
    """A card number from a real BIN at its issued length, with the Luhn digit."""
    prefix, lengths = rng.choice(sorted(bin_lengths().items()))
    length = rng.choice(sorted(lengths))
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return body + luhn_check_digit(body)


def mobile(rng: random.Random, *, style: str | None = None) -> str:
    """A mobile number from a real prefix, in a random (or the given) written style."""
    digits = rng.choice(sorted(_PREFIXES)) + "".join(rng.choice(string.digits) for _ in range(8))
    style = style or rng.choice(["plain", "plain", "dash", "space", "+86", "fw"])
    if style == "dash":
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if style == "space":
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == "+86":
        return "+86 " + digits
    if style == "fw":
        return to_full_width(digits)
    return digits


def email(rng: random.Random) -> str:
    """A plausible e-mail address."""
    user = rng.choice(string.ascii_lowercase) + "".join(
        rng.choice(string.ascii_lowercase + string.digits + "._") for _ in range(rng.randint(3, 10))
    )
    user = user.rstrip("._") or "user"
    domain = rng.choice(["qq.com", "163.com", "126.com", "gmail.com", "foxmail.com", "sina.cn"])
    return f"{user}@{domain}"


_MAKERS = {
    "CN_MOBILE": mobile,
    "CN_RESIDENT_ID": resident_id,
    "BANK_CARD": bank_card,
    "EMAIL_ADDRESS": email,
}
_LEADS = {
    "CN_MOBILE": ["", "电话", "手机：", "联系", "tel "],
    "CN_RESIDENT_ID": ["", "身份证号", "证件："],
    "BANK_CARD": ["", "卡号", "银行卡："],
    "EMAIL_ADDRESS": ["", "邮箱", "email: "],
}


def embed(rng: random.Random, sentences: Sequence[str], entity: str) -> Labeled:
    """One identifier of type ``entity`` inserted into a sentence (with or without a lead)."""
    sentence = rng.choice(sentences)
    cut = rng.randint(0, len(sentence))
    before, after = sentence[:cut], sentence[cut:]
    if before and before[-1].isascii() and not before[-1].isspace():
        before += " "  # never glue an identifier to a Latin word
    if after and after[0].isascii() and after[0].isalnum():
        after = " " + after
    lead = rng.choice(_LEADS[entity])
    value = _MAKERS[entity](rng)  # a +86 country code is part of the number's span
    head = before + lead
    return Labeled(head + value + after, ((len(head), len(head) + len(value), entity),))
