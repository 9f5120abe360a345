"""A subject named by a raw id, turned at once into keyed values: the raw id is never kept.

:func:`identify` normalises the raw id exactly as ingestion normalises the subjects' id column,
then derives what the rights register stores: the subject's pseudonym in every pseudonymisation
domain of the policy (HMAC, as ingestion computes it), a keyed look-up digest, and the SHA-256
of the subject's activation token (to find it in audiences on disk without keeping the token,
which the custodian key could turn back into the raw id).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from cryptography.hazmat.primitives import hashes, hmac

from privacy_profile.errors import InputError
from privacy_profile.ingest.keys import KeyRing
from privacy_profile.ingest.normalize import normalizer_for
from privacy_profile.ingest.pseudonymize import Pseudonymizer, Tokenizer, derive_subkey
from privacy_profile.policy.model import Policy

__all__ = ["MAX_ID_CHARS", "SubjectIdentity", "identify", "subject_digest", "token_digest"]

MAX_ID_CHARS = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class SubjectIdentity:
    """The keyed values of one subject: look-up digest, pseudonym per domain, token digest."""

    digest: str
    pseudonyms: Mapping[str, str]
    token_digest: str | None = None


def _normalized(raw: str, policy: Policy) -> str:
    if not isinstance(raw, str) or _CONTROL.search(raw) or len(raw) > MAX_ID_CHARS:
        raise InputError(
            "malformed subject id: it must be text without control characters, at most "
            f"{MAX_ID_CHARS} characters",
            hint="give the subject's id exactly as the subjects table holds it "
            f"({policy.subjects.table}.{policy.subjects.id_column})",
        )
    col = policy.tables[policy.subjects.table].columns[policy.subjects.id_column]
    value = normalizer_for(col.category)(pd.Series([raw], dtype="string")).iloc[0]
    if value is pd.NA or not str(value):
        raise InputError(
            "malformed subject id: it is empty after normalisation",
            hint=f"give a value of {policy.subjects.table}.{policy.subjects.id_column}",
        )
    return str(value)


def _digest_key(keys: KeyRing, policy: Policy) -> bytes:
    first = sorted(d.name for d in policy.pseudonymization_domains)[0]
    return derive_subkey(keys.domain(first), purpose="rights-digest", name="subject")


def subject_digest(normalized: str, keys: KeyRing, policy: Policy) -> str:
    """``hmac-sha256:`` + 32 hex digits: the register's keyed look-up of a normalised id."""
    h = hmac.HMAC(_digest_key(keys, policy), hashes.SHA256())
    h.update(normalized.encode("utf-8"))
    return "hmac-sha256:" + h.finalize()[:16].hex()


def token_digest(token: str) -> str:
    """``sha256:`` + hex of an activation token (a token is already a keyed ciphertext)."""
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()


def identify(raw_id: str, policy: Policy, keys: KeyRing) -> SubjectIdentity:
    """The keyed values of ``raw_id``; raises :class:`InputError` for a malformed id and
    :class:`~privacy_profile.errors.KeyMaterialError` when a domain key is missing."""
    norm = _normalized(raw_id, policy)
    pz = Pseudonymizer(keys)
    pseudonyms = {
        d.name: pz.hash_values([norm], domain=d.name)[0] for d in policy.pseudonymization_domains
    }
    tdig = None
    if keys.custodian is not None and policy.tokenization is not None:
        tdig = token_digest(Tokenizer(keys.custodian).tokenize_values([norm])[0])
    return SubjectIdentity(
        digest=subject_digest(norm, keys, policy), pseudonyms=pseudonyms, token_digest=tdig
    )
