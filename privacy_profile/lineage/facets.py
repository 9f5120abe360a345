"""Plain frozen inputs of the lineage recorder: datasets, column lineage and the privacy facet.

The engine fills these from the policy, the ingest report and the DP results. They hold
metadata only (names, categories, counts, parameters, noisy aggregates), never a data value
of an input row. :meth:`PrivacyRunFacet.to_json` gives the facet's JSON body, whose JSON
Schema ships as ``privacy_profile/lineage/schemas/privacy_run_facet.json``.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

__all__ = [
    "PRIVACY_FACET_NAME",
    "PRIVACY_FACET_SCHEMA_ID",
    "PRIVACY_FACET_SCHEMA_URL",
    "BudgetState",
    "ColumnLineage",
    "DatasetInfo",
    "DpMechanismRecord",
    "DpReleaseValue",
    "FieldInfo",
    "KAnonymityResult",
    "KeyInfo",
    "PrivacyRunFacet",
    "ProcessingRecord",
    "SourceField",
    "TableCounts",
    "Transform",
    "privacy_facet_schema",
]

PRIVACY_FACET_NAME = "privacyProfile_privacy"
# The facet's JSON Schema, published in the repository under a versioned folder (a new
# version of the facet gets a new folder; published files never change).
PRIVACY_FACET_SCHEMA_ID = (
    "https://raw.githubusercontent.com/privacy-profile/privacy_profile/main/"
    "docs/spec/facets/1-1-0/PrivacyRunFacet.json"
)
PRIVACY_FACET_SCHEMA_URL = PRIVACY_FACET_SCHEMA_ID + "#/$defs/PrivacyRunFacet"


def privacy_facet_schema() -> dict[str, Any]:
    """The JSON Schema of the privacy run facet, as shipped in the package."""
    text = (
        resources.files("privacy_profile.lineage")
        .joinpath("schemas/privacy_run_facet.json")
        .read_text(encoding="utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def _num(value: float) -> float | int:
    if isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"lineage numbers must be finite, got {value!r}")
    return value


# --------------------------------------------------------------------------- datasets


@dataclass(frozen=True, kw_only=True)
class FieldInfo:
    """One column of a dataset: name, type, fideslang data category and privacy flags."""

    name: str
    type: str
    category: str
    pii: bool
    sensitive: bool
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class DatasetInfo:
    """A dataset read or written by a run (its schema, never its rows)."""

    namespace: str
    name: str
    fields: tuple[FieldInfo, ...] = ()
    row_count: int | None = None  # outputs: rows written (OutputStatistics facet)
    size_bytes: int | None = None  # outputs: bytes written


class Transform(enum.Enum):
    """How an output column derives from its input columns (OpenLineage type/subtype/masking)."""

    # in pipeline order (the lineage document lists stages in this order)
    IDENTITY = ("DIRECT", "IDENTITY", False, "copied unchanged")
    FILTER = ("INDIRECT", "FILTER", False, "row filter (consent, minors, retention)")
    PSEUDONYMIZE = ("DIRECT", "TRANSFORMATION", True, "keyed HMAC-SHA256 pseudonym")
    TOKENIZE = ("DIRECT", "TRANSFORMATION", True, "deterministic AES-SIV token")
    GENERALIZE = ("DIRECT", "TRANSFORMATION", False, "generalized (banded, truncated, rounded)")
    PII_REDACT = ("DIRECT", "TRANSFORMATION", True, "PII findings replaced by entity tags")
    GROUP_BY = ("INDIRECT", "GROUP_BY", False, "grouping key")
    DP_AGGREGATE = ("DIRECT", "AGGREGATION", True, "differentially private aggregate")

    @property
    def ol_type(self) -> str:
        return self.value[0]

    @property
    def subtype(self) -> str:
        return self.value[1]

    @property
    def masking(self) -> bool:
        return self.value[2]

    @property
    def description(self) -> str:
        return self.value[3]


@dataclass(frozen=True, kw_only=True)
class SourceField:
    """An input column an output column was computed from, and how."""

    namespace: str
    name: str
    field: str
    transform: Transform


@dataclass(frozen=True, kw_only=True)
class ColumnLineage:
    """Column lineage of one output column of one output dataset."""

    output: str  # the output dataset's name
    field: str
    sources: tuple[SourceField, ...]


# --------------------------------------------------------------------------- privacy facet


@dataclass(frozen=True, kw_only=True)
class KeyInfo:
    """A key used by the run: its id and fingerprint, never the key."""

    role: str  # e.g. "pseudonymization:marketing_analytics", "tokenization"
    key_id: str
    fingerprint: str
    development_key: bool = False


@dataclass(frozen=True, kw_only=True)
class TableCounts:
    """Rows of one input table: read, accepted, and excluded or quarantined per reason."""

    table: str
    input: int
    accepted: int
    excluded: Mapping[str, int] = field(default_factory=dict)
    quarantined: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class KAnonymityResult:
    k: int
    smallest_class: int
    classes_below_k: int
    rows_suppressed: int
    quasi_identifiers: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class DpMechanismRecord:
    """One DP mechanism that ran; ``label`` is the ledger charge's label. A zCDP charge has
    ``rho`` > 0 and epsilon = delta = 0 (its sensitivity is then an L2 sensitivity)."""

    release: str
    label: str
    mechanism: str
    epsilon: float
    delta: float
    sensitivity: float
    noise_scale: float
    rho: float = 0.0


@dataclass(frozen=True, kw_only=True)
class DpReleaseValue:
    """One released noisy aggregate (e.g. a segment size) with its 95% interval."""

    release: str
    group: str
    value: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, kw_only=True)
class BudgetState:
    dataset: str
    window: str
    epsilon_budget: float
    delta_budget: float
    spent_epsilon: float
    spent_delta: float
    remaining_epsilon: float
    remaining_delta: float


@dataclass(frozen=True, kw_only=True)
class ProcessingRecord:
    """Record-of-processing facts (PIPL art. 55-56 / GDPR art. 30) for the run."""

    controller: str
    purpose: str
    purpose_name: str
    legal_basis: str
    data_categories: tuple[str, ...]
    data_subjects: tuple[str, ...]
    recipients: tuple[str, ...]
    retention_days: Mapping[str, int]
    assessment_id: str | None


@dataclass(frozen=True, kw_only=True)
class PrivacyRunFacet:
    """The custom run facet ``privacyProfile_privacy``: what protected the data in this run."""

    policy_name: str
    policy_digest: str
    purpose: str
    keys: tuple[KeyInfo, ...]
    tables: tuple[TableCounts, ...]
    pii_findings: Mapping[str, int]
    k_anonymity: KAnonymityResult | None
    dp_mechanisms: tuple[DpMechanismRecord, ...]
    dp_releases: tuple[DpReleaseValue, ...]
    budget: BudgetState | None
    processing: ProcessingRecord

    def to_json(self) -> dict[str, Any]:
        """The facet's fields as JSON (without ``_producer`` / ``_schemaURL``)."""
        k = self.k_anonymity
        b = self.budget
        p = self.processing
        return {
            "policy": {"name": self.policy_name, "digest": self.policy_digest},
            "purpose": self.purpose,
            "keys": [
                {
                    "role": key.role,
                    "keyId": key.key_id,
                    "fingerprint": key.fingerprint,
                    "developmentKey": key.development_key,
                }
                for key in self.keys
            ],
            "tables": {
                t.table: {
                    "input": t.input,
                    "accepted": t.accepted,
                    "excluded": dict(sorted(t.excluded.items())),
                    "quarantined": dict(sorted(t.quarantined.items())),
                }
                for t in self.tables
            },
            "piiFindings": dict(sorted(self.pii_findings.items())),
            "kAnonymity": None
            if k is None
            else {
                "k": k.k,
                "smallestClass": k.smallest_class,
                "classesBelowK": k.classes_below_k,
                "rowsSuppressed": k.rows_suppressed,
                "quasiIdentifiers": list(k.quasi_identifiers),
            },
            "dpMechanisms": [
                {
                    "release": m.release,
                    "label": m.label,
                    "mechanism": m.mechanism,
                    "epsilon": _num(m.epsilon),
                    "delta": _num(m.delta),
                    "rho": _num(m.rho),
                    "sensitivity": _num(m.sensitivity),
                    "noiseScale": _num(m.noise_scale),
                }
                for m in self.dp_mechanisms
            ],
            "dpReleases": [
                {
                    "release": r.release,
                    "group": r.group,
                    "value": _num(r.value),
                    "ciLow": _num(r.ci_low),
                    "ciHigh": _num(r.ci_high),
                }
                for r in self.dp_releases
            ],
            "budget": None
            if b is None
            else {
                "dataset": b.dataset,
                "window": b.window,
                "epsilonBudget": _num(b.epsilon_budget),
                "deltaBudget": _num(b.delta_budget),
                "spentEpsilon": _num(b.spent_epsilon),
                "spentDelta": _num(b.spent_delta),
                "remainingEpsilon": _num(b.remaining_epsilon),
                "remainingDelta": _num(b.remaining_delta),
            },
            "processing": {
                "controller": p.controller,
                "purpose": p.purpose,
                "purposeName": p.purpose_name,
                "legalBasis": p.legal_basis,
                "dataCategories": list(p.data_categories),
                "dataSubjects": list(p.data_subjects),
                "recipients": list(p.recipients),
                "retentionDays": dict(sorted(p.retention_days.items())),
                "assessmentId": p.assessment_id,
            },
        }
