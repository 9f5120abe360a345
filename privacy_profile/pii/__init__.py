"""Offline PII scanning of free-text columns (presidio-analyzer, Chinese and English).

See docs/pii.md. Findings carry entity type, span and score, never the matched text.
"""

from __future__ import annotations

from privacy_profile.pii.engine import PiiScanner, build_analyzer, default_tag, route
from privacy_profile.pii.recognizers import RECOGNIZERS, default_entities
from privacy_profile.pii.types import ColumnScanReport, Finding, Language, ScanConfig, ScanResult

__all__ = [
    "RECOGNIZERS",
    "ColumnScanReport",
    "Finding",
    "Language",
    "PiiScanner",
    "ScanConfig",
    "ScanResult",
    "build_analyzer",
    "default_entities",
    "default_tag",
    "route",
]
