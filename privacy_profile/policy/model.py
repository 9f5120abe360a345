"""The policy model: what a compliance team declares, validated at the YAML boundary.

Every model is a frozen pydantic v2 model with ``extra="forbid"``: an unknown or misspelt field
is an error, never silently ignored. Cross-field rules (a direct identifier is never kept,
sensitive data needs separate consent, epsilon per release within the budget, ...) live in
:mod:`privacy_profile.policy.rules` so that each can report the YAML line it concerns.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from privacy_profile.policy.segmentation import SegmentationSpec

__all__ = [
    "ActivationRule",
    "AgeBand",
    "AggregationThreshold",
    "Assessment",
    "BudgetWindow",
    "CityToProvince",
    "Column",
    "ColumnRole",
    "ColumnType",
    "ConsentRecordsSpec",
    "ConsentRule",
    "DateTruncate",
    "DateUnit",
    "Drop",
    "FileFormat",
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
    "WindowKind",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


# --------------------------------------------------------------------------- enums


class ColumnRole(StrEnum):
    """What a column is, for privacy purposes."""

    DIRECT_IDENTIFIER = "direct_identifier"
    QUASI_IDENTIFIER = "quasi_identifier"
    SENSITIVE = "sensitive"
    ATTRIBUTE = "attribute"
    METRIC = "metric"
    TIMESTAMP = "timestamp"
    FREE_TEXT = "free_text"


class ColumnType(StrEnum):
    """The type a column's values must parse as; a value that does not is quarantined."""

    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"
    UNIX_SECONDS = "unix_seconds"


class FileFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"
    JSONL = "jsonl"


class UndeclaredColumns(StrEnum):
    """What happens to an input column the policy does not declare."""

    DROP = "drop"  # dropped and reported
    REFUSE = "refuse"  # the run stops with an InputError


class UnknownAge(StrEnum):
    """How a user of unknown age is treated by the minors rule."""

    EXCLUDE = "exclude"
    INCLUDE = "include"


class OptOutEffect(StrEnum):
    """What an opt-out of personalised marketing does for a purpose."""

    EXCLUDE_FROM_PROFILING = "exclude_from_profiling"  # excluded at ingest
    EXCLUDE_FROM_ACTIVATION = "exclude_from_activation"  # profiled in aggregate, never targeted


class LegalBasis(StrEnum):
    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    LEGITIMATE_INTEREST = "legitimate_interest"


class DateUnit(StrEnum):
    YEAR = "year"
    MONTH = "month"
    DAY = "day"
    HOUR = "hour"


class WindowKind(StrEnum):
    ROLLING_DAYS = "rolling_days"
    CALENDAR_MONTH = "calendar_month"


class PiiReplacement(StrEnum):
    ENTITY_TAG = "entity_tag"  # 13812345678 -> <CN_MOBILE>
    PSEUDONYM = "pseudonym"  # 13812345678 -> <CN_MOBILE:3f2a...> keyed in the column's domain


class UndeclaredIdentifierAction(StrEnum):
    """What a column-level scan does when an undeclared column holds identifiers."""

    REFUSE = "refuse"
    DROP = "drop"


# --------------------------------------------------------------------------- keys


class KeyRef(_Frozen):
    """A reference to key material: an environment variable or a file, never the key itself."""

    env: str | None = Field(default=None, description="Environment variable holding the key.")
    file: str | None = Field(
        default=None,
        description="Path to a file holding the key (relative to the policy file); "
        "it must not be readable by group or others.",
    )

    @model_validator(mode="before")
    @classmethod
    def _refuse_inline(cls, data: Any) -> Any:
        if isinstance(data, str | bytes | int):
            raise ValueError(
                "an inline secret is refused: write {env: VARIABLE_NAME} or {file: path/to/key}"
            )
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> KeyRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of `env` or `file`")
        return self

    def describe(self) -> str:
        return f"env:{self.env}" if self.env is not None else f"file:{self.file}"


class PseudonymizationDomain(_Frozen):
    """A pseudonymisation domain: pseudonyms of two domains cannot be joined."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    key: KeyRef
    key_id: str = Field(
        min_length=1, description="Recorded in lineage; identifies the key version."
    )
    description: str = ""


class Tokenization(_Frozen):
    """Reversible tokens (deterministic AES-SIV) under a custodian key kept apart."""

    custodian_key: KeyRef
    key_id: str = Field(min_length=1)


# --------------------------------------------------------------------------- treatments


class Keep(_Frozen):
    action: Literal["keep"] = "keep"


class Drop(_Frozen):
    action: Literal["drop"] = "drop"


class Pseudonymize(_Frozen):
    """Keyed HMAC-SHA256 pseudonym (after normalizing the value).

    The pseudonymisation domain is the run purpose's (``purposes[].pseudonymization_domain``):
    the same value gets unrelated pseudonyms under two purposes, so their outputs cannot be
    joined.
    """

    action: Literal["pseudonymize"] = "pseudonymize"


class Tokenize(_Frozen):
    """Deterministic AES-SIV token, reversible only with the custodian key."""

    action: Literal["tokenize"] = "tokenize"


class Scan(_Frozen):
    """Find PII in free text and replace each finding (see ``pii_scan``)."""

    action: Literal["scan"] = "scan"


class AgeBand(_Frozen):
    """Birthdate or age to an age band; ``bands`` are the lower edges, ascending."""

    action: Literal["generalize"] = "generalize"
    method: Literal["age_band"] = "age_band"
    bands: list[int] = Field(min_length=1)

    @field_validator("bands")
    @classmethod
    def _ascending(cls, v: list[int]) -> list[int]:
        if any(b < 0 for b in v) or any(b2 <= b1 for b1, b2 in pairwise(v)):
            raise ValueError("bands must be non-negative and strictly ascending, e.g. [0, 14, 18]")
        return v


class DateTruncate(_Frozen):
    """Dates or timestamps truncated to a year, month, day or hour."""

    action: Literal["generalize"] = "generalize"
    method: Literal["date_truncate"] = "date_truncate"
    unit: DateUnit


class CityToProvince(_Frozen):
    """A city or district (name or division code) to its province."""

    action: Literal["generalize"] = "generalize"
    method: Literal["city_to_province"] = "city_to_province"


class NumericRound(_Frozen):
    """Round to a multiple of ``step``."""

    action: Literal["generalize"] = "generalize"
    method: Literal["round"] = "round"
    step: float = Field(gt=0)


class TopBottomCode(_Frozen):
    """Values below ``lower`` become ``lower``; above ``upper`` become ``upper``."""

    action: Literal["generalize"] = "generalize"
    method: Literal["top_bottom_code"] = "top_bottom_code"
    lower: float | None = None
    upper: float | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> TopBottomCode:
        if self.lower is None and self.upper is None:
            raise ValueError("give `lower`, `upper` or both")
        if self.lower is not None and self.upper is not None and self.lower >= self.upper:
            raise ValueError("`lower` must be below `upper`")
        return self


_SHORTHAND = {
    "keep": Keep,
    "drop": Drop,
    "pseudonymize": Pseudonymize,
    "tokenize": Tokenize,
    "scan": Scan,
}


def _treatment_tag(v: Any) -> str | None:
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        action = v.get("action")
        if action == "generalize":
            return f"generalize:{v.get('method')}"
        return action if isinstance(action, str) else None
    action = getattr(v, "action", None)
    if action == "generalize":
        return f"generalize:{getattr(v, 'method', None)}"
    return action if isinstance(action, str) else None


def _coerce_shorthand(v: Any) -> Any:
    if isinstance(v, str) and v in _SHORTHAND:
        return {"action": v}
    return v


Treatment = Annotated[
    Annotated[Keep, Tag("keep")]
    | Annotated[Drop, Tag("drop")]
    | Annotated[Pseudonymize, Tag("pseudonymize")]
    | Annotated[Tokenize, Tag("tokenize")]
    | Annotated[Scan, Tag("scan")]
    | Annotated[AgeBand, Tag("generalize:age_band")]
    | Annotated[DateTruncate, Tag("generalize:date_truncate")]
    | Annotated[CityToProvince, Tag("generalize:city_to_province")]
    | Annotated[NumericRound, Tag("generalize:round")]
    | Annotated[TopBottomCode, Tag("generalize:top_bottom_code")],
    Discriminator(
        _treatment_tag,
        custom_error_type="invalid_treatment",
        custom_error_message=(
            "unknown treatment: use keep, drop, pseudonymize, tokenize, scan"
            " or {action: generalize, method: age_band|date_truncate|city_to_province|round|"
            "top_bottom_code, ...}"
        ),
    ),
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

    @field_validator("treatment", mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        return _coerce_shorthand(v)


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
    """Where consent records are and which of their columns mean what."""

    table: str
    user_column: str
    purpose_column: str
    status_column: str = Field(description="Values: granted | withdrawn.")
    timestamp_column: str
    notice_version_column: str
    guardian_consent_column: str | None = None
    sensitive_consent_column: str | None = None
    opt_out_column: str | None = None


class DuplicateSubjects(StrEnum):
    """What to do with subject ids listed more than once in the subjects table."""

    QUARANTINE_ALL = "quarantine_all"  # every row of the id: its age is then unknown
    KEEP_FIRST = "keep_first"  # the first row (by row number); later ones quarantined


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


class BudgetWindow(_Frozen):
    kind: WindowKind
    days: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _days(self) -> BudgetWindow:
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
    budget_window: BudgetWindow
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
    segmentation: SegmentationSpec | None = Field(
        default=None, description="Segment definitions (see docs/segments.md)."
    )

    # convenience look-ups -------------------------------------------------
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
