"""The PII scanner a policy's ``pii_scan`` section configures."""

from __future__ import annotations

from privacy_profile.pii.engine import PiiScanner
from privacy_profile.pii.types import ScanConfig
from privacy_profile.policy.model import Policy

__all__ = ["scanner_for"]


def scanner_for(policy: Policy) -> PiiScanner:
    """The offline PII scanner configured as the policy's ``pii_scan`` section says."""
    return PiiScanner(ScanConfig.from_policy(policy.pii_scan))
