"""CN_MOBILE: mainland mobile numbers, with +86/0086, spaces, dashes and full-width digits."""

from __future__ import annotations

from typing import ClassVar

from privacy_profile.pii._checks import DIGITS as D
from privacy_profile.pii._checks import NUMBER_START as NS
from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Pattern

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
    PREFILTER = "[1１][0-9０-９]"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        (
            "cn_mobile",
            rf"{NS}(?:(?:[+＋]|00|００)[ \-]?(?:86|８６)[ \-－]?)?"
            rf"(?P<v>[1１]{D}{{2}}{_SEP}{D}{{4}}{_SEP}{D}{{4}})(?![0-9０-９])",
            0.75,
        ),
    )
    CONTEXT = ("手机", "电话", "联系", "tel", "phone", "mobile", "call", "致电", "号码")

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = "".join(c for c in pattern_text if c.isdigit())
        return len(digits) == 11 and digits[:3] in _PREFIXES
