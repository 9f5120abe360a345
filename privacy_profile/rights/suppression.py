"""The suppression list: erased and opted-out subjects, and corrections, as ingestion sees them.

:class:`SuppressionList` is an immutable snapshot of the rights register that implements
:class:`privacy_profile.ingest.suppress.Suppression`. Pass it as ``suppression=`` to
``sanitize`` or ``sanitize_then_segment`` (the CLI's ``--rights-register``): erased subjects
are dropped from every purpose, subjects who opted out of all profiling from the purposes they
named, activation opt-outs are kept out of audiences; all before anything else in the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from privacy_profile.ingest.suppress import SUPPRESSED_ERASURE, SUPPRESSED_OPT_OUT

__all__ = ["ALL_PURPOSES", "CorrectionEntry", "Scope", "SuppressionEntry", "SuppressionList"]

ALL_PURPOSES = "all"


class Scope(StrEnum):
    """What a suppression removes the subject from."""

    ERASURE = "erasure"  # every purpose, every table, every audience
    PROFILING = "profiling"  # the purpose's runs (opt-out of all profiling / withdrawal)
    ACTIVATION = "activation"  # the purpose's audiences only (no personalised pushes)


@dataclass(frozen=True)
class SuppressionEntry:
    pseudonyms: Mapping[str, str]  # domain -> pseudonym
    purpose: str  # a data use or ALL_PURPOSES
    scope: Scope


@dataclass(frozen=True)
class CorrectionEntry:
    pseudonyms: Mapping[str, str]
    table: str
    column: str
    value: str


@dataclass(frozen=True)
class SuppressionList:
    """Suppressions and active corrections of a register at one instant."""

    entries: tuple[SuppressionEntry, ...] = ()
    correction_entries: tuple[CorrectionEntry, ...] = ()

    def _applies(self, e: SuppressionEntry, purpose: str) -> bool:
        return e.scope is Scope.ERASURE or e.purpose in (ALL_PURPOSES, purpose)

    def excluded(self, domain: str, purpose: str) -> Mapping[str, str]:
        out: dict[str, str] = {}
        for e in self.entries:
            p = e.pseudonyms.get(domain)
            if p is None or e.scope is Scope.ACTIVATION or not self._applies(e, purpose):
                continue
            reason = SUPPRESSED_ERASURE if e.scope is Scope.ERASURE else SUPPRESSED_OPT_OUT
            if out.get(p) != SUPPRESSED_ERASURE:
                out[p] = reason
        return out

    def activation_excluded(self, domain: str, purpose: str) -> frozenset[str]:
        """Activation opt-outs only: erased and profiling opt-outs are not in the run at all
        (so they are not listed in its opt-out list either)."""
        dropped = self.excluded(domain, purpose)
        return frozenset(
            p
            for e in self.entries
            if e.scope is Scope.ACTIVATION
            and (p := e.pseudonyms.get(domain)) is not None
            and self._applies(e, purpose)
            and p not in dropped
        )

    def corrections(self, domain: str, table: str) -> Mapping[str, Mapping[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for c in self.correction_entries:
            p = c.pseudonyms.get(domain)
            if p is not None and c.table == table:
                out.setdefault(p, {})[c.column] = c.value
        return out
