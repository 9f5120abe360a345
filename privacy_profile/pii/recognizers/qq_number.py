"""QQ_NUMBER: Tencent QQ numbers, only next to a context word (QQ, 扣扣, 企鹅号)."""

from __future__ import annotations

from typing import ClassVar

from privacy_profile.pii._checks import DIGITS as D
from privacy_profile.pii._checks import NUMBER_START as NS
from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Pattern

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
