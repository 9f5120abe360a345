"""CN_RESIDENT_ID: 18-digit resident identity numbers (GB 11643) and 15-digit legacy ones."""

from __future__ import annotations

from typing import ClassVar

from privacy_profile.pii._checks import DIGITS as D
from privacy_profile.pii._checks import NUMBER_START as NS
from privacy_profile.pii._checks import is_valid_resident_id
from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Pattern


class CnResidentIdRecognizer(ContextPatternRecognizer):
    """Province code, birth date and the MOD 11-2 check character (18 digits).

    The 15-digit legacy form has no check digit: province and date only, so it needs a
    context word (身份证, ID) to pass the default threshold.
    """

    ENTITY = "CN_RESIDENT_ID"
    PREFILTER = "[0-9０-９]{6}[ \\-]?[0-9０-９]{8}"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        (
            "cn_resident_id_18",
            rf"{NS}(?P<v>{D}{{6}}[ \-]?{D}{{8}}[ \-]?{D}{{3}}[0-9０-９XxＸｘ])"
            rf"(?![0-9０-９])",
            0.9,
        ),
        ("cn_resident_id_15", rf"{NS}(?P<v>{D}{{15}})(?![0-9０-９])", 0.3),
    )
    CONTEXT = ("身份证", "证件", "身份", "id", "idcard", "id card", "identity")

    def validate_result(self, pattern_text: str) -> bool | None:
        value = "".join(c for c in pattern_text if c.isalnum()).upper()
        return is_valid_resident_id(value)
