"""CN_LICENSE_PLATE: mainland vehicle plates, including 8-character new-energy plates."""

from __future__ import annotations

from typing import ClassVar

from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Pattern

_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_L = "A-HJ-NP-Z"  # no I or O on plates


class CnLicensePlateRecognizer(ContextPatternRecognizer):
    """Province character, issuing-office letter, 5 (regular) or 6 (new energy) characters."""

    ENTITY = "CN_LICENSE_PLATE"
    PREFILTER = f"[{_PROVINCES}][{_L}]"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        (
            "plate",
            rf"(?P<v>[{_PROVINCES}][{_L}][·・ ]?[{_L}0-9]{{5,6}}[挂学警港澳]?)(?![A-Za-z0-9])",
            0.7,
        ),
    )
    CONTEXT = ("车牌", "牌照", "车号", "plate")
    LANGUAGES = ("zh",)

    def validate_result(self, pattern_text: str) -> bool | None:
        body = "".join(c for c in pattern_text[2:] if c.isascii() and c.isalnum())
        letters = sum(c.isalpha() for c in body)
        if len(body) == 6:  # new energy: D/F first or last, the rest digits mostly
            return body[0] in "DF" or body[-1] in "DF"
        return letters <= 3 and any(c.isdigit() for c in body)
