"""Processing purposes as the policy declares them: data use, consent rules, activation."""

from __future__ import annotations

from pydantic import Field

from privacy_profile.policy._base import FrozenModel as _Frozen
from privacy_profile.policy.enums import LegalBasis, OptOutEffect, UnknownAge

__all__ = ["ActivationRule", "ConsentRule", "MinorsRule", "Purpose"]


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
