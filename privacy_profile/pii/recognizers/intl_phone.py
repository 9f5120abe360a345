"""PHONE_NUMBER: phone numbers with a country code other than +86 (Hong Kong, Macau, Taiwan,
Singapore, Malaysia and other Asia-Pacific and common codes).

A number is ``+`` / ``00`` / ``＋``, a listed country code, an optional ``(0)`` trunk prefix and
digit groups separated by spaces, dashes, dots or brackets; it is valid when its national
digit count is within the code's range (:data:`NATIONAL_DIGITS`, ITU E.164 national
numbering plans) and, where the plan says so, it starts with an allocated leading digit.
Hong Kong, Macau and Taiwan codes are also accepted without ``+`` when written ``(852)``,
``852-`` and the like next to a context word. Mainland numbers (+86) are ``CN_MOBILE`` /
``CN_LANDLINE``.
"""

from __future__ import annotations

import re
from typing import ClassVar

from privacy_profile.pii._checks import DIGITS as D
from privacy_profile.pii._checks import in_machine_token
from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Match, Pattern

#: Country code -> (fewest, most) national digits, and allowed first national digits ("" any).
NATIONAL_DIGITS: dict[str, tuple[int, int, str]] = {
    "852": (8, 8, "235679"),  # Hong Kong
    "853": (8, 8, "268"),  # Macau
    "886": (8, 9, "23456789"),  # Taiwan (mobiles 9 + 8 digits)
    "65": (8, 8, "3689"),  # Singapore
    "60": (8, 10, "13456789"),  # Malaysia (mobiles 1x)
    "81": (9, 10, "123456789"),  # Japan
    "82": (8, 10, "123456789"),  # South Korea
    "61": (9, 9, "23478"),  # Australia
    "64": (8, 10, "2345679"),  # New Zealand
    "63": (9, 10, "2345689"),  # Philippines
    "66": (8, 9, "2345689"),  # Thailand
    "62": (8, 12, "2345689"),  # Indonesia
    "84": (9, 10, "235789"),  # Vietnam
    "855": (8, 9, "123456789"),  # Cambodia
    "95": (7, 10, "123456789"),  # Myanmar
    "91": (10, 10, "6789"),  # India (mobiles)
    "1": (10, 10, "23456789"),  # North America
    "44": (10, 10, "1237"),  # United Kingdom
}
_CC = "|".join(sorted(NATIONAL_DIGITS, key=len, reverse=True))
_G = r"[ \-.\u00a0]?"  # a group separator
_BODY = rf"(?:\(0\)[ ]?)?[(（]?{D}{{1,4}}[)）]?(?:{_G}{D}){{5,12}}"
_NEAR = "(?:(?:[+＋]|00|００)[ ]?)"
_GROUP_SEP = frozenset(" -.\u00a0")


class IntlPhoneRecognizer(ContextPatternRecognizer):
    """``+cc`` and a national number of the code's length (see the module docstring)."""

    ENTITY = "PHONE_NUMBER"
    PREFILTER = rf"(?:[+＋]|00|85[23]|886)[)）]?[ \-]?[(（]?{D}"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        (
            "intl",
            rf"(?<![0-9０-９A-Za-z])(?P<v>{_NEAR}[(（]?(?:{_CC})[)）]?[ \-]?{_BODY})(?![0-9０-９])",
            0.8,
        ),
        (
            "greater_china_paren",
            rf"(?<![0-9０-９+＋])(?P<v>[(（](?:852|853|886)[)）][ \-]?{_BODY})(?![0-9０-９])",
            0.6,
        ),
        (
            "greater_china_bare",
            rf"(?<![0-9０-９+＋(（])(?P<v>(?:852|853|886)[ \-]{_BODY})(?![0-9０-９])",
            0.45,
        ),
    )
    CONTEXT = (
        "电话", "手机", "联系", "致电", "号码", "tel", "phone", "mobile", "call", "whatsapp",
        "香港", "澳门", "台湾", "新加坡", "马来西亚", "line", "热线", "客服",
    )  # fmt: skip

    def matches(self, text: str) -> list[Match]:
        """The patterns' matches; a match whose digits are too many for its code is cut back
        to the longest valid number ending at a group boundary (``+65 8610 1302 2007年``);
        none inside a hex digest or a UUID (as the other number recognizers)."""
        out: list[Match] = []
        taken: list[tuple[int, int]] = []
        for name, rx, base in self._patterns:
            for m in rx.finditer(text):
                start, end = m.span("v")
                if any(a < end and start < b for a, b in taken):
                    continue
                if in_machine_token(text, start, end):  # "00828369-0781" inside a run id
                    continue
                value = text[start:end]
                cuts = [end] + [
                    start + i for i in range(len(value) - 1, 0, -1) if value[i] in _GROUP_SEP
                ]
                for cut in cuts:
                    score = self.score_match(text, start, cut, base)
                    if score is not None:
                        out.append((start, cut, min(score, 1.0), name))
                        taken.append((start, cut))
                        break
        return out

    def validate_result(self, pattern_text: str) -> bool | None:
        m = re.match(r"[+＋]?\s?(?:00)?\s?[(（]?([0-9]+)", pattern_text)
        if m is None:
            return False
        head = m.group(1)
        digits = re.sub(r"\(0\)", "", pattern_text[m.end() :])
        national = "".join(c for c in digits if c.isdigit())
        for k in (3, 2, 1):  # the code is the head's longest listed prefix
            cc = head[:k]
            if cc in NATIONAL_DIGITS:
                rest = head[k:] + national
                lo, hi, first = NATIONAL_DIGITS[cc]
                if rest.startswith("0"):  # a trunk 0 written without brackets
                    rest = rest[1:]
                return lo <= len(rest) <= hi and (not first or rest[0] in first)
        return False
