"""Input tables as the policy declares them: columns, consent records, subjects, identity links."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from privacy_profile.policy._base import FrozenModel as _Frozen
from privacy_profile.policy.enums import (
    ColumnRole,
    ColumnType,
    DuplicateSubjects,
    FileFormat,
    UndeclaredColumns,
    UnknownValues,
)
from privacy_profile.policy.treatments import Treatment, _coerce_shorthand

__all__ = ["Column", "ConsentRecordsSpec", "IdentityLink", "SubjectsSpec", "Table"]


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
        default=None,
        description="File name inside the input directory (default: <table>.<ext>); it may "
        "name a directory of part files (a Spark or Hive export, read in name order as one "
        "table; docs/ingestion.md).",
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
