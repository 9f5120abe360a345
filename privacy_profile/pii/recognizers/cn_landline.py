"""CN_LANDLINE: fixed-line numbers (with a trunk area code 010 / 02x / 0xxx, or a bare local
number next to a context word), extensions (转 / ext / 分机 / #), 400 and 800 service numbers,
and a ``+86`` / ``0086`` country code kept inside the span."""

from __future__ import annotations

import re
from typing import ClassVar

from privacy_profile.pii._checks import DIGITS as D
from privacy_profile.pii._checks import NUMBER_START as NS
from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Match, Pattern

_AREA = rf"[0０](?:[1１][0０]|[2２]{D}|[3-9３-９]{D}{{2}})"


#: The context words as a pre-filter group (a bare local number needs one).
_CTX = "(?i:电话|座机|固话|tel|phone|fax|传真|致电|联系|热线|客服)"
_CC = r"(?:(?:[+＋]|00|００)[ \-]?[(（]?(?:86|８６)[)）]?[ \-－]?)"
_EXT = rf"(?:[ ]?(?:[-－#＃转]|分机|ext\.?|x)[ ]?{D}{{1,5}})"


class CnLandlineRecognizer(ContextPatternRecognizer):
    """Area code + 7-8 digit local number; bare digit runs need a context word."""

    ENTITY = "CN_LANDLINE"
    PREFILTER = (
        rf"(?:^|[^0-9０-９])[(（]?{_AREA}[)）]?[ \-－]?{D}{{3}}"
        rf"|[48４８][0０]{{2}}[ \-－]?{D}{{3}}"
        rf"|(?:86|８６)[)）]?[ \-－]?[(（]?[1-9１-９]{D}{{1,2}}[)）]?[ \-－]{D}{{3}}"
        rf"|{_CTX}[\s\S]*?[2-8２-８]{D}{{2,3}}[ \-－]?{D}{{4}}"
        rf"|[2-8２-８]{D}{{2,3}}[ \-－]?{D}{{4}}[\s\S]*?{_CTX}"
    )
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        # (010)12345678, 010-12345678, 0571 8888 8888, +86 10 1234 5678, optional extension
        (
            "cn_landline_sep",
            rf"{NS}(?P<v>(?:{_CC}[(（]?[1-9１-９]{D}{{1,2}}[)）]?|[(（]?{_AREA}[)）]?)"
            rf"[ \-－]{D}{{3,4}}[ \-－]?{D}{{4}}{_EXT}?)(?![0-9０-９])",
            0.6,
        ),
        ("cn_landline_paren", rf"(?P<v>[(（]{_AREA}[)）]{D}{{7,8}}{_EXT}?)(?![0-9０-９])", 0.6),
        ("cn_landline_bare", rf"{NS}(?P<v>{_AREA}{D}{{7,8}}{_EXT}?)(?![0-9０-９])", 0.3),
        # 400-123-4567 / 800 820 8820: nationwide service numbers
        (
            "cn_service",
            rf"{NS}(?P<v>[48４８][0０]{{2}}[ \-－]?{D}{{3}}[ \-－]?{D}{{4}})(?![0-9０-９])",
            0.6,
        ),
        # 8888 6666 / 6234-5678 (no area code): only next to a context word
        (
            "cn_local",
            rf"{NS}(?<![0-9０-９][ \-－)）])(?<![)）] )(?<![转#＃x])"
            rf"(?P<v>[2-8２-８]{D}{{2,3}}[ \-－]?{D}{{4}}{_EXT}?)(?![0-9０-９])",
            0.3,
        ),
    )
    CONTEXT = (
        "电话",
        "座机",
        "固话",
        "tel",
        "phone",
        "fax",
        "传真",
        "致电",
        "联系",
        "热线",
        "客服",
    )

    def matches(self, text: str) -> list[Match]:
        """The patterns' matches; a bare local number only next to a context word."""
        local_min = self.PATTERNS[-1][2] + self.CONTEXT_BOOST
        return [m for m in super().matches(text) if m[3] != "cn_local" or m[2] >= local_min]

    def validate_result(self, pattern_text: str) -> bool | None:
        text = re.sub(r"^[^0-9]*(?:00|\+)[ \-(]*86[ \-)]*", "0", pattern_text)
        main = re.split(r"分机|转|ext|x|#|＃", text)[0]
        digits = "".join(c for c in main if c.isdigit())
        if digits[:3] in ("400", "800") and len(digits) == 10:
            return True
        if digits[0] != "0":  # a local number without area code (context required: score)
            return len(digits) in (7, 8)
        # area code (3-4) + local number (7-8) is 10-12 digits; a dash extension too
        local_start = 3 if digits[1] in "12" else 4
        local = digits[local_start:]
        return 7 <= len(local) <= 13 and local[0] not in "01"
