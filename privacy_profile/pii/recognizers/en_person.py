"""PERSON: English person names from an installed spaCy model (off when none is installed).

No model ships with spaCy and nothing is downloaded at run time. When a pipeline such as
``en_core_web_sm`` is installed as a package, ``build_analyzer(english_model=...)`` turns
this recognizer on; without one, English names are not detected (documented in docs/pii.md).
"""

from __future__ import annotations

import warnings
from typing import ClassVar

from privacy_profile.errors import ScanError
from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Match, Pattern


def spacy_model_installed(name: str) -> bool:
    """True when ``name`` is an installed spaCy pipeline package (no download attempted)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import spacy.util

    return bool(spacy.util.is_package(name))


class EnPersonRecognizer(ContextPatternRecognizer):
    """spaCy ``PERSON`` entities of an installed English pipeline."""

    ENTITY = "PERSON"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = ()
    LANGUAGES = ("en",)
    SCORE: ClassVar[float] = 0.85

    def __init__(self, supported_language: str = "en", *, model: str = "en_core_web_sm") -> None:
        if not spacy_model_installed(model):
            raise ScanError(
                f"spaCy model {model!r} is not installed; English names cannot be detected",
                hint=f"pip install the {model} pipeline package, or leave PERSON out of the scan",
            )
        import spacy

        self._nlp = spacy.load(model, exclude=["parser", "lemmatizer"])
        super().__init__(supported_language)

    def matches(self, text: str) -> list[Match]:
        doc = self._nlp(text)
        return [
            (ent.start_char, ent.end_char, self.SCORE, "spacy")
            for ent in doc.ents
            if ent.label_ == "PERSON"
        ]
