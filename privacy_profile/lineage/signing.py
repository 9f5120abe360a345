"""Ed25519 signatures over run-log heads, so that anyone holding the public key detects a
truncated or re-hashed run log.

The signing key is held like the other keys (:mod:`privacy_profile.ingest.keys`): a secret of
32+ random bytes (hex or base64) in an environment variable (:data:`SIGNING_KEY_ENV`) or in a
file readable by its owner only, never printed or written; the Ed25519 key is derived from it
(HMAC-SHA256 with a fixed label). The demo uses a random development key, marked as such in the
signature record. The public key is written as 64 hex digits (``run-log-public-key.hex``) for
auditors: ``privacy-profile audit verify RUN --public-key FILE``.

A run appends one ``head_signature`` record after its last record: it signs
``privacy_profile runlog head\\n<seq>\\n<hash>`` of that last record. ``audit verify`` with the
public key requires a valid signature record covering every record of the run.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from privacy_profile.errors import AuditError, KeyMaterialError
from privacy_profile.ingest.keys import load_key_ref
from privacy_profile.policy.model import KeyRef

__all__ = [
    "HEAD_SIGNATURE_KIND",
    "PUBLIC_KEY_FILE",
    "SIGNING_KEY_ENV",
    "RunLogSigner",
    "head_message",
    "load_public_key",
    "verify_head_signature",
]

SIGNING_KEY_ENV = "PRIVACY_PROFILE_SIGNING_KEY"
PUBLIC_KEY_FILE = "run-log-public-key.hex"
HEAD_SIGNATURE_KIND = "head_signature"
_LABEL = b"privacy_profile run-log signing key v1"


def head_message(seq: int, head_hash: str) -> bytes:
    return f"privacy_profile runlog head\n{seq}\n{head_hash}".encode()


def _fingerprint(public: bytes) -> str:
    return "sha256:" + hashlib.sha256(public).hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class RunLogSigner:
    """An Ed25519 signing key for run-log heads; ``repr`` never shows the key."""

    key_id: str
    development: bool
    _key: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def from_secret(cls, secret: bytes, *, key_id: str, development: bool = False) -> RunLogSigner:
        seed = hmac.new(secret, _LABEL, hashlib.sha256).digest()
        return cls(key_id, development, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_environment(
        cls, *, env: Mapping[str, str] | None = None, file: str | Path | None = None
    ) -> RunLogSigner:
        """The signing key from ``file`` (0600) or else :data:`SIGNING_KEY_ENV`."""
        ref = KeyRef(file=str(file)) if file is not None else KeyRef(env=SIGNING_KEY_ENV)
        km = load_key_ref(
            ref, key_id="run-log-signing", policy_dir=None, env=os.environ if env is None else env
        )
        return cls.from_secret(km.secret(), key_id="run-log-signing")

    @classmethod
    def development_key(cls) -> RunLogSigner:
        """A random key for the demo, marked ``development`` in every signature record."""
        return cls.from_secret(secrets.token_bytes(32), key_id="dev-run-log", development=True)

    @property
    def public_bytes(self) -> bytes:
        return self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def public_hex(self) -> str:
        return self.public_bytes.hex()

    def payload(self, seq: int, head_hash: str) -> dict[str, Any]:
        sig = self._key.sign(head_message(seq, head_hash))
        return {
            "signed_seq": seq,
            "signed_hash": head_hash,
            "algorithm": "ed25519",
            "key_id": self.key_id,
            "public_key_fingerprint": _fingerprint(self.public_bytes),
            "development_key": self.development,
            "signature": base64.b64encode(sig).decode("ascii"),
        }

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("a signing key cannot be pickled (a key is never written anywhere)")


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """A public key file: 64 hex digits (what the tool writes) or a PEM public key."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise AuditError(f"cannot read public key {p}: {e.strerror}") from None
    text = data.strip()
    try:
        if text.startswith(b"-----BEGIN"):
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            key = load_pem_public_key(text)
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError("not Ed25519")
            return key
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text.decode("ascii")))
    except (ValueError, UnicodeDecodeError):
        raise KeyMaterialError(
            f"{p} is not an Ed25519 public key (64 hex digits or PEM)",
            hint="give the run-log-public-key.hex the run wrote, or the auditor's copy of it",
        ) from None


def verify_head_signature(payload: Mapping[str, Any], public: Ed25519PublicKey) -> bool:
    """Whether ``payload`` (a head_signature record's) is a valid signature by ``public``."""
    try:
        sig = base64.b64decode(str(payload["signature"]), validate=True)
        public.verify(sig, head_message(int(payload["signed_seq"]), str(payload["signed_hash"])))
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return False
    return True
