"""CN_PLACE: a bare place name (北京, 台湾, 中关村) that is not a postal address.

A run of adjacent LAC ``LOC`` words that :class:`CnAddressRecognizer` does not report as an
address. Scored low (0.55): a place name says far less about a person than an address, and
news and reviews are full of them, so it is off unless the policy asks for it
(``pii_scan.places: true``); an address overlapping it wins (higher score).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Match, Pattern

if TYPE_CHECKING:
    from privacy_profile.pii.lac import LacTagger


class CnPlaceRecognizer(ContextPatternRecognizer):
    """Runs of LAC ``LOC`` words (see the module docstring)."""

    ENTITY = "CN_PLACE"
    PREFILTER = "[\\u4e00-\\u9fff]"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = ()
    LANGUAGES = ("zh",)
    SCORE: ClassVar[float] = 0.55
    USES_MODEL: ClassVar[bool] = True

    def __init__(self, supported_language: str = "zh", *, tagger: LacTagger | None = None):
        if tagger is None:
            from privacy_profile.pii.lac import LacTagger

            tagger = LacTagger()
        self.tagger = tagger
        super().__init__(supported_language)

    def matches(self, text: str) -> list[Match]:
        out: list[Match] = []
        run: tuple[int, int] | None = None
        for s, e, tag in (*self.tagger.words(text), (len(text), len(text), "")):
            if tag == "LOC" and run is not None and run[1] == s:
                run = (run[0], e)
                continue
            if run is not None:
                out.append((run[0], run[1], self.SCORE, "lac"))
                run = None
            if tag == "LOC":
                run = (s, e)
        return out
