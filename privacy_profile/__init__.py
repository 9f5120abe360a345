"""privacy_profile: privacy-preserving user profiling for precision marketing.

Ingest under consent, pseudonymize with keyed cryptography, scan free text for PII, and release
only differentially private group-level segments, with lineage an auditor can verify.
"""

from privacy_profile.errors import (
    AuditError,
    BudgetExceededError,
    ConsentError,
    InputError,
    KeyMaterialError,
    LeakDetectedError,
    PolicyError,
    PrivacyParameterError,
    PrivacyProfileError,
    ScanError,
)
from privacy_profile.policy import LoadedPolicy, Policy, load_policy

__version__ = "0.1.0"

__all__ = [
    "AuditError",
    "BudgetExceededError",
    "ConsentError",
    "InputError",
    "KeyMaterialError",
    "LeakDetectedError",
    "LoadedPolicy",
    "Policy",
    "PolicyError",
    "PrivacyParameterError",
    "PrivacyProfileError",
    "ScanError",
    "__version__",
    "load_policy",
]
