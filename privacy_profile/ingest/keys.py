"""Key material: loaded from an environment variable or a private file, never printed.

A key is 32 or more random bytes written as hex or base64. :class:`KeyMaterial` keeps the secret
in a private slot; its ``repr``/``str`` show only the key id and a fingerprint (a truncated
HMAC-SHA256 of a fixed label under the key), which is what reports and lineage record.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac

from privacy_profile.errors import KeyMaterialError
from privacy_profile.policy.model import KeyRef, Policy

__all__ = ["MIN_KEY_BYTES", "KeyMaterial", "KeyRing", "fingerprint_of", "parse_key_text"]

MIN_KEY_BYTES = 32
_FINGERPRINT_LABEL = b"privacy_profile/key-fingerprint/v1"


def fingerprint_of(secret: bytes) -> str:
    """A public fingerprint of a key: ``hmac-sha256:`` + 16 hex digits (never the key)."""
    h = hmac.HMAC(secret, hashes.SHA256())
    h.update(_FINGERPRINT_LABEL)
    return "hmac-sha256:" + h.finalize()[:8].hex()


def parse_key_text(text: str, *, source: str) -> bytes:
    """Decode a key written as hex or base64; at least 32 bytes. ``source`` names where it came
    from (``env:NAME`` / ``file:path``) for the message; the key itself is never shown."""
    t = text.strip()
    if t.startswith(("hex:", "base64:")):
        kind, _, t = t.partition(":")
        kinds = [kind]
    else:
        kinds = ["hex", "base64"]
    raw: bytes | None = None
    for kind in kinds:
        try:
            if kind == "hex":
                raw = bytes.fromhex(t)
            else:
                padded = t + "=" * (-len(t) % 4)
                raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
            break
        except (ValueError, binascii.Error):
            continue
    if raw is None:
        raise KeyMaterialError(
            f"key from {source} is neither hex nor base64",
            hint='generate one with `python -c "import secrets; print(secrets.token_hex(32))"`',
        )
    if len(raw) < MIN_KEY_BYTES:
        raise KeyMaterialError(
            f"key from {source} is too short ({len(raw)} bytes; at least {MIN_KEY_BYTES} needed)",
            hint="use 32 random bytes or more, e.g. `secrets.token_hex(32)`",
        )
    return raw


@dataclass(frozen=True, eq=False)
class KeyMaterial:
    """One key: its id, public fingerprint and whether it is a development key.

    The secret is only reachable through :meth:`secret` (used by the pseudonymizer and the
    tokenizer); ``repr``/``str`` never reveal it.
    """

    key_id: str
    fingerprint: str
    source: str
    development: bool = False
    _secret: bytes = field(default=b"", repr=False)

    @classmethod
    def from_bytes(
        cls, secret: bytes, *, key_id: str, source: str, development: bool = False
    ) -> KeyMaterial:
        if len(secret) < MIN_KEY_BYTES:
            raise KeyMaterialError(
                f"key {key_id!r} is too short ({len(secret)} bytes; at least {MIN_KEY_BYTES})",
                hint="use 32 random bytes or more",
            )
        return cls(
            key_id=key_id,
            fingerprint=fingerprint_of(secret),
            source=source,
            development=development,
            _secret=bytes(secret),
        )

    def secret(self) -> bytes:
        return self._secret

    def __repr__(self) -> str:
        dev = ", development=True" if self.development else ""
        return f"KeyMaterial(key_id={self.key_id!r}, fingerprint={self.fingerprint!r}{dev})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("KeyMaterial cannot be pickled (a key is never written anywhere)")

    def describe(self) -> dict[str, object]:
        """Plain data for reports and lineage: id, fingerprint, source, development flag."""
        return {
            "key_id": self.key_id,
            "fingerprint": self.fingerprint,
            "source": self.source,
            "development": self.development,
        }


def load_key_ref(
    ref: KeyRef, *, key_id: str, policy_dir: Path | None, env: Mapping[str, str]
) -> KeyMaterial:
    """Load the key a :class:`KeyRef` points to (env var or private file)."""
    source = ref.describe()
    if ref.env is not None:
        value = env.get(ref.env)
        if value is None or not value.strip():
            raise KeyMaterialError(
                f"key {key_id!r}: environment variable {ref.env} is not set",
                hint=f"export {ref.env}=<64 hex digits> (or use a development key for the demo)",
            )
        return KeyMaterial.from_bytes(
            parse_key_text(value, source=source), key_id=key_id, source=source
        )
    if ref.file is None:
        raise KeyMaterialError(
            f"key {key_id!r}: the key reference names neither an environment variable nor a file",
            hint="give the key's `env` or `file` in the policy",
        )
    path = Path(ref.file)
    if not path.is_absolute() and policy_dir is not None:
        path = policy_dir / path
    try:
        st = path.stat()
    except OSError as e:
        raise KeyMaterialError(
            f"key {key_id!r}: cannot read key file {path}: {e.strerror}",
            hint="check the path (relative paths are resolved against the policy's folder)",
        ) from None
    if not stat.S_ISREG(st.st_mode):
        raise KeyMaterialError(f"key {key_id!r}: {path} is not a regular file")
    if st.st_mode & 0o077:
        raise KeyMaterialError(
            f"key {key_id!r}: key file {path} is accessible by group or others "
            f"(mode {stat.filemode(st.st_mode)}); refusing to use it",
            hint=f"chmod 600 {path}",
        )
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise KeyMaterialError(
            f"key {key_id!r}: key file {path} is not readable ASCII text",
            hint="write the key as hex or base64 text",
        ) from None
    return KeyMaterial.from_bytes(parse_key_text(text, source=source), key_id=key_id, source=source)


@dataclass(frozen=True)
class KeyRing:
    """The keys of one run: one per pseudonymisation domain, plus the optional custodian key."""

    domains: Mapping[str, KeyMaterial]
    custodian: KeyMaterial | None = None

    @property
    def is_development(self) -> bool:
        keys = [*self.domains.values(), *([self.custodian] if self.custodian else [])]
        return any(k.development for k in keys)

    def domain(self, name: str) -> KeyMaterial:
        try:
            return self.domains[name]
        except KeyError:
            raise KeyMaterialError(
                f"no key for pseudonymisation domain {name!r}",
                hint="declare the domain in the policy and provide its key",
            ) from None

    def require_custodian(self) -> KeyMaterial:
        if self.custodian is None:
            raise KeyMaterialError(
                "the custodian key is not available",
                hint="tokenize/detokenize need the policy's tokenization.custodian_key",
            )
        return self.custodian

    def describe(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = [
            {"domain": name, **k.describe()} for name, k in sorted(self.domains.items())
        ]
        if self.custodian is not None:
            out.append({"domain": "<custodian>", **self.custodian.describe()})
        return out

    @classmethod
    def from_policy(
        cls,
        policy: Policy,
        *,
        policy_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
        custodian: bool = True,
    ) -> KeyRing:
        """Load every domain key (and the custodian key if ``custodian``) named in ``policy``."""
        env = os.environ if env is None else env
        domains = {
            d.name: load_key_ref(d.key, key_id=d.key_id, policy_dir=policy_dir, env=env)
            for d in policy.pseudonymization_domains
        }
        cust = None
        if custodian and policy.tokenization is not None:
            t = policy.tokenization
            cust = load_key_ref(t.custodian_key, key_id=t.key_id, policy_dir=policy_dir, env=env)
        return cls(domains=domains, custodian=cust)

    @classmethod
    def development_for_run(cls, policy: Policy, *, acknowledged: bool) -> KeyRing:
        """Development keys for a run outside the demo: refused unless ``acknowledged`` (the
        CLI's loud ``--allow-development-keys-i-know``). Such a run charges the real ledger
        and releases activation tokens under throwaway keys; its lineage and Parquet metadata
        are marked and ``audit verify`` reports it."""
        if not acknowledged:
            raise KeyMaterialError(
                "development keys are for the demo only: a run with them charges the budget "
                "ledger and releases pseudonyms and activation tokens under throwaway keys",
                hint="give the policy's keys (environment or key files), or run "
                "`privacy-profile demo`; to test on a scratch ledger anyway, add "
                "--allow-development-keys-i-know",
            )
        return cls.development(policy)

    @classmethod
    def development(cls, policy: Policy, *, seed: bytes | None = None) -> KeyRing:
        """Random local keys for the demo, flagged ``development=True`` (key ids ``dev-...``).

        ``seed`` is a test hook for reproducible keys; never use it for real data.
        """

        def make(label: str, key_id: str) -> KeyMaterial:
            if seed is None:
                secret = secrets.token_bytes(32)
            else:
                h = hmac.HMAC(seed.ljust(32, b"\0"), hashes.SHA256())
                h.update(label.encode())
                secret = h.finalize()
            return KeyMaterial.from_bytes(
                secret, key_id=f"dev-{key_id}", source="development", development=True
            )

        domains = {d.name: make(d.name, d.key_id) for d in policy.pseudonymization_domains}
        cust = None
        if policy.tokenization is not None:
            cust = make("<custodian>", policy.tokenization.key_id)
        return cls(domains=domains, custodian=cust)
