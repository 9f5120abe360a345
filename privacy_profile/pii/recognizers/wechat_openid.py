"""WECHAT_OPENID: 28-character openids (``o`` + 27 of ``[A-Za-z0-9_-]``)."""

from __future__ import annotations

from typing import ClassVar

from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Pattern

OPENID_RE = r"(?<![A-Za-z0-9_\-])(?P<v>o[A-Za-z0-9_\-]{27})(?![A-Za-z0-9_\-])"


def looks_random(value: str) -> bool:
    """At least two of lower case, upper case and digits: an id, not a word."""
    kinds = (
        any(c.islower() for c in value),
        any(c.isupper() for c in value),
        any(c.isdigit() for c in value),
    )
    return sum(kinds) >= 2


class WechatOpenidRecognizer(ContextPatternRecognizer):
    """An openid; a unionid has the same shape, so ``unionid`` context lets that one win."""

    ENTITY = "WECHAT_OPENID"
    PREFILTER = r"o[A-Za-z0-9_\-]{27}"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (("openid", OPENID_RE, 0.6),)
    CONTEXT = ("openid", "open_id", "open id")

    def validate_result(self, pattern_text: str) -> bool | None:
        return looks_random(pattern_text)
