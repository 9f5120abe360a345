"""What replaces a finding: presidio-anonymizer operators, with hashing keyed by a domain key.

Four operators, chosen per scan column in the policy (``treatment: {action: scan, operator:
...}``):

* ``entity_tag`` -- presidio's ``replace``: ``<CN_MOBILE>``;
* ``mask`` -- presidio's ``mask`` on the middle of the value: ``138****5678``, ``王**``;
* ``hash`` -- :class:`HmacHash`, a presidio ``Operator`` computing HMAC-SHA256 under a key
  derived from the pseudonymisation domain's key (never a plain or plain-salted SHA-256,
  which anyone can recompute for every phone number): ``<CN_MOBILE:3f2a...>``, the same value
  gives the same tag within a domain, so joins on it still work;
* ``encrypt`` -- presidio's ``encrypt`` (AES-CBC, random IV) under a key derived from the
  custodian key; reversible with :func:`decrypt_value` by the key's holder only.

Keys are never logged; a derived key is HMAC-SHA256(key, label) with a fixed label per use.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from presidio_anonymizer.operators import Decrypt, Encrypt, Mask, Operator, OperatorType, Replace

from privacy_profile.errors import ScanError
from privacy_profile.pii.types import Finding

__all__ = [
    "HmacHash",
    "PiiOperator",
    "decrypt_value",
    "derive_key",
    "mask_value",
    "replacer",
]

_HASH_LABEL = b"privacy_profile/pii-hash/v1"
_ENCRYPT_LABEL = b"privacy_profile/pii-encrypt/v1"
_SPACE = re.compile(r"\s+")


class PiiOperator(StrEnum):
    """The replacement of a finding (see the module docstring)."""

    ENTITY_TAG = "entity_tag"
    MASK = "mask"
    HASH = "hash"
    ENCRYPT = "encrypt"


def derive_key(secret: bytes, label: bytes) -> bytes:
    """A 32-byte key for one use (``label``) of ``secret``: HMAC-SHA256(secret, label)."""
    if len(secret) < 32:
        raise ScanError("a PII operator key must be at least 32 bytes", hint="use the key ring")
    return hmac.new(secret, label, hashlib.sha256).digest()


class HmacHash(Operator):
    """A presidio operator: HMAC-SHA256 of the value (spaces removed) under ``params["key"]``,
    as 16 hex digits (64 bits: collisions are negligible at column sizes)."""

    def operate(self, text: str = "", params: dict[str, Any] | None = None) -> str:
        key = (params or {})["key"]
        value = _SPACE.sub("", text)
        return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]

    def validate(self, params: dict[str, Any] | None = None) -> None:
        key = (params or {}).get("key")
        if not isinstance(key, bytes) or len(key) < 32:
            raise ScanError("HmacHash needs a key of at least 32 bytes")

    def operator_name(self) -> str:
        return "hmac_hash"

    def operator_type(self) -> OperatorType:
        return OperatorType.Anonymize


def mask_value(text: str) -> str:
    """The middle of ``text`` masked with presidio's ``mask``: 11+ characters keep 3 + 4
    (138****5678), 7-10 keep 2 + 2, 3-6 keep the first, shorter ones are masked whole."""
    n = len(text)
    head, tail = (3, 4) if n >= 11 else (2, 2) if n >= 7 else (1, 0) if n >= 3 else (0, 0)
    middle = text[head : n - tail]
    masked = Mask().operate(
        middle, {"masking_char": "*", "chars_to_mask": len(middle), "from_end": False}
    )
    return text[:head] + masked + text[n - tail :]


def decrypt_value(token: str, custodian_secret: bytes) -> str:
    """The original value of an ``encrypt`` operator output (custodian key holders only)."""
    key = derive_key(custodian_secret, _ENCRYPT_LABEL)
    return str(Decrypt().operate(token, {"key": key}))


def replacer(
    operator: PiiOperator | str,
    *,
    hash_secret: bytes | None = None,
    encrypt_secret: bytes | None = None,
) -> Callable[[Finding, str], str]:
    """``replace(finding, matched_text)`` for :meth:`PiiScanner.redact_series`.

    ``hash`` needs ``hash_secret`` (the pseudonymisation domain's key), ``encrypt`` needs
    ``encrypt_secret`` (the custodian key); a missing key raises :class:`ScanError` (fail
    closed: no default key).
    """
    op = PiiOperator(operator)
    if op is PiiOperator.ENTITY_TAG:
        replace_op = Replace()
        return lambda f, text: str(replace_op.operate(text, {"new_value": f"<{f.entity_type}>"}))
    if op is PiiOperator.MASK:
        return lambda f, text: mask_value(text)
    if op is PiiOperator.HASH:
        if hash_secret is None:
            raise ScanError(
                "the hash operator needs a pseudonymisation domain key",
                hint="set pii_scan.pseudonym_domain to a declared domain with a key",
            )
        params = {"key": derive_key(hash_secret, _HASH_LABEL)}
        hasher = HmacHash()
        hasher.validate(params)
        return lambda f, text: f"<{f.entity_type}:{hasher.operate(text, params)}>"
    if encrypt_secret is None:
        raise ScanError(
            "the encrypt operator needs the custodian key",
            hint="declare tokenization.custodian_key in the policy and load it",
        )
    eparams = {"key": derive_key(encrypt_secret, _ENCRYPT_LABEL)}
    encrypter = Encrypt()
    encrypter.validate(eparams)
    return lambda f, text: f"<{f.entity_type}:enc:{encrypter.operate(text, eparams)}>"
