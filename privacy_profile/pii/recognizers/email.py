"""EMAIL_ADDRESS: e-mail addresses, also glued to Chinese text and with a full-width @."""

from __future__ import annotations

from typing import ClassVar

from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Match, Pattern

_LOCAL = r"[A-Za-z0-9０-９ａ-ｚＡ-Ｚ][A-Za-z0-9０-９ａ-ｚＡ-Ｚ._%+\-]{0,63}"
#: Common top-level domains: a span ends after one even when letters follow (``a@qq.comTel``).
_KNOWN_TLD = "com|net|org|edu|gov|cn|hk|tw|mo|sg|my|jp|kr|io|info|biz|me|cc|co|uk|us|de|fr"
_DOMAIN = (
    r"(?:[A-Za-z0-9０-９](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?[.．])+"
    rf"(?:(?:{_KNOWN_TLD})(?=[A-Z\u4e00-\u9fff]|[a-z]{{3,}})|[A-Za-z]{{2,24}})"
)


class EmailRecognizer(ContextPatternRecognizer):
    """RFC-ish local part, ``@`` or ``＠``, dotted domain with an alphabetic TLD.

    No ``\\b``: Python's word boundary does not separate Chinese characters from letters, so
    the pattern uses explicit look-arounds on ASCII word characters instead. We do not ask
    tldextract (its suffix list is a network fetch); the TLD must be 2-24 letters.
    """

    ENTITY = "EMAIL_ADDRESS"
    PREFILTER = "[@＠]"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        (
            "email",
            rf"(?<![A-Za-z0-9._%+\-])(?P<v>{_LOCAL}[@＠]{_DOMAIN})"
            rf"(?![0-9\-]|[.．][A-Za-z0-9])(?:(?<=[A-Za-z])(?=[A-Z\u4e00-\u9fff]|[a-z]{{3}})|(?![A-Za-z]))",
            0.9,
        ),
    )
    CONTEXT = ("邮箱", "邮件", "email", "e-mail", "mail")
    #: A cell holding just an address (ASCII); scored by the pattern itself.
    WHOLE_CELL = r"[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9.\-]+"

    def whole_cells(self, cells: list[str]) -> list[list[Match]]:
        """On such a cell a match can only start at 0 (every other position follows a
        character the pattern's look-behind excludes, and there is one ``@``), and ends
        where no further match can start: so the single match, if any, is ``match`` at 0,
        scored as usual (a match spanning the cell has no context window: base score)."""
        name, rx, base = self._patterns[0]
        out: list[list[Match]] = []
        for t in cells:
            m = rx.match(t)
            if m is None:
                out.append([])
                continue
            s, e = m.span("v")
            if s == 0 and e == len(t):
                score: float | None = base if self.validate_result(t) is not False else None
            else:
                score = self.score_match(t, s, e, base)
            out.append([] if score is None else [(s, e, min(score, 1.0), name)])
        return out

    def validate_result(self, pattern_text: str) -> bool | None:
        local, _, domain = pattern_text.partition("@")
        return ".." not in pattern_text and not local.endswith(".") and "." in domain
