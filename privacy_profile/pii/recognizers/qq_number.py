"""QQ_NUMBER: Tencent QQ numbers, only next to a context word (QQ, 扣扣, 企鹅号).

Shape first, context second: an 11-digit number with an allocated mobile prefix is a mobile
number (``CN_MOBILE``) even next to "QQ" (QQ numbers run to 10 digits; people who give a
phone as their QQ have given a phone number).
"""

from __future__ import annotations

from typing import ClassVar

from privacy_profile.pii._checks import DIGITS as D
from privacy_profile.pii._checks import NUMBER_START as NS
from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Pattern
from privacy_profile.pii.recognizers.cn_mobile import _PREFIXES

_CTX = "(?i:qq|ｑｑ|扣扣|企鹅号|q号)"


class QqNumberRecognizer(ContextPatternRecognizer):
    """5-11 digits not starting with 0; any digit run qualifies, so context is required."""

    ENTITY = "QQ_NUMBER"
    #: A context word and, before or after it, a run of five digits (no look-arounds: the
    #: scanner may run pre-filters with RE2).
    PREFILTER = rf"{_CTX}[\s\S]*?[1-9１-９][0-9０-９]{{4}}|[1-9１-９][0-9０-９]{{4}}[\s\S]*?{_CTX}"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        ("qq", rf"{NS}(?P<v>[1-9１-９]{D}{{4,10}})(?![0-9０-９]|[@＠])", 0.5),
    )
    CONTEXT = ("qq", "ｑｑ", "扣扣", "企鹅号", "q号", "qq号")
    CONTEXT_REQUIRED = True
    CONTEXT_WINDOW = 8

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = "".join(c for c in pattern_text if c.isdigit())
        return not (len(digits) == 11 and digits[:3] in _PREFIXES)
