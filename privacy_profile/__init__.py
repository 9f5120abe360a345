"""privacy_profile: privacy-preserving user profiling for precision marketing.

Ingest under consent, pseudonymize with keyed cryptography, scan free text for PII, and release
only differentially private group-level segments, with lineage an auditor can verify.

The pipeline entry points (``sanitize_then_segment``, ``sanitize`` and their collaborators)
are imported on first use, so that ``import privacy_profile`` and the policy commands stay
fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from privacy_profile.errors import (
    AuditError,
    BudgetExceededError,
    ConsentError,
    EngineError,
    InputError,
    KeyMaterialError,
    LeakDetectedError,
    OutputError,
    PolicyError,
    PreflightError,
    PrivacyParameterError,
    PrivacyProfileError,
    ScanError,
)
from privacy_profile.policy import LoadedPolicy, Policy, load_policy, load_policy_file

if TYPE_CHECKING:
    from privacy_profile.dp import BudgetLedger, DPRandom
    from privacy_profile.dp.policy_ledger import open_ledger
    from privacy_profile.engine import Release, sanitize_then_segment
    from privacy_profile.ingest import KeyRing, SanitizeResult, sanitize, write_sanitized
    from privacy_profile.lineage.audit import verify_run
    from privacy_profile.pii import PiiScanner
    from privacy_profile.pii.for_policy import scanner_for

__version__ = "0.1.0"

_LAZY = {
    "BudgetLedger": "privacy_profile.dp",
    "DPRandom": "privacy_profile.dp",
    "KeyRing": "privacy_profile.ingest",
    "PiiScanner": "privacy_profile.pii",
    "Release": "privacy_profile.engine",
    "SanitizeResult": "privacy_profile.ingest",
    "open_ledger": "privacy_profile.dp.policy_ledger",
    "sanitize": "privacy_profile.ingest",
    "sanitize_then_segment": "privacy_profile.engine",
    "scanner_for": "privacy_profile.pii.for_policy",
    "verify_run": "privacy_profile.lineage.audit",
    "write_sanitized": "privacy_profile.ingest",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'privacy_profile' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "AuditError",
    "BudgetExceededError",
    "BudgetLedger",
    "ConsentError",
    "DPRandom",
    "EngineError",
    "InputError",
    "KeyMaterialError",
    "KeyRing",
    "LeakDetectedError",
    "LoadedPolicy",
    "OutputError",
    "PiiScanner",
    "Policy",
    "PolicyError",
    "PreflightError",
    "PrivacyParameterError",
    "PrivacyProfileError",
    "Release",
    "SanitizeResult",
    "ScanError",
    "__version__",
    "load_policy",
    "load_policy_file",
    "open_ledger",
    "sanitize",
    "sanitize_then_segment",
    "scanner_for",
    "verify_run",
    "write_sanitized",
]
