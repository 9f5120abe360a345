"""WECHAT_ID: WeChat account ids (微信号), only next to a context word, or ``wxid_`` ids."""

from __future__ import annotations

import re
from typing import ClassVar

from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Pattern

_LOOKS_LIKE_WORD = re.compile(r"[A-Za-z]+")
_CTX = "(?i:wx|vx|v信|微信|薇信|威信|wechat|weixin|加v)"
_RUN = r"[A-Za-z][A-Za-z0-9_\-]{5}"
_HAN = "[\u4e00-\u9fff]"
_HAN_RE = re.compile(_HAN)
#: An id without a context word: lower-case start, a ``_`` or ``-`` and a digit, 8-20 long
#: (zhang_san1988); product codes (ABC-12345) start upper-case.
_STRONG = re.compile(r"(?=[a-z][A-Za-z0-9_\-]{7,19}$)(?=.*[_\-])(?=.*[0-9]).*")


class WechatIdRecognizer(ContextPatternRecognizer):
    """A letter then 5-19 letters, digits, ``_`` or ``-``; ``wxid_...`` ids need no context.

    Without a context word, an id of a strong shape in Chinese text (lower-case start, a
    ``_`` or ``-`` and a digit: ``zhang_san1988``) still scores 0.55. A custom id that is a
    plain lower-case English word (``hello``) is rejected: a real id
    mixes in digits, ``_``, ``-`` or capitals often enough that the loss is small and a
    remark like "加微信 thanks" is not redacted.
    """

    ENTITY = "WECHAT_ID"
    #: ``wxid_``, or a context word and, before or after it (context is looked for outside
    #: the match), an id-like run (no look-arounds: the scanner may run pre-filters with RE2).
    PREFILTER = rf"wxid_|{_CTX}[\s\S]*?{_RUN}|{_RUN}[\s\S]*?{_CTX}"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        ("wxid", r"(?<![A-Za-z0-9_\-])(?P<v>wxid_[a-z0-9]{6,24})(?![A-Za-z0-9_\-])", 0.85),
        (
            "wechat_custom",
            r"(?<![A-Za-z0-9_\-@.])(?P<v>[A-Za-z][A-Za-z0-9_\-]{5,19})(?![A-Za-z0-9_\-@]|\.[A-Za-z0-9])",
            0.5,
        ),
    )
    CONTEXT = ("微信", "微信号", "vx", "wx", "v信", "薇信", "威信", "wechat", "weixin", "加v")
    CONTEXT_WINDOW = 8
    BARE_SCORE = 0.55

    def prefilter(self) -> re.Pattern[str] | None:
        """:attr:`PREFILTER`; on Chinese cells (``zh``) also a strong id shape without a
        context word (bare ids count only in Chinese text, so ``en`` cells keep the narrow
        pre-filter that the whole-cell path relies on)."""
        if self.supported_language == "zh":
            return re.compile(rf"{self.PREFILTER}|[a-z][A-Za-z0-9]*[_\-]")
        return re.compile(self.PREFILTER)

    def score_match(self, text: str, start: int, end: int, base: float) -> float | None:
        value = text[start:end]
        if value.startswith("wxid_"):
            return base + (self.CONTEXT_BOOST if self.has_context(text, start, end) else 0.0)
        if not self.has_context(text, start, end):
            # no context word: only a strong id shape, inside Chinese text
            if _STRONG.fullmatch(value) and _HAN_RE.search(text):
                return self.BARE_SCORE
            return None
        if _LOOKS_LIKE_WORD.fullmatch(value) and (value.islower() or value.istitle()):
            return None
        if value.lower() in {"wechat", "weixin"}:
            return None
        return min(1.0, base + self.CONTEXT_BOOST)
