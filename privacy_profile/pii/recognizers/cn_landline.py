"""CN_LANDLINE: fixed-line numbers with a trunk area code (010, 02x, 0xxx)."""

from __future__ import annotations

from typing import ClassVar

from privacy_profile.pii._checks import DIGITS as D
from privacy_profile.pii._checks import NUMBER_START as NS
from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Pattern

_AREA = rf"[0０](?:[1１][0０]|[2２]{D}|[3-9３-９]{D}{{2}})"


class CnLandlineRecognizer(ContextPatternRecognizer):
    """Area code + 7-8 digit local number; bare digit runs need a context word."""

    ENTITY = "CN_LANDLINE"
    PREFILTER = rf"(?:^|[^0-9０-９])[(（]?{_AREA}[)）]?[ \-－]?{D}{{3}}"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        # (010)12345678, 010-12345678, 0571 8888 8888, optional extension
        (
            "cn_landline_sep",
            rf"{NS}(?P<v>[(（]?{_AREA}[)）]?[ \-－]{D}{{3,4}}[ \-－]?{D}{{4}}"
            rf"(?:[-－转#]{D}{{1,5}})?)(?![0-9０-９])",
            0.6,
        ),
        ("cn_landline_paren", rf"(?P<v>[(（]{_AREA}[)）]{D}{{7,8}})(?![0-9０-９])", 0.6),
        ("cn_landline_bare", rf"{NS}(?P<v>{_AREA}{D}{{7,8}})(?![0-9０-９])", 0.3),
    )
    CONTEXT = ("电话", "座机", "固话", "tel", "phone", "fax", "传真", "致电", "联系")

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = "".join(c for c in pattern_text if c.isdigit())
        # Strip an extension: area code (3-4) + local number (7-8) is 10-12 digits.
        local_start = 3 if digits[1] in "12" else 4
        local = digits[local_start:]
        return 7 <= len(local) <= 13 and local[0] not in "01"
