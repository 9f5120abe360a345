"""The one place that imports presidio-analyzer, offline.

tldextract (imported by presidio's e-mail and URL recognizers) fetches the public suffix list
over the network on first use unless ``TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS`` is empty, and may
hang without a network; we set it before presidio is imported. Third-party import-time
warnings are silenced here only, narrowly, so ``filterwarnings = error`` still holds for ours.
"""

from __future__ import annotations

import os
import warnings

os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""  # offline, always

with warnings.catch_warnings():
    # spaCy/thinc/pydantic emit Deprecation/UserWarnings at import on new Pythons.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", FutureWarning)
    from presidio_analyzer import (
        AnalyzerEngine,
        EntityRecognizer,
        LocalRecognizer,
        PatternRecognizer,
        RecognizerRegistry,
        RecognizerResult,
    )
    from presidio_analyzer.nlp_engine import NlpEngine, NoOpNlpEngine

__all__ = [
    "AnalyzerEngine",
    "EntityRecognizer",
    "LocalRecognizer",
    "NlpEngine",
    "NoOpNlpEngine",
    "PatternRecognizer",
    "RecognizerRegistry",
    "RecognizerResult",
]
