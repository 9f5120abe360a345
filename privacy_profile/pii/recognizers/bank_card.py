"""BANK_CARD: Chinese bank cards by BIN prefix, length and Luhn digit."""

from __future__ import annotations

from typing import ClassVar

from privacy_profile.pii._checks import DIGITS as D
from privacy_profile.pii._checks import NUMBER_START as NS
from privacy_profile.pii._checks import (
    is_valid_resident_id,
    known_bin,
    luhn_ok,
    normalize,
)
from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Pattern

_S = r"[ \-－]"


class BankCardRecognizer(ContextPatternRecognizer):
    """15-19 digits passing Luhn with a known BIN issued at that length.

    Luhn alone accepts one random number in ten (order numbers!), so a card with an unknown
    BIN needs a context word (卡号, 银行卡, card). An 18-digit number that is also a valid
    resident ID (IDs from Gansu start with 62, like UnionPay) is left to the ID recognizer
    unless a card context word is near.
    """

    ENTITY = "BANK_CARD"
    PREFILTER = r"[0-9０-９]{4}[ \-－]?[0-9０-９]{4}[ \-－]?[0-9０-９]{4}"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        ("card_plain", rf"{NS}(?P<v>{D}{{15,19}})(?![0-9０-９])", 0.9),
        (
            "card_4x4",
            rf"{NS}(?P<v>{D}{{4}}(?:{_S}{D}{{4}}){{2,3}}(?:{_S}{D}{{1,3}})?)(?![0-9０-９])",
            0.9,
        ),
        ("card_6_13", rf"{NS}(?P<v>{D}{{6}}{_S}{D}{{9,13}})(?![0-9０-９])", 0.9),
    )
    CONTEXT = ("卡号", "银行卡", "银行", "储蓄卡", "信用卡", "借记卡", "card", "账号", "账户")
    UNKNOWN_BIN_SCORE: ClassVar[float] = 0.3

    def score_match(self, text: str, start: int, end: int, base: float) -> float | None:
        digits = "".join(c for c in normalize(text[start:end]) if c.isdigit())
        if not 15 <= len(digits) <= 19 or not luhn_ok(digits):
            return None
        context = self.has_context(text, start, end)
        if len(digits) == 18 and is_valid_resident_id(digits) and not context:
            return None
        score = base if known_bin(digits) else self.UNKNOWN_BIN_SCORE
        return min(1.0, score + (self.CONTEXT_BOOST if context else 0.0))
