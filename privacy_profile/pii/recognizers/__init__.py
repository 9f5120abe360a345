"""Our recognizers, one class per module, and the registry that names them by entity.

``RECOGNIZERS`` maps each entity type to its recognizer class. ``PERSON`` (English names)
needs an installed spaCy model and is not in :func:`default_entities`. Chinese names have two
recognizers (``NAME_MODELS``): the LAC model (``lac``, the default, in the ``names`` extra)
and the surname model (``surname``, no extra). ``CN_PLACE`` (bare place names, LAC) is off
unless asked for.
"""

from __future__ import annotations

from privacy_profile.pii.recognizers._base import ContextPatternRecognizer
from privacy_profile.pii.recognizers.bank_card import BankCardRecognizer
from privacy_profile.pii.recognizers.cn_address import CnAddressRecognizer
from privacy_profile.pii.recognizers.cn_landline import CnLandlineRecognizer
from privacy_profile.pii.recognizers.cn_license_plate import CnLicensePlateRecognizer
from privacy_profile.pii.recognizers.cn_mobile import CnMobileRecognizer
from privacy_profile.pii.recognizers.cn_person import CnPersonRecognizer
from privacy_profile.pii.recognizers.cn_person_model import CnPersonModelRecognizer
from privacy_profile.pii.recognizers.cn_place import CnPlaceRecognizer
from privacy_profile.pii.recognizers.cn_resident_id import CnResidentIdRecognizer
from privacy_profile.pii.recognizers.email import EmailRecognizer
from privacy_profile.pii.recognizers.en_person import EnPersonRecognizer
from privacy_profile.pii.recognizers.intl_phone import IntlPhoneRecognizer
from privacy_profile.pii.recognizers.ip_address import IpAddressRecognizer
from privacy_profile.pii.recognizers.passport import PassportRecognizer
from privacy_profile.pii.recognizers.qq_number import QqNumberRecognizer
from privacy_profile.pii.recognizers.wechat_id import WechatIdRecognizer
from privacy_profile.pii.recognizers.wechat_openid import WechatOpenidRecognizer
from privacy_profile.pii.recognizers.wechat_unionid import WechatUnionidRecognizer

__all__ = [
    "MODEL_ENTITIES",
    "NAME_MODELS",
    "RECOGNIZERS",
    "STRUCTURED_ENTITIES",
    "BankCardRecognizer",
    "CnAddressRecognizer",
    "CnLandlineRecognizer",
    "CnLicensePlateRecognizer",
    "CnMobileRecognizer",
    "CnPersonModelRecognizer",
    "CnPersonRecognizer",
    "CnPlaceRecognizer",
    "CnResidentIdRecognizer",
    "ContextPatternRecognizer",
    "EmailRecognizer",
    "EnPersonRecognizer",
    "IntlPhoneRecognizer",
    "IpAddressRecognizer",
    "PassportRecognizer",
    "QqNumberRecognizer",
    "WechatIdRecognizer",
    "WechatOpenidRecognizer",
    "WechatUnionidRecognizer",
    "default_entities",
]

RECOGNIZERS: dict[str, type[ContextPatternRecognizer]] = {
    cls.ENTITY: cls
    for cls in (
        CnMobileRecognizer,
        CnLandlineRecognizer,
        IntlPhoneRecognizer,
        CnResidentIdRecognizer,
        BankCardRecognizer,
        EmailRecognizer,
        QqNumberRecognizer,
        WechatIdRecognizer,
        WechatOpenidRecognizer,
        WechatUnionidRecognizer,
        IpAddressRecognizer,
        CnLicensePlateRecognizer,
        PassportRecognizer,
        CnPersonModelRecognizer,
        CnAddressRecognizer,
        CnPlaceRecognizer,
        EnPersonRecognizer,
    )
}

#: The Chinese name recognizers, by the ``names`` switch of ``ScanConfig`` / ``pii_scan``.
NAME_MODELS: dict[str, type[ContextPatternRecognizer]] = {
    "lac": CnPersonModelRecognizer,
    "surname": CnPersonRecognizer,
}

#: Entities that only the LAC model finds (need the ``names`` extra whatever ``names`` says).
MODEL_ENTITIES: tuple[str, ...] = ("CN_PLACE",)

#: Identifiers found by pattern + checksum/table (no language model involved).
STRUCTURED_ENTITIES: tuple[str, ...] = (
    "CN_MOBILE",
    "CN_LANDLINE",
    "PHONE_NUMBER",
    "CN_RESIDENT_ID",
    "BANK_CARD",
    "EMAIL_ADDRESS",
    "QQ_NUMBER",
    "WECHAT_ID",
    "WECHAT_OPENID",
    "WECHAT_UNIONID",
    "IP_ADDRESS",
    "CN_LICENSE_PLATE",
    "PASSPORT",
)


def default_entities() -> tuple[str, ...]:
    """Every entity that works offline without a model: all but English ``PERSON``."""
    return (*STRUCTURED_ENTITIES, "CN_PERSON", "CN_ADDRESS")
