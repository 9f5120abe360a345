"""The enumerations of the policy model (column roles and types, file formats, legal bases,
opt-out effects, budget windows, ...)."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "Accounting",
    "ColumnRole",
    "ColumnType",
    "DateUnit",
    "DuplicateSubjects",
    "FileFormat",
    "LegalBasis",
    "OptOutEffect",
    "OutputAccess",
    "PiiReplacement",
    "UndeclaredColumns",
    "UndeclaredIdentifierAction",
    "UnknownAge",
    "UnknownValues",
    "WindowKind",
]


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


class Accounting(StrEnum):
    """How a release family's privacy loss is accounted: pure epsilon-DP (discrete Laplace,
    epsilons add up) or zero-concentrated DP (discrete Gaussian, rho = epsilon^2 / 2, rhos add
    up and the window's total is converted to (epsilon, delta) at budget checks)."""

    PURE_DP = "pure_dp"
    ZCDP = "zcdp"


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


class DuplicateSubjects(StrEnum):
    """What to do with subject ids listed more than once in the subjects table."""

    QUARANTINE_ALL = "quarantine_all"  # every row of the id: its age is then unknown
    KEEP_FIRST = "keep_first"  # the first row (by row number); later ones quarantined


class UnknownValues(StrEnum):
    """What happens to a cell whose value is not in its column's value map: ``quarantine``
    the row (reason ``unknown_value``), or ``keep`` the row with the cell missing (unknown).
    Either way the cells are counted per column in the ingest report."""

    QUARANTINE = "quarantine"
    KEEP = "keep"


class OutputAccess(StrEnum):
    """Who may read the files a run writes: ``owner`` (files 0600, folders 0700) or ``group``
    (files 0640, folders 0750: for a run folder shared with an analysts' group)."""

    OWNER = "owner"
    GROUP = "group"

    @property
    def file_mode(self) -> int:
        return 0o640 if self is OutputAccess.GROUP else 0o600

    @property
    def dir_mode(self) -> int:
        return 0o750 if self is OutputAccess.GROUP else 0o700
