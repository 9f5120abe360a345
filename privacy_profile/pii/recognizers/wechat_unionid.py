"""WECHAT_UNIONID: 28-character unionids, told from openids by a ``unionid`` context word."""

from __future__ import annotations

from typing import ClassVar

from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Pattern
from privacy_profile.pii.recognizers.wechat_openid import OPENID_RE, looks_random


class WechatUnionidRecognizer(ContextPatternRecognizer):
    """Same shape as an openid; only reported next to ``unionid`` (then it outscores it)."""

    ENTITY = "WECHAT_UNIONID"
    PREFILTER = "(?i:unionid|union_id|union id)"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (("unionid", OPENID_RE, 0.65),)
    CONTEXT = ("unionid", "union_id", "union id")
    CONTEXT_REQUIRED = True
    CONTEXT_WINDOW = 16

    def validate_result(self, pattern_text: str) -> bool | None:
        return looks_random(pattern_text)
