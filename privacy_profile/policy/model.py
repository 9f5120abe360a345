"""The policy model: the top-level ``Policy`` and the sections declared only here (PII scan,
rights, taxonomy extensions, assessment); the other sections live in their own modules
(:mod:`.tables`, :mod:`.purposes`, :mod:`.privacy`, ...) and are re-exported from here.

Every model is a frozen pydantic v2 model with ``extra="forbid"``: an unknown or misspelt field
is an error, never silently ignored. Cross-field rules (a direct identifier is never kept,
sensitive data needs separate consent, epsilon per release within the budget, ...) live in
:mod:`privacy_profile.policy.rules` so that each can report the YAML line it concerns.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator

from privacy_profile.policy._base import FrozenModel as _Frozen
from privacy_profile.policy.analytics import AnalyticsSpec
from privacy_profile.policy.enums import (
    Accounting,
    ColumnRole,
    ColumnType,
    DateUnit,
    DuplicateSubjects,
    FileFormat,
    LegalBasis,
    OptOutEffect,
    OutputAccess,
    PiiReplacement,
    UndeclaredColumns,
    UndeclaredIdentifierAction,
    UnknownAge,
    UnknownValues,
    WindowKind,
)
from privacy_profile.policy.mapping import LEGACY_MAPPING, EventRoles, OrderRoles, RoleMapping
from privacy_profile.policy.privacy import (
    AggregationThreshold,
    BudgetWindowSpec,
    KAnonymity,
    MetricBounds,
    PrivacySpec,
)
from privacy_profile.policy.purposes import ActivationRule, ConsentRule, MinorsRule, Purpose
from privacy_profile.policy.segmentation import SegmentationSpec
from privacy_profile.policy.tables import (
    Column,
    ConsentRecordsSpec,
    IdentityLink,
    SubjectsSpec,
    Table,
)
from privacy_profile.policy.treatments import (
    AgeBand,
    CityToProvince,
    DateTruncate,
    Drop,
    Keep,
    KeyRef,
    NumericRound,
    PseudonymizationDomain,
    Pseudonymize,
    Scan,
    Tokenization,
    Tokenize,
    TopBottomCode,
    Treatment,
)

__all__ = [
    "Accounting",
    "ActivationRule",
    "AgeBand",
    "AggregationThreshold",
    "Assessment",
    "BudgetWindowSpec",
    "CityToProvince",
    "Column",
    "ColumnRole",
    "ColumnType",
    "ConsentRecordsSpec",
    "ConsentRule",
    "DateTruncate",
    "DateUnit",
    "Drop",
    "DuplicateSubjects",
    "FileFormat",
    "IdentityLink",
    "KAnonymity",
    "Keep",
    "KeyRef",
    "LegalBasis",
    "MetricBounds",
    "MinorsRule",
    "NumericRound",
    "OptOutEffect",
    "PiiReplacement",
    "PiiScanSpec",
    "Policy",
    "PrivacySpec",
    "PseudonymizationDomain",
    "Pseudonymize",
    "Purpose",
    "RightsSpec",
    "Scan",
    "SubjectsSpec",
    "Table",
    "TaxonomyExtension",
    "Tokenization",
    "Tokenize",
    "TopBottomCode",
    "Treatment",
    "UndeclaredColumns",
    "UndeclaredIdentifierAction",
    "UnknownAge",
    "UnknownValues",
    "WindowKind",
]


# --------------------------------------------------------------------------- scan and rights


class PiiScanSpec(_Frozen):
    """How free text is scanned and how undeclared identifier columns are handled."""

    replacement: PiiReplacement = PiiReplacement.ENTITY_TAG
    pseudonym_domain: str | None = None
    score_threshold: float = Field(default=0.5, gt=0, le=1)
    entities: list[str] = Field(default_factory=list, description="Empty: every entity type.")
    column_scan: bool = True
    undeclared_identifier_columns: UndeclaredIdentifierAction = UndeclaredIdentifierAction.REFUSE
    column_flag_share: float = Field(
        default=0.05, gt=0, le=1, description="Share of cells holding an identifier that flags."
    )
    names: Literal["lac", "surname", "off"] = Field(
        default="lac",
        description="Chinese person names (CN_PERSON): lac = the LAC name model (needs the "
        "`names` extra; a missing model fails the run, never a silent fallback), surname = "
        "the surname model (no extra), off = not detected.",
    )
    addresses: bool = Field(
        default=True, description="Postal addresses (CN_ADDRESS); false turns them off."
    )
    places: bool = Field(
        default=False,
        description="Also redact bare place names that are not an address (CN_PLACE, score "
        "0.55, needs the `names` extra).",
    )
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="Score threshold per entity type, overriding score_threshold for that "
        "type only (e.g. CN_PERSON: 0.8).",
    )

    @field_validator("thresholds")
    @classmethod
    def _thresholds_in_range(cls, v: dict[str, float]) -> dict[str, float]:
        bad = sorted(k for k, x in v.items() if not 0 < x <= 1)
        if bad:
            raise ValueError(f"thresholds must be in (0, 1]; check {', '.join(bad)}")
        return v


class RightsSpec(_Frozen):
    """Individuals' rights requests (access, correction, erasure, opt-out; see docs/rights.md).

    Optional: without the section, requests are due 30 days after receipt and no column is
    correctable."""

    deadline_days: int = Field(
        default=30,
        ge=1,
        le=90,
        description="Calendar days from receipt to the due date of a request (default 30: the "
        "GDPR's one month; PIPL practice is 15 working days, about 21 calendar days).",
    )
    correctable_columns: list[str] = Field(
        default_factory=list,
        description="`table.column` values a correction request may set (merged into later "
        "runs before validation). Direct identifiers cannot be corrected.",
    )


# --------------------------------------------------------------------------- top level


class TaxonomyExtension(_Frozen):
    key: str = Field(pattern=r"^[a-z_]+(\.[a-z0-9_]+)+$")
    parent: str
    description: str = ""


class Assessment(_Frozen):
    """A personal-information protection impact assessment (PIPIA, PIPL art. 55-56)."""

    id: str = Field(min_length=1)
    completed_on: dt.date
    reviewed_by: str = ""


class Policy(_Frozen):
    """A privacy_profile policy (see docs/policy-reference.md)."""

    policy_version: Literal[1]
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    controller: str = Field(min_length=1, description="The personal-information handler.")
    assessment: Assessment | None = None
    taxonomy_extensions: list[TaxonomyExtension] = Field(default_factory=list)
    pseudonymization_domains: list[PseudonymizationDomain] = Field(min_length=1)
    tokenization: Tokenization | None = None
    purposes: list[Purpose] = Field(min_length=1)
    consent_records: ConsentRecordsSpec
    subjects: SubjectsSpec
    tables: dict[str, Table] = Field(min_length=1)
    privacy: PrivacySpec
    pii_scan: PiiScanSpec = PiiScanSpec()
    lineage_namespace: str = Field(
        default="privacy_profile",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$",
        description="The OpenLineage job namespace of this policy's runs (e.g. the team or "
        "scheduler that owns them); the job name is `<policy name>.sanitize_then_segment`.",
    )
    rights: RightsSpec = Field(
        default_factory=RightsSpec, description="Individuals' rights requests (docs/rights.md)."
    )
    output_access: OutputAccess = Field(
        default=OutputAccess.OWNER,
        description="Who may read the files a run or `sanitize` writes: owner (files 0600, "
        "folders 0700) or group (files 0640, folders 0750), applied to every file and folder "
        "of the run folder, the run log and the sanitize output (docs/reliability.md).",
    )
    identity_links: list[IdentityLink] = Field(
        default_factory=list,
        description="Accounts of one person across sources (openid -> unionid ...): one person "
        "is one privacy unit (see docs/mapping.md). Empty: each account is a unit.",
    )
    mapping: RoleMapping | None = Field(
        default=None,
        description="Which table and column plays each role the profile needs (see "
        "docs/mapping.md). Absent: the documented legacy names (tables orders/events, status "
        "paid, event buy, ...), each role active only when its table is declared.",
    )
    segmentation: SegmentationSpec | None = Field(
        default=None, description="Segment definitions (see docs/segments.md)."
    )
    analytics: AnalyticsSpec | None = Field(
        default=None, description="Private marketing analytics (see docs/analytics.md)."
    )

    # convenience look-ups -------------------------------------------------
    def roles(self) -> RoleMapping:
        """The effective role mapping: ``mapping``, or the legacy default restricted to the
        declared tables and columns."""
        if self.mapping is not None:
            return self.mapping
        lm = LEGACY_MAPPING

        def has(table: str, *cols: str | None) -> bool:
            t = self.tables.get(table)
            return t is not None and all(c in t.columns for c in cols if c is not None)

        def opt(table: str, col: str | None) -> str | None:
            return col if col is not None and has(table, col) else None

        orders: OrderRoles | None = None
        if lm.orders is not None:
            o = lm.orders
            if has(o.table, o.order_id, o.amount, o.time, o.status):
                orders = o.model_copy(
                    update={"category": opt(o.table, o.category), "coupon": opt(o.table, o.coupon)}
                )
        events: EventRoles | None = None
        if lm.events is not None:
            e = lm.events
            if has(e.table, e.event_type, e.time):
                events = e.model_copy(update={"category": opt(e.table, e.category)})
        sj = self.subjects.table
        subj = lm.subjects.model_copy(
            update={
                "gender": opt(sj, lm.subjects.gender),
                "channel": opt(sj, lm.subjects.channel),
                "registered_at": opt(sj, lm.subjects.registered_at),
            }
        )
        return RoleMapping(orders=orders, events=events, subjects=subj)

    def consent_table(self) -> str | None:
        """The consent records table, or None when consent lives in subjects flag columns."""
        return None if self.consent_records.is_flags else self.consent_records.table

    def purpose(self, data_use: str) -> Purpose:
        for p in self.purposes:
            if p.data_use == data_use:
                return p
        from privacy_profile.errors import PolicyError

        known = ", ".join(p.data_use for p in self.purposes)
        raise PolicyError(
            f"purpose {data_use!r} is not declared in policy {self.name!r} (declared: {known})"
        )

    def domain(self, name: str) -> PseudonymizationDomain:
        for d in self.pseudonymization_domains:
            if d.name == name:
                return d
        raise KeyError(name)

    def metric_bounds(self, table: str, column: str) -> MetricBounds | None:
        for b in self.privacy.metric_bounds:
            if b.table == table and b.column == column:
                return b
        return None
