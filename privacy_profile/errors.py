"""The exception hierarchy of privacy_profile.

Every error the library raises on purpose derives from :class:`PrivacyProfileError`, so a
pipeline can catch one class. The CLI turns each into one clear message and a non-zero exit
code, never a traceback::

    PrivacyProfileError              base class; .hint says how to fix it
    ├── PolicyError                  a policy file is malformed or unsafe (file, line, field)
    ├── InputError                   an input file cannot be read as the policy declares
    ├── OutputError                  an output path cannot be written safely (file, folder)
    ├── ConsentError                 consent records are missing or contradictory
    ├── KeyMaterialError             a key is missing, too short, or stored unsafely
    ├── BudgetExceededError          a charge would pass the privacy budget (nothing released)
    ├── LeakDetectedError            an output would carry an identifier, pseudonym or PII
    ├── PrivacyParameterError        unsafe DP parameters (e.g. bounds derived from data)
    ├── ScanError                    the PII scanner could not run as configured
    ├── PreflightError               the run cannot produce what the policy asks (nothing spent)
    ├── EngineError                  the Spark engine failed to run a job (cluster, executors)
    └── AuditError                   `audit verify` found a mismatch (hash chain, outputs, ledger)

Messages never contain a key, and never contain a data value from an identifier column.
"""

from __future__ import annotations

__all__ = [
    "AuditError",
    "BudgetExceededError",
    "ConsentError",
    "EngineError",
    "InputError",
    "KeyMaterialError",
    "LeakDetectedError",
    "OutputError",
    "PolicyError",
    "PolicyIssue",
    "PreflightError",
    "PrivacyParameterError",
    "PrivacyProfileError",
    "ScanError",
]

from dataclasses import dataclass


class PrivacyProfileError(Exception):
    """Base class of every error raised on purpose by privacy_profile.

    ``hint`` is a short sentence telling the user how to fix the problem.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  fix: {self.hint}"
        return self.message


@dataclass(frozen=True)
class PolicyIssue:
    """One problem found in a policy file: where it is and how to fix it."""

    file: str
    line: int | None
    field: str
    message: str
    hint: str | None = None

    def format(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        text = f"{where}: {self.field}: {self.message}"
        if self.hint:
            text += f" (fix: {self.hint})"
        return text


class PolicyError(PrivacyProfileError):
    """A policy file is malformed, unsafe or inconsistent.

    ``issues`` lists every problem found, each with file, line and field.
    """

    def __init__(self, issues: list[PolicyIssue] | PolicyIssue | str, *, hint: str | None = None):
        if isinstance(issues, str):
            issues = [PolicyIssue(file="<policy>", line=None, field="", message=issues, hint=hint)]
        elif isinstance(issues, PolicyIssue):
            issues = [issues]
        self.issues: list[PolicyIssue] = list(issues)
        n = len(self.issues)
        head = f"{n} problem{'s' if n != 1 else ''} in policy"
        super().__init__(head + ":\n" + "\n".join("  " + i.format() for i in self.issues))


class InputError(PrivacyProfileError):
    """An input file cannot be read as the policy declares (missing column, encoding, ...)."""


class OutputError(PrivacyProfileError):
    """An output path cannot be written safely: it is a file where a folder is needed, a
    folder holding data this tool did not write, or the file system refused the write."""


class ConsentError(PrivacyProfileError):
    """Consent records are missing, malformed or do not cover the run's purpose."""


class KeyMaterialError(PrivacyProfileError):
    """A key is missing, too short, stored with unsafe permissions or given inline."""


class BudgetExceededError(PrivacyProfileError):
    """A privacy-budget charge would exceed the budget; nothing was computed or released."""


class LeakDetectedError(PrivacyProfileError):
    """An output would carry a raw identifier, a pseudonym or a PII finding; nothing written."""


class PrivacyParameterError(PrivacyProfileError):
    """Differential-privacy parameters are missing or unsafe (e.g. bounds taken from the data)."""


class ScanError(PrivacyProfileError):
    """The PII scanner could not be built or run as the policy asks."""


class PreflightError(PrivacyProfileError):
    """Pre-flight found that the run cannot produce what the policy asks (e.g. every order
    quarantined, no paid order with RFM on, a persona dimension all unknown). Raised after
    sanitize and before any budget is charged: nothing was spent or released. ``.issues``
    lists (check, reason, fix); the message never holds a count or a data value."""

    def __init__(self, issues: list[tuple[str, str, str]]) -> None:
        self.issues = list(issues)
        n = len(self.issues)
        lines = [f"  - {check}: {reason}\n      fix: {fix}" for check, reason, fix in self.issues]
        super().__init__(
            f"pre-flight failed ({n} problem{'s' if n != 1 else ''}); no budget was spent and "
            "nothing was released:\n" + "\n".join(lines)
        )


class EngineError(PrivacyProfileError):
    """The Spark engine could not run a job (an executor lost or out of memory, a cluster or
    file-system connector failure): not a problem of the policy or the data. Ingestion runs
    before any budget is charged, so nothing was spent or released."""


class AuditError(PrivacyProfileError):
    """`audit verify` found a mismatch between the run log, outputs, ledger and lineage."""
