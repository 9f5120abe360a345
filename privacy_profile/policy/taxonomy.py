"""Data categories and data uses from the fideslang taxonomy, plus China-specific extensions.

The keys below follow fideslang (Ethyca, CC BY 4.0, https://github.com/ethyca/fideslang):
dotted, hierarchical, lower-case. A policy may declare extensions such as
``user.unique_id.wechat_openid``; each extension must name a parent that is a known key.
"""

from __future__ import annotations

__all__ = [
    "BUILTIN_EXTENSIONS",
    "DATA_CATEGORIES",
    "DATA_USES",
    "SENSITIVE_CATEGORY_ROOTS",
    "is_marketing_use",
    "is_profiling_use",
    "is_sensitive_category",
]

DATA_CATEGORIES: frozenset[str] = frozenset(
    """
    system system.authentication system.operations
    user
    user.account user.account.settings user.account.username
    user.authorization user.authorization.credentials user.authorization.biometric
    user.authorization.password
    user.behavior user.behavior.browsing_history user.behavior.media_consumption
    user.behavior.purchase_history user.behavior.search_history
    user.biometric user.biometric.fingerprint user.biometric.retinal user.biometric.voice
    user.biometric.health
    user.childrens
    user.contact user.contact.address user.contact.address.city user.contact.address.country
    user.contact.address.postal_code user.contact.address.state user.contact.address.street
    user.contact.email user.contact.phone_number user.contact.fax_number
    user.contact.organization user.contact.url
    user.content user.content.private user.content.public user.content.self_image
    user.criminal_history
    user.demographic user.demographic.age_range user.demographic.date_of_birth
    user.demographic.gender user.demographic.language user.demographic.marital_status
    user.demographic.political_opinion user.demographic.profile
    user.demographic.race_ethnicity user.demographic.religious_belief
    user.demographic.sexual_orientation
    user.device user.device.cookie_id user.device.device_id user.device.ip_address
    user.financial user.financial.bank_account user.financial.credit_card
    user.genetic
    user.government_id user.government_id.birth_certificate
    user.government_id.drivers_license_number user.government_id.immigration
    user.government_id.national_identification_number user.government_id.passport_number
    user.government_id.vehicle_registration
    user.health_and_medical user.health_and_medical.condition
    user.location user.location.imprecise user.location.precise
    user.name user.name.first user.name.last
    user.payment
    user.privacy_preferences
    user.sensor
    user.social
    user.unique_id user.unique_id.pseudonymous
    user.workplace
    """.split()
)

DATA_USES: frozenset[str] = frozenset(
    """
    analytics analytics.reporting analytics.reporting.ad_performance
    analytics.reporting.campaign_insights analytics.reporting.content_performance
    analytics.reporting.system
    collect
    essential essential.fraud_detection essential.service essential.service.operations
    essential.service.payment_processing
    functional functional.service functional.service.improve functional.storage
    marketing marketing.advertising marketing.advertising.first_party
    marketing.advertising.first_party.contextual marketing.advertising.first_party.targeted
    marketing.advertising.frequency_capping marketing.advertising.negative_targeting
    marketing.advertising.profiling marketing.advertising.third_party
    marketing.advertising.third_party.targeted
    marketing.communications marketing.communications.email marketing.communications.sms
    personalize personalize.content personalize.content.profiling personalize.system
    third_party_sharing
    train_ai_system
    """.split()
)

# Extensions every policy may use without declaring them (China-specific identifiers).
BUILTIN_EXTENSIONS: dict[str, str] = {
    "user.unique_id.wechat_openid": "user.unique_id",
    "user.unique_id.wechat_unionid": "user.unique_id",
    "user.government_id.resident_id": "user.government_id.national_identification_number",
}

# Sensitive personal information in the sense of PIPL art. 28 and GB/T 35273 annex B:
# biometrics, religion, specific identity, health, financial accounts, precise location or
# whereabouts, minors' data, and government identifiers.
SENSITIVE_CATEGORY_ROOTS: tuple[str, ...] = (
    "user.authorization.biometric",
    "user.biometric",
    "user.childrens",
    "user.criminal_history",
    "user.demographic.political_opinion",
    "user.demographic.race_ethnicity",
    "user.demographic.religious_belief",
    "user.demographic.sexual_orientation",
    "user.financial",
    "user.genetic",
    "user.government_id",
    "user.health_and_medical",
    "user.location.precise",
)


def _under(key: str, root: str) -> bool:
    return key == root or key.startswith(root + ".")


def is_sensitive_category(key: str) -> bool:
    """True when the category falls under a sensitive root (PIPL art. 28)."""
    return any(_under(key, root) for root in SENSITIVE_CATEGORY_ROOTS)


def is_marketing_use(key: str) -> bool:
    """True for data uses under ``marketing``, ``personalize`` or ``third_party_sharing``."""
    return any(_under(key, r) for r in ("marketing", "personalize", "third_party_sharing"))


def is_profiling_use(key: str) -> bool:
    """True when the data use is profiling (automated evaluation of a person)."""
    return key.split(".")[-1] == "profiling" or _under(key, "marketing.advertising")
