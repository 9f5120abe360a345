"""The policy model: what a compliance team declares, validated at the YAML boundary.

Every model is a frozen pydantic v2 model with ``extra="forbid"``: an unknown or misspelt field
is an error, never silently ignored. Cross-field rules (a direct identifier is never kept,
sensitive data needs separate consent, epsilon per release within the budget, ...) live in
:mod:`privacy_profile.policy.rules` so that each can report the YAML line it concerns.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from privacy_profile.policy._base import FrozenModel as _Frozen
from privacy_profile.policy.analytics import AnalyticsSpec
from privacy_profile.policy.enums import (
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
from privacy_profile.policy.segmentation import SegmentationSpec
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
    _coerce_shorthand,
)

__all__ = [
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


# --------------------------------------------------------------------------- tables


class Column(_Frozen):
    """One declared input column: its data category, role, type and treatment."""

    category: str = Field(description="A fideslang data category key or a declared extension.")
    role: ColumnRole
    type: ColumnType = ColumnType.STRING
    treatment: Treatment
    nullable: bool = True
    format: str | None = Field(
        default=None, description="strftime format for date/timestamp columns (default ISO 8601)."
    )
    description: str = ""
    values: dict[str, str] | None = Field(
        default=None,
        description="Value map: each raw value (as text, matched exactly after trimming "
        "spaces, e.g. 是, Y, 1, 已支付, 同意) and the value it means (true/false for "
        "booleans, granted/withdrawn for consent status, any label otherwise). A raw value "
        "not listed is unknown (see unknown_values).",
    )
    unknown_values: UnknownValues = Field(
        default=UnknownValues.QUARANTINE,
        description="With a value map: quarantine rows holding an unlisted value, or keep them "
        "with the cell missing. Counted per column in the ingest report either way.",
    )

    @field_validator("treatment", mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        return _coerce_shorthand(v)

    @field_validator("values", mode="before")
    @classmethod
    def _value_map(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out: dict[str, Any] = {}
        for key, val in v.items():
            out[str(key)] = str(val).lower() if isinstance(val, bool) else str(val)
        if not out:
            raise ValueError("a value map lists at least one value")
        return out


class Table(_Frozen):
    """An input table: file format, retention and its columns."""

    file: str | None = Field(
        default=None, description="File name inside the input directory (default: <table>.<ext>)."
    )
    format: FileFormat = FileFormat.CSV
    encoding: Literal["utf-8", "utf-8-sig", "gbk", "gb18030"] = "utf-8"
    retention_days: int = Field(ge=1, description="Rows older than this many days are excluded.")
    retention_column: str | None = Field(
        default=None, description="The timestamp column retention is measured on."
    )
    subject_column: str = Field(
        description="The column holding the data subject's id (joined to consent records)."
    )
    undeclared_columns: UndeclaredColumns = UndeclaredColumns.DROP
    future_tolerance_days: int = Field(
        default=1,
        ge=0,
        le=3660,
        description="Dates and timestamps later than the run time plus this many days are "
        "quarantined (future_timestamp): clock skew is tolerated, an order dated 2031 is not.",
    )
    columns: dict[str, Column] = Field(min_length=1)

    def file_name(self, table_name: str) -> str:
        ext = {"csv": "csv", "parquet": "parquet", "jsonl": "jsonl"}[self.format.value]
        return self.file or f"{table_name}.{ext}"


class ConsentRecordsSpec(_Frozen):
    """Where consent lives and which of its columns mean what.

    Two layouts: a consent *records* table (one row per user, purpose and decision: give
    ``purpose_column``, ``status_column``, ``timestamp_column`` and ``notice_version_column``),
    or per-purpose *flag columns* in the subjects table (``table`` is ``subjects.table``; give
    ``purpose_flags`` and ``notice_version_column`` or ``notice_version``). Status and flag
    values are read after the column's value map (e.g. ``values: {同意: granted, 撤回:
    withdrawn}`` or, for a boolean flag, ``{是: true, 否: false}``).
    """

    table: str
    user_column: str
    purpose_column: str | None = Field(default=None, description="Records layout: the purpose.")
    status_column: str | None = Field(
        default=None, description="Records layout. Values: granted | withdrawn."
    )
    timestamp_column: str | None = Field(
        default=None, description="When the decision was recorded (records layout: required)."
    )
    notice_version_column: str | None = None
    notice_version: str | None = Field(
        default=None,
        description="Flags layout: the privacy-notice version every flag was collected under "
        "(instead of a notice_version_column).",
    )
    purpose_flags: dict[str, str] | None = Field(
        default=None,
        description="Flags layout: data use -> the subjects column holding that purpose's "
        "consent (true/granted: granted; false/withdrawn: withdrawn; missing: no consent).",
    )
    guardian_consent_column: str | None = None
    sensitive_consent_column: str | None = None
    opt_out_column: str | None = None

    @property
    def is_flags(self) -> bool:
        """True for per-purpose flag columns in the subjects table."""
        return self.purpose_flags is not None

    @model_validator(mode="after")
    def _layout(self) -> ConsentRecordsSpec:
        if self.purpose_flags is not None:
            extra = [f for f in ("purpose_column", "status_column") if getattr(self, f)]
            if extra:
                raise ValueError(
                    f"purpose_flags (flag columns) and {', '.join(extra)} (a records table) "
                    "exclude each other: keep one layout"
                )
            if not self.purpose_flags:
                raise ValueError("purpose_flags names at least one purpose")
        else:
            missing = [
                f
                for f in ("purpose_column", "status_column", "timestamp_column")
                if getattr(self, f) is None
            ]
            if missing:
                raise ValueError(
                    f"a consent records table needs {', '.join(missing)} "
                    "(or use purpose_flags for flag columns in the subjects table)"
                )
        if (self.notice_version_column is None) == (self.notice_version is None):
            raise ValueError("give exactly one of `notice_version_column` or `notice_version`")
        return self


class IdentityLink(_Frozen):
    """One person, several accounts: ``table`` holds pairs (``account_column`` ->
    ``person_column``), e.g. a link table openid -> unionid, or the two columns of the
    subjects table. Both columns are pseudonymized in the purpose's domain; after
    pseudonymization and before any bounding, every table's subject pseudonym found among the
    accounts is replaced by its person's pseudonym, so contribution bounds hold per person.
    Unlinked accounts (and accounts linked to more than one person) stay separate units."""

    table: str = Field(description="The declared table holding the links.")
    account_column: str = Field(description="Column: the account id (e.g. openid).")
    person_column: str = Field(description="Column: the person id (e.g. unionid).")


class SubjectsSpec(_Frozen):
    """Where a data subject's age comes from (for the minors rule)."""

    table: str
    id_column: str
    birthdate_column: str | None = None
    age_column: str | None = None
    duplicate_ids: DuplicateSubjects = Field(
        default=DuplicateSubjects.QUARANTINE_ALL,
        description="A subject id listed twice (a second birthdate could change the minors "
        "decision): quarantine_all its rows (reason duplicate_subject; age unknown, fail "
        "closed) or keep_first and quarantine the later rows.",
    )

    @model_validator(mode="after")
    def _age_source(self) -> SubjectsSpec:
        if self.birthdate_column is None and self.age_column is None:
            raise ValueError("give `birthdate_column` or `age_column` so minors can be found")
        return self


# --------------------------------------------------------------------------- purposes


class MinorsRule(_Frozen):
    minimum_age: int = Field(default=14, ge=1, le=21)
    unknown_age: UnknownAge = UnknownAge.EXCLUDE
    guardian_consent_admits: bool = Field(
        default=True, description="A minor with recorded guardian consent may be included."
    )


class ConsentRule(_Frozen):
    accepted_notice_versions: list[str] = Field(min_length=1)
    separate_consent_for_sensitive: bool = Field(
        description="Sensitive columns are used only for users with a separate consent."
    )
    minors: MinorsRule = MinorsRule()
    opt_out: OptOutEffect = OptOutEffect.EXCLUDE_FROM_ACTIVATION


class ActivationRule(_Frozen):
    """Whether segment audiences keyed by reversible tokens may be produced for this purpose."""

    allowed: bool = False
    recipient: str | None = None


class Purpose(_Frozen):
    """A processing purpose (a fideslang data use) and the consent it requires."""

    data_use: str
    name: str
    legal_basis: LegalBasis = LegalBasis.CONSENT
    recipients: list[str] = Field(min_length=1)
    pseudonymization_domain: str
    consent: ConsentRule
    activation: ActivationRule = ActivationRule()


# --------------------------------------------------------------------------- privacy


class BudgetWindowSpec(_Frozen):
    """The declared budget window; :func:`privacy_profile.dp.policy_ledger.budget_window`
    gives the ledger's :class:`privacy_profile.dp.BudgetWindow` (the one window type)."""

    kind: WindowKind
    days: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _days(self) -> BudgetWindowSpec:
        if self.kind is WindowKind.ROLLING_DAYS and self.days is None:
            raise ValueError("a rolling_days window needs `days`")
        if self.kind is WindowKind.CALENDAR_MONTH and self.days is not None:
            raise ValueError("a calendar_month window takes no `days`")
        return self


class AggregationThreshold(_Frozen):
    """Minimum distinct privacy units in any released group (applied on noisy counts)."""

    threshold: int = Field(ge=1)
    privacy_unit_column: str


class KAnonymity(_Frozen):
    """k for any row-level output over the declared quasi-identifiers."""

    k: int = Field(ge=1)
    quasi_identifiers: list[str] = Field(
        default_factory=list, description="table.column names; default: every quasi_identifier."
    )


class MetricBounds(_Frozen):
    """Public bounds of a metric; values are clamped to them. Never derived from the data."""

    table: str
    column: str
    lower: float
    upper: float

    @model_validator(mode="after")
    def _order(self) -> MetricBounds:
        if not self.lower < self.upper:
            raise ValueError("`lower` must be below `upper`")
        return self


class PrivacySpec(_Frozen):
    """The privacy model: privacy unit, contribution bounds and privacy loss budget.

    Field names follow BigQuery's differential-privacy analysis rules.
    """

    privacy_unit_column: str = Field(
        description="table.column whose pseudonym identifies the protected person."
    )
    max_groups_contributed: int = Field(ge=1)
    max_rows_per_group: int = Field(ge=1)
    epsilon_budget: float = Field(description="Total epsilon per dataset and window.")
    delta_budget: float = Field(description="Total delta per dataset and window.")
    max_epsilon_per_query: float = Field(description="Epsilon of one release.")
    delta_per_query: float = Field(description="Delta of one release (private group selection).")
    budget_dataset: str = Field(min_length=1, description="The ledger's dataset name.")
    budget_window: BudgetWindowSpec
    aggregation_threshold: AggregationThreshold
    k_anonymity: KAnonymity
    metric_bounds: list[MetricBounds] = Field(default_factory=list)


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
