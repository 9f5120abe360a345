"""CN_MOBILE: mainland mobile numbers, with +86/0086, spaces, dashes and full-width digits.

A country code written before the number is part of the span (``+86 138...`` is replaced
whole, so no stray ``+86`` is left in the text).
"""

from __future__ import annotations

from typing import ClassVar

from privacy_profile.pii._checks import DIGITS as D
from privacy_profile.pii._checks import NUMBER_START as NS
from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Match, Pattern

_SEP = r"[ \-－\u3000]?"
_PREFIXES = frozenset(
    [f"13{i}" for i in range(10)]
    + ["145", "146", "147", "148", "149"]
    + [f"15{i}" for i in "012356789"]
    + ["162", "165", "166", "167"]
    + [f"17{i}" for i in "012345678"]
    + [f"18{i}" for i in range(10)]
    + [f"19{i}" for i in "0123456789"]
)


class CnMobileRecognizer(ContextPatternRecognizer):
    """11-digit mobile number whose first three digits are an allocated mobile prefix."""

    ENTITY = "CN_MOBILE"
    PREFILTER = rf"[1１]{D}{{2}}{_SEP}{D}{{4}}"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        (
            "cn_mobile",
            rf"{NS}(?P<v>(?:[(（]?(?:[+＋]|00|００)[ \-]?[(（]?(?:86|８６)[)）]?[ \-－]?)?"
            rf"[1１]{D}{{2}}{_SEP}{D}{{4}}{_SEP}{D}{{4}})(?![0-9０-９])",
            0.75,
        ),
    )
    CONTEXT = ("手机", "电话", "联系", "tel", "phone", "mobile", "call", "致电", "号码")
    #: A cell holding just a number: 11 ASCII digits, optionally after +86.
    WHOLE_CELL = r"(?:\+86)?1[0-9]{10}"

    def whole_cells(self, cells: list[str]) -> list[list[Match]]:
        """The pattern's single match on such a cell is the whole cell (``+86`` included);
        it is valid when its last 11 digits start with an allocated prefix, and scored with
        the context found around it (none, but computed, not assumed)."""
        base = self.PATTERNS[0][2]
        name = self.PATTERNS[0][0]
        scores = {}
        for lead in ("", "+86"):
            context = self.has_context(lead + "1" * 11, 0, len(lead) + 11)
            scores[lead] = min(1.0, base + (self.CONTEXT_BOOST if context else 0.0))
        out: list[list[Match]] = []
        for t in cells:
            start = len(t) - 11
            if t[start : start + 3] in _PREFIXES:
                out.append([(0, len(t), scores[t[:start]], name)])
            else:
                out.append([])
        return out

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = "".join(c for c in pattern_text if c.isdigit())[-11:]
        return len(digits) == 11 and digits[:3] in _PREFIXES
