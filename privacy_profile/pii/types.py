"""Frozen value objects of the PII scanner: configuration, findings, results, reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from privacy_profile.errors import ScanError

if TYPE_CHECKING:
    import pandas as pd

    from privacy_profile.policy.model import PiiScanSpec

__all__ = ["ColumnScanReport", "Finding", "Language", "ScanConfig", "ScanResult"]


class Language(StrEnum):
    """The recognizer set a cell is routed to, by script."""

    ZH = "zh"  # the cell holds at least one Han character
    EN = "en"  # everything else


@dataclass(frozen=True)
class Finding:
    """One identifier found in a text: type, span and score, never the matched text."""

    entity_type: str
    start: int
    end: int
    score: float
    recognizer: str


@dataclass(frozen=True)
class ScanConfig:
    """What to look for and how to run.

    ``entities`` None means every default entity (:func:`default_entities`); ``PERSON``
    (English names) also needs ``english_model``. ``names`` picks the Chinese name
    recognizer: ``lac`` (the LAC model, needs the ``names`` extra; missing, the scanner
    raises :class:`ScanError` naming it) or ``surname`` (the surname model). ``thresholds``
    overrides ``score_threshold`` per entity type. ``engine`` ``presidio`` runs every text
    through ``AnalyzerEngine.analyze`` (the reference path; same findings, slower) instead of
    calling the recognizers directly (``fast``). ``normalize`` folds evasive forms (zero-width
    characters, odd separators, Chinese numerals, full-width letters, "at"/"dot") before
    matching; offsets still point into the original text. ``processes`` is 1 or 2; two worker
    processes are used only when the distinct texts left for the per-text path amount to at
    least ``parallel_min_texts``, a Han text counting as ``HAN_TEXT_WEIGHT`` (20) texts
    (the name model makes it that much dearer; forking and shipping results back cost time).
    """

    entities: tuple[str, ...] | None = None
    score_threshold: float = 0.5
    english_model: str | None = None
    batch_size: int = 2_000
    processes: int = 1
    parallel_min_texts: int = 20_000
    names: str = "lac"
    thresholds: Mapping[str, float] = field(default_factory=dict)
    engine: str = "fast"
    normalize: bool = True

    @classmethod
    def from_policy(cls, spec: PiiScanSpec) -> ScanConfig:
        """The configuration a policy's ``pii_scan`` section asks for.

        ``entities`` (empty: the defaults) minus ``CN_PERSON`` when ``names: off`` and
        ``CN_ADDRESS`` when ``addresses: false``, plus ``CN_PLACE`` when ``places: true``;
        ``names`` picks the name recognizer, ``thresholds`` override ``score_threshold``.
        """
        from privacy_profile.pii.recognizers import default_entities

        wanted = list(spec.entities or default_entities())
        if spec.names == "off":
            wanted = [e for e in wanted if e != "CN_PERSON"]
        if not spec.addresses:
            wanted = [e for e in wanted if e != "CN_ADDRESS"]
        if spec.places and "CN_PLACE" not in wanted:
            wanted.append("CN_PLACE")
        return cls(
            entities=tuple(wanted),
            score_threshold=spec.score_threshold,
            names="lac" if spec.names == "off" else spec.names,
            thresholds=dict(spec.thresholds),
        )

    def threshold(self, entity: str) -> float:
        """The score an ``entity`` finding needs to be reported."""
        return self.thresholds.get(entity, self.score_threshold)

    def __post_init__(self) -> None:
        from privacy_profile.pii.recognizers import NAME_MODELS, RECOGNIZERS

        if self.names not in NAME_MODELS:
            raise ScanError(
                f"names must be one of {', '.join(NAME_MODELS)}, got {self.names!r}",
                hint="lac (the name model, default) or surname (no model needed)",
            )
        if self.engine not in ("fast", "presidio"):
            raise ScanError(
                f"engine must be 'fast' or 'presidio', got {self.engine!r}",
                hint="fast calls our recognizers directly; presidio goes through AnalyzerEngine",
            )
        for entity, value in self.thresholds.items():
            if entity not in RECOGNIZERS:
                raise ScanError(
                    f"thresholds names an unknown entity type: {entity}",
                    hint=f"choose among {', '.join(sorted(RECOGNIZERS))}",
                )
            if not 0.0 < value <= 1.0:
                raise ScanError(f"the threshold of {entity} must be in (0, 1], got {value}")
        if not 0.0 < self.score_threshold <= 1.0:
            raise ScanError(
                f"score_threshold must be in (0, 1], got {self.score_threshold}",
                hint="use 0.5 (the default) unless a benchmark says otherwise",
            )
        if self.processes not in (1, 2):
            raise ScanError(
                f"processes must be 1 or 2, got {self.processes}",
                hint="the scanner runs in one process or two workers",
            )
        if self.batch_size < 1:
            raise ScanError(f"batch_size must be positive, got {self.batch_size}")
        if self.entities is not None:
            unknown = sorted(set(self.entities) - set(RECOGNIZERS))
            if unknown:
                raise ScanError(
                    f"unknown entity types: {', '.join(unknown)}",
                    hint=f"choose among {', '.join(sorted(RECOGNIZERS))}",
                )
            if "PERSON" in self.entities and self.english_model is None:
                raise ScanError(
                    "PERSON (English names) needs an installed spaCy model",
                    hint="set english_model='en_core_web_sm' after installing that package",
                )


@dataclass(frozen=True)
class ScanResult:
    """The redacted series, findings per entity type and the cells whose scan errored.

    ``errored`` lists index labels of cells that could not be scanned; their value in
    ``series`` is missing (None): the caller drops those rows and records the count.
    """

    series: pd.Series
    counts: Mapping[str, int]
    errored: pd.Index
    cells_scanned: int = 0
    cells_skipped: int = 0

    @property
    def n_errored(self) -> int:
        """How many cells were dropped because their scan failed."""
        return len(self.errored)


@dataclass(frozen=True)
class ColumnScanReport:
    """Share of a column's non-missing cells holding each identifier type."""

    column: str | None
    cells: int
    cells_with: Mapping[str, int] = field(default_factory=dict)
    errored: int = 0

    def share(self, entity_type: str) -> float:
        """Fraction of non-missing cells with at least one ``entity_type`` finding."""
        return self.cells_with.get(entity_type, 0) / self.cells if self.cells else 0.0

    @property
    def shares(self) -> dict[str, float]:
        """Every entity type found, with its share of cells."""
        return {e: self.share(e) for e in sorted(self.cells_with)}

    def flags(self, threshold: float = 0.1) -> tuple[str, ...]:
        """Entity types held by at least ``threshold`` of the cells (sorted by share)."""
        hits = [e for e in self.cells_with if self.share(e) >= threshold]
        return tuple(sorted(hits, key=lambda e: (-self.share(e), e)))
