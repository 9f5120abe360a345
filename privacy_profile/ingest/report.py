"""The ingest report: counts that reconcile, keys by id and fingerprint, no data values.

Everything here is plain serialisable data (it goes into lineage): table and column names,
counts per reason, key ids and fingerprints, k-anonymity figures. Never a data value.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["IngestReport", "KAnonymityReport", "TableReport", "TableReportBuilder", "name_digest"]


@dataclass(frozen=True)
class KAnonymityReport:
    """Equivalence classes over the quasi-identifiers, before and after suppression."""

    table: str
    quasi_identifiers: tuple[str, ...]
    k: int
    rows: int
    classes: int
    smallest_class: int
    classes_below_k: int
    rows_in_classes_below_k: int
    rows_suppressed: int
    smallest_class_after: int
    satisfied: bool


@dataclass(frozen=True)
class TableReport:
    """Counts for one input table: ``input == accepted + excluded + quarantined``."""

    table: str
    file: str
    role: str  # data | consent_records
    input_rows: int
    accepted_rows: int
    excluded: dict[str, int]
    quarantined: dict[str, int]
    undeclared_columns_dropped: tuple[str, ...] = ()
    columns_dropped: tuple[str, ...] = ()
    sensitive_columns_dropped: tuple[str, ...] = ()
    sensitive_cells_blanked: dict[str, int] = field(default_factory=dict)
    scan_columns_dropped: dict[str, str] = field(default_factory=dict)
    scan_findings: dict[str, dict[str, int]] = field(default_factory=dict)
    scan_cells_blanked: dict[str, int] = field(default_factory=dict)
    generalization_unmapped: dict[str, int] = field(default_factory=dict)
    pseudonymized_columns: dict[str, str] = field(default_factory=dict)
    tokenized_columns: tuple[str, ...] = ()
    k_anonymity: KAnonymityReport | None = None
    rescan_cells_blanked: dict[str, dict[str, int]] = field(default_factory=dict)
    """Free-text cells blanked because the re-scan of the redacted text still found PII, per
    column and entity type (``SCAN_ERROR`` when the re-scan failed)."""
    unknown_values: dict[str, int] = field(default_factory=dict)
    """Cells per column whose value its value map does not list (quarantined or kept as
    missing, as the column's ``unknown_values`` says)."""

    @property
    def excluded_rows(self) -> int:
        return sum(self.excluded.values())

    @property
    def quarantined_rows(self) -> int:
        return sum(self.quarantined.values())

    def reconciles(self) -> bool:
        return self.input_rows == self.accepted_rows + self.excluded_rows + self.quarantined_rows


@dataclass
class TableReportBuilder:
    """Mutable counters used while a table streams through the stages."""

    table: str
    file: str
    role: str = "data"
    input_rows: int = 0
    excluded: Counter[str] = field(default_factory=Counter)
    quarantined: Counter[str] = field(default_factory=Counter)
    undeclared_columns_dropped: list[str] = field(default_factory=list)
    columns_dropped: list[str] = field(default_factory=list)
    sensitive_columns_dropped: list[str] = field(default_factory=list)
    sensitive_cells_blanked: Counter[str] = field(default_factory=Counter)
    scan_columns_dropped: dict[str, str] = field(default_factory=dict)
    scan_findings: dict[str, Counter[str]] = field(default_factory=dict)
    scan_cells_blanked: Counter[str] = field(default_factory=Counter)
    generalization_unmapped: Counter[str] = field(default_factory=Counter)
    pseudonymized_columns: dict[str, str] = field(default_factory=dict)
    tokenized_columns: list[str] = field(default_factory=list)
    unknown_values: Counter[str] = field(default_factory=Counter)
    rescan_cells_blanked: dict[str, Counter[str]] = field(default_factory=dict)

    def exclude(self, reason: str, n: int) -> None:
        if n:
            self.excluded[reason] += int(n)

    def quarantine(self, reason: str, n: int) -> None:
        if n:
            self.quarantined[reason] += int(n)

    def build(self, accepted_rows: int, k_anonymity: KAnonymityReport | None = None) -> TableReport:
        return TableReport(
            table=self.table,
            file=self.file,
            role=self.role,
            input_rows=self.input_rows,
            accepted_rows=int(accepted_rows),
            excluded=dict(sorted(self.excluded.items())),
            quarantined=dict(sorted(self.quarantined.items())),
            undeclared_columns_dropped=tuple(self.undeclared_columns_dropped),
            columns_dropped=tuple(self.columns_dropped),
            sensitive_columns_dropped=tuple(self.sensitive_columns_dropped),
            sensitive_cells_blanked=dict(self.sensitive_cells_blanked),
            scan_columns_dropped=dict(self.scan_columns_dropped),
            scan_findings={c: dict(v) for c, v in self.scan_findings.items()},
            scan_cells_blanked=dict(self.scan_cells_blanked),
            generalization_unmapped=dict(self.generalization_unmapped),
            pseudonymized_columns=dict(self.pseudonymized_columns),
            tokenized_columns=tuple(self.tokenized_columns),
            k_anonymity=k_anonymity,
            unknown_values=dict(sorted(self.unknown_values.items())),
            rescan_cells_blanked={c: dict(v) for c, v in self.rescan_cells_blanked.items()},
        )


def name_digest(name: str) -> str:
    """``sha256:`` + 16 hex digits of a column name: the same header gives the same digest."""
    return "sha256:" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class IngestReport:
    """What the ingestion run did, for lineage: no data values, only names and counts."""

    policy: str
    purpose: str
    pseudonymization_domain: str
    run_time: str
    tables: dict[str, TableReport]
    keys: tuple[dict[str, object], ...]
    development_keys: bool
    consent: dict[str, int] = field(default_factory=dict)
    activation: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # individuals' rights requests applied (privacy_profile.rights): subjects excluded per
    # reason, activation opt-outs by request, cells corrected; empty without a register
    rights: dict[str, int] = field(default_factory=dict)
    identity_links: dict[str, int] = field(default_factory=dict)
    """Accounts linked to a person (``accounts_linked``, ``persons_linked``,
    ``accounts_ambiguous_unlinked``); empty when the policy declares no identity links."""

    def reconciles(self) -> bool:
        return all(t.reconciles() for t in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ingest_report.json; undeclared column names (which the policy does
        not describe and may be anything, even a phone number) appear as digests."""
        d = asdict(self)
        for name, t in self.tables.items():
            d["tables"][name]["undeclared_columns_dropped"] = [
                name_digest(c) for c in t.undeclared_columns_dropped
            ]
            d["tables"][name]["excluded_rows"] = t.excluded_rows
            d["tables"][name]["quarantined_rows"] = t.quarantined_rows
            d["tables"][name]["reconciles"] = t.reconciles()
        d["reconciles"] = self.reconciles()
        return d
