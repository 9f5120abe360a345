"""Subjects' requests at ingestion: suppress erased or opted-out subjects and merge corrections.

A :class:`Suppression` (the rights register's snapshot, :mod:`privacy_profile.rights`) says,
per pseudonymisation domain and purpose, which subjects' rows are dropped before anything else
(erasure, opt-out of all profiling), which never reach an activation audience (opt-out of
activation), and which cells are corrected. :class:`SubjectFilter` applies it to each raw chunk
before validation: rows are matched by the keyed pseudonym of their subject column, the raw id
is never compared or stored. Excluded rows are counted per reason like every other exclusion.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from privacy_profile.ingest.codes import factorize
from privacy_profile.ingest.normalize import normalizer_for
from privacy_profile.ingest.pseudonymize import Pseudonymizer, map_factorized
from privacy_profile.policy.model import Table

__all__ = [
    "SUPPRESSED_ERASURE",
    "SUPPRESSED_OPT_OUT",
    "SubjectFilter",
    "Suppression",
    "prepare_subject_filter",
]

SUPPRESSED_ERASURE = "suppressed_erasure_request"
SUPPRESSED_OPT_OUT = "suppressed_opt_out_request"


class Suppression(Protocol):
    """What ingestion asks of the rights register (see :mod:`privacy_profile.rights`)."""

    def excluded(self, domain: str, purpose: str) -> Mapping[str, str]:
        """Pseudonym (in ``domain``) -> exclusion reason, for rows dropped before anything else."""
        ...

    def activation_excluded(self, domain: str, purpose: str) -> frozenset[str]:
        """Pseudonyms (in ``domain``) that never reach an activation audience."""
        ...

    def corrections(self, domain: str, table: str) -> Mapping[str, Mapping[str, str]]:
        """Pseudonym (in ``domain``) -> {column: corrected raw value} for ``table``."""
        ...


@dataclass(frozen=True)
class SubjectFilter:
    """The suppression of one run, prepared once: exclusions and corrections by pseudonym."""

    domain: str
    pseudonymizer: Pseudonymizer
    excluded: Mapping[str, str]
    corrections: Mapping[str, Mapping[str, Mapping[str, str]]]  # table -> pseudonym -> values

    def apply(
        self, frame: pd.DataFrame, table: str, spec: Table
    ) -> tuple[pd.DataFrame, Counter[str], set[str], int]:
        """Drop suppressed subjects' rows and merge corrections into one raw chunk.

        Returns the chunk, rows excluded per reason, the pseudonyms excluded and the number of
        corrected cells."""
        counts: Counter[str] = Counter()
        fixes = self.corrections.get(table, {})
        if not len(frame) or (not self.excluded and not fixes):
            return frame, counts, set(), 0
        col = spec.columns[spec.subject_column]
        ps, _ = map_factorized(
            factorize(frame[spec.subject_column]),
            normalizer_for(col.category),
            lambda vs: self.pseudonymizer.hash_matrix(vs, domain=self.domain),
        )
        seen: set[str] = set()
        if self.excluded:
            why = ps.map(self.excluded)
            hit = why.notna().to_numpy(dtype=bool)
            if hit.any():
                counts.update(why[hit].astype(str).tolist())
                seen = set(ps[hit].astype(str))
                frame, ps = frame[~hit], ps[~hit]
        cells = 0
        if fixes:
            frame = frame.copy()
            for pseudonym, values in fixes.items():
                rows = (ps == pseudonym).fillna(False).to_numpy(dtype=bool)
                if not rows.any():
                    continue
                for column, value in values.items():
                    if column in frame.columns:
                        frame.loc[rows, column] = value
                        cells += int(np.count_nonzero(rows))
        return frame, counts, seen, cells


def prepare_subject_filter(
    suppression: Suppression,
    *,
    domain: str,
    purpose: str,
    tables: Mapping[str, Table],
    pseudonymizer: Pseudonymizer,
) -> SubjectFilter:
    """Read the suppression's sets for the run's domain and purpose once."""
    return SubjectFilter(
        domain=domain,
        pseudonymizer=pseudonymizer,
        excluded=dict(suppression.excluded(domain, purpose)),
        corrections={
            t: {p: dict(v) for p, v in suppression.corrections(domain, t).items()} for t in tables
        },
    )
