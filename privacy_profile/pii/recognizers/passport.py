"""PASSPORT: Chinese passports (E/G + 8 digits, E + letter + 7 digits, D/S/P official)."""

from __future__ import annotations

from typing import ClassVar

from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Pattern


class PassportRecognizer(ContextPatternRecognizer):
    """No checksum exists; ordinary E-series numbers score 0.55, others need context."""

    ENTITY = "PASSPORT"
    PREFILTER = "[EGDSP][A-HJ-NP-Z]?[0-9]{7}"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        (
            "passport_e",
            r"(?<![A-Za-z0-9])(?P<v>E[0-9]{8}|E[A-HJ-NP-Z][0-9]{7})(?![A-Za-z0-9])",
            0.55,
        ),
        ("passport_other", r"(?<![A-Za-z0-9])(?P<v>G[0-9]{8}|[DSP]E?[0-9]{7})(?![A-Za-z0-9])", 0.3),
    )
    CONTEXT = ("护照", "passport", "证件号", "旅行证")
