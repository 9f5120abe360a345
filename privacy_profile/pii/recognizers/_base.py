"""The base class of our pattern recognizers: patterns, validation and a character window.

Presidio's context enhancer compares spaCy lemmas of the words around a match with the
recognizer's context words. Offline there is no model: the ``no_op`` NLP engine yields no
tokens, and a blank pipeline yields empty lemmas (and Chinese needs word segmentation).
So our recognizers look for their context words themselves, in a window of characters on
each side of the match. That works for Chinese without segmentation (电话 is found in
``联系电话：``) and for English (ASCII words must stand alone: ``tel`` does not match
``hotel``). Results carry ``is_score_enhanced_by_context`` so Presidio does not boost twice.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from privacy_profile.pii._checks import in_machine_token
from privacy_profile.pii._presidio import (
    LocalRecognizer,
    RecognizerResult,
)

__all__ = ["ContextPatternRecognizer", "Match", "Pattern"]

Pattern = tuple[str, str, float]
"""(name, regular expression, base score)."""

Match = tuple[int, int, float, str]
"""(start, end, score, pattern name) of one scored match."""


def _context_regex(words: tuple[str, ...]) -> re.Pattern[str] | None:
    if not words:
        return None
    parts = []
    for w in sorted(words, key=len, reverse=True):
        esc = re.escape(w.lower())
        parts.append(f"(?<![a-z]){esc}(?![a-z])" if w.isascii() else esc)
    return re.compile("|".join(parts))


class ContextPatternRecognizer(LocalRecognizer):
    """Regex patterns, an optional ``validate_result`` and context words in a char window.

    Subclasses set the class constants and, where a checksum exists, ``validate_result``.
    Scoring: a match starts at its pattern's score; ``validate_result`` returning False drops
    it, True keeps it; context words within ``CONTEXT_WINDOW`` characters add
    ``CONTEXT_BOOST``; with ``CONTEXT_REQUIRED`` a match without context is dropped.
    """

    ENTITY: ClassVar[str] = ""
    PATTERNS: ClassVar[tuple[Pattern, ...]] = ()
    CONTEXT: ClassVar[tuple[str, ...]] = ()
    CONTEXT_REQUIRED: ClassVar[bool] = False
    CONTEXT_WINDOW: ClassVar[int] = 12
    CONTEXT_BOOST: ClassVar[float] = 0.35
    #: Scripts this recognizer runs on: "zh" (cells with Han characters), "en" (others).
    LANGUAGES: ClassVar[tuple[str, ...]] = ("zh", "en")
    FLAGS: ClassVar[int] = 0
    #: A cheap regex that every text with a finding of this recognizer matches (None: no
    #: pre-filter). The scanner's fast path skips the recognizer on texts it does not match;
    #: tests check it is implied by each pattern on the recognizer tables.
    PREFILTER: ClassVar[str | None] = None
    #: Cells that ARE one candidate of this recognizer and nothing else (a phone column):
    #: a regex over ASCII characters that the whole cell must match. The scanner scores a
    #: column's such cells together with :meth:`whole_cells` (when no other recognizer's
    #: pre-filter matches them). None: no whole-cell form.
    WHOLE_CELL: ClassVar[str | None] = None

    def __init__(self, supported_language: str = "zh") -> None:
        self._patterns = [(n, re.compile(rx, self.FLAGS), s) for n, rx, s in self.PATTERNS]
        self._context_re = _context_regex(self.CONTEXT)
        super().__init__(
            supported_entities=[self.ENTITY],
            name=type(self).__name__,
            supported_language=supported_language,
            context=list(self.CONTEXT),
        )

    def prefilter(self) -> re.Pattern[str] | None:
        """The compiled :attr:`PREFILTER` (None when the recognizer has none)."""
        return None if self.PREFILTER is None else re.compile(self.PREFILTER)

    def load(self) -> None:
        """Nothing to load: the patterns are compiled in ``__init__``."""

    def validate_result(self, pattern_text: str) -> bool | None:
        """Checksum or table check of a match (normalized text); None means no check."""
        return None

    def has_context(self, text: str, start: int, end: int) -> bool:
        """True when a context word occurs within the window around ``text[start:end]``."""
        if self._context_re is None:
            return False
        w = self.CONTEXT_WINDOW
        before = text[max(0, start - w) : start].lower()
        after = text[end : end + w].lower()
        return bool(self._context_re.search(before) or self._context_re.search(after))

    def score_match(self, text: str, start: int, end: int, base: float) -> float | None:
        """Score one match; None drops it. Override to add entity-specific rules."""
        from privacy_profile.pii._checks import normalize

        valid = self.validate_result(normalize(text[start:end]))
        if valid is False:
            return None
        context = self.has_context(text, start, end)
        if self.CONTEXT_REQUIRED and not context:
            return None
        score = base + (self.CONTEXT_BOOST if context else 0.0)
        return min(score, 1.0)

    def make_result(
        self, start: int, end: int, score: float, pattern: str = ""
    ) -> RecognizerResult:
        """A presidio result marked as already context-enhanced (no double boost)."""
        return RecognizerResult(
            entity_type=self.ENTITY,
            start=start,
            end=end,
            score=min(score, 1.0),
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: type(self).__name__,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: getattr(self, "id", ""),
                RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True,
                "pattern": pattern,
            },
        )

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        """Run the patterns over ``text``; one result per scored match."""
        if entities and self.ENTITY not in entities:
            return []
        return [self.make_result(s, e, score, name) for s, e, score, name in self.matches(text)]

    def matches(self, text: str) -> list[Match]:
        """(start, end, score, pattern name) of every scored match: ``analyze`` without the
        presidio result objects (the scanner's fast path calls this)."""
        results: list[Match] = []
        seen: set[tuple[int, int]] = set()
        for name, rx, base in self._patterns:
            for m in rx.finditer(text):
                start, end = m.span("v") if "v" in rx.groupindex else m.span()
                if (start, end) in seen or start == end or in_machine_token(text, start, end):
                    continue
                score = self.score_match(text, start, end, base)
                if score is None:
                    continue
                seen.add((start, end))
                results.append((start, end, min(score, 1.0), name))
        return results

    def whole_cells(self, cells: list[str]) -> list[list[Match]]:
        """:meth:`matches` of each cell fully matching :attr:`WHOLE_CELL` (tested equal).

        Subclasses override it with a cheaper column-wide form; this default is the
        reference.
        """
        return [self.matches(t) for t in cells]
