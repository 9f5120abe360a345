"""The offline presidio analyzer: our registry's recognizers for ``zh`` (cells holding Han
characters) and ``en`` (all other cells) on the ``no_op`` NLP engine, so nothing is ever
downloaded."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from privacy_profile.errors import ScanError
from privacy_profile.pii._presidio import AnalyzerEngine, NoOpNlpEngine, RecognizerRegistry
from privacy_profile.pii.lac import LacTagger
from privacy_profile.pii.recognizers import (
    MODEL_ENTITIES,
    NAME_MODELS,
    RECOGNIZERS,
    default_entities,
)
from privacy_profile.pii.types import Finding, Language

__all__ = ["HAN_SCRIPT", "build_analyzer", "default_tag", "route"]

HAN_SCRIPT = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def route(text: str) -> Language:
    """Han script goes to the Chinese recognizer set, everything else to the English one."""
    return Language.ZH if HAN_SCRIPT.search(text) else Language.EN


def default_tag(finding: Finding, text: str) -> str:
    """The default replacement: an entity tag such as ``<CN_MOBILE>``."""
    return f"<{finding.entity_type}>"


def build_analyzer(
    entities: Iterable[str] | None = None,
    *,
    english_model: str | None = None,
    score_threshold: float = 0.5,
    names: str = "lac",
    tagger: LacTagger | None = None,
) -> AnalyzerEngine:
    """An offline presidio analyzer with our registry's recognizers for ``zh`` and ``en``.

    Nothing is downloaded: the NLP engine is presidio's ``no_op`` engine. English person
    names (``PERSON``) are added only when ``english_model`` names an installed spaCy
    pipeline; otherwise asking for ``PERSON`` raises :class:`ScanError`. ``names`` picks the
    Chinese name recognizer (``NAME_MODELS``); with ``lac`` (or ``CN_PLACE`` asked for) the
    LAC model is loaded once (or ``tagger`` used) and shared by the name, address and place
    recognizers; a missing model raises :class:`ScanError` naming the ``names`` extra.
    """
    wanted = tuple(entities) if entities is not None else default_entities()
    if english_model is not None and entities is None:
        wanted = (*wanted, "PERSON")
    unknown = sorted(set(wanted) - set(RECOGNIZERS))
    if unknown:
        raise ScanError(
            f"unknown entity types: {', '.join(unknown)}",
            hint=f"choose among {', '.join(sorted(RECOGNIZERS))}",
        )
    languages = [lang.value for lang in Language]
    nlp_engine = NoOpNlpEngine(
        models=[{"lang_code": lang, "model_name": "none"} for lang in languages]
    )
    nlp_engine.load()
    if names not in NAME_MODELS:
        raise ScanError(f"unknown name model {names!r}", hint=f"use {' or '.join(NAME_MODELS)}")
    model_wanted = any(e in MODEL_ENTITIES for e in wanted) or (
        names == "lac" and ("CN_PERSON" in wanted or "CN_ADDRESS" in wanted)
    )
    if model_wanted and tagger is None:
        tagger = LacTagger()
    recognizers: list[Any] = []
    for entity in wanted:
        cls = NAME_MODELS[names] if entity == "CN_PERSON" else RECOGNIZERS[entity]
        for lang in cls.LANGUAGES:
            if getattr(cls, "USES_MODEL", False) or (entity == "CN_ADDRESS" and model_wanted):
                recognizers.append(cls(lang, tagger=tagger))  # type: ignore[call-arg]
            elif entity == "PERSON":
                if english_model is None:
                    raise ScanError(
                        "PERSON (English names) needs an installed spaCy model",
                        hint="pass english_model='en_core_web_sm' after installing it",
                    )
                recognizers.append(cls(lang, model=english_model))  # type: ignore[call-arg]
            else:
                recognizers.append(cls(lang))
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=languages)
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=languages,
        default_score_threshold=score_threshold,
    )
