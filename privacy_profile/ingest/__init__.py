"""The ingestion layer: the trust boundary between raw shop data and everything else.

After :func:`sanitize` no raw direct identifier remains, every excluded row is counted by
reason, and only users whose consent covers the run's purpose remain. See docs/ingestion.md.
"""

from privacy_profile.ingest.identifiers import IdentifierIndex
from privacy_profile.ingest.keys import KeyMaterial, KeyRing
from privacy_profile.ingest.pseudonymize import Pseudonymizer, Tokenizer
from privacy_profile.ingest.report import IngestReport, KAnonymityReport, TableReport
from privacy_profile.ingest.sanitize import ActivationInfo, SanitizeResult, sanitize
from privacy_profile.ingest.scan import TextScanner
from privacy_profile.ingest.write import SanitizeOutput, sanitize_to_dir, write_sanitized

__all__ = [
    "ActivationInfo",
    "IdentifierIndex",
    "IngestReport",
    "KAnonymityReport",
    "KeyMaterial",
    "KeyRing",
    "Pseudonymizer",
    "SanitizeOutput",
    "SanitizeResult",
    "TableReport",
    "TextScanner",
    "Tokenizer",
    "sanitize",
    "sanitize_to_dir",
    "write_sanitized",
]
