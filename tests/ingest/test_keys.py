"""Keys come from env or a private file; never shown."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from _ingest_helpers import make_policy

from privacy_profile.errors import KeyMaterialError
from privacy_profile.ingest import KeyRing


def _file_policy(path: str):
    def mutate(d: dict) -> None:
        d["pseudonymization_domains"][0]["key"] = {"file": path}

    return make_policy(mutate)


def _env(hex_key: str) -> dict[str, str]:
    return {
        "PRIVACY_PROFILE_KEY_REPORTING": secrets.token_hex(32),
        "PRIVACY_PROFILE_KEY_CUSTODIAN": secrets.token_hex(32),
        "PRIVACY_PROFILE_KEY_MARKETING": hex_key,
    }


def test_world_readable_key_file_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "mkt.key"
    key.write_text(secrets.token_hex(32))
    os.chmod(key, 0o644)
    with pytest.raises(KeyMaterialError, match="group or others") as e:
        KeyRing.from_policy(_file_policy("mkt.key"), policy_dir=tmp_path, env=_env("00"))
    assert "chmod 600" in str(e.value)
    os.chmod(key, 0o640)
    with pytest.raises(KeyMaterialError, match="group or others"):
        KeyRing.from_policy(_file_policy("mkt.key"), policy_dir=tmp_path, env=_env("00"))


def test_private_key_file_and_env_keys_load_without_showing_the_key(tmp_path: Path) -> None:
    secret = secrets.token_hex(32)
    key = tmp_path / "mkt.key"
    key.write_text(secret + "\n")
    os.chmod(key, 0o600)
    ring = KeyRing.from_policy(_file_policy("mkt.key"), policy_dir=tmp_path, env=_env("00"))
    k = ring.domain("marketing_analytics")
    assert k.key_id == "mkt-2026-11" and k.fingerprint.startswith("hmac-sha256:")
    assert not k.development and not ring.is_development
    for text in (repr(ring), str(k), repr(ring.describe())):
        assert secret not in text and secret.upper() not in text
        assert bytes.fromhex(secret).hex() not in text
    env_secret = secrets.token_hex(32)
    ring2 = KeyRing.from_policy(make_policy(), env=_env(env_secret))
    assert env_secret not in repr(ring2)
    assert ring2.domain("marketing_analytics").fingerprint != k.fingerprint


def test_missing_short_and_malformed_keys_fail_clearly() -> None:
    with pytest.raises(KeyMaterialError, match="PRIVACY_PROFILE_KEY_MARKETING is not set"):
        KeyRing.from_policy(make_policy(), env={})
    with pytest.raises(KeyMaterialError, match="too short"):
        KeyRing.from_policy(make_policy(), env=_env("abcd" * 4))
    with pytest.raises(KeyMaterialError, match="neither hex nor base64"):
        KeyRing.from_policy(make_policy(), env=_env("not a key!!"))


def test_development_keys_are_flagged() -> None:
    ring = KeyRing.development(make_policy())
    assert ring.is_development
    assert all(k.key_id.startswith("dev-") for k in ring.domains.values())
    assert all(d["development"] for d in ring.describe())
