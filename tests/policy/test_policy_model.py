"""The example policies load; the model is frozen and strict; helpers behave."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from privacy_profile import PolicyError, load_policy
from privacy_profile.policy import load_policy_file
from privacy_profile.policy.model import (
    AgeBand,
    Drop,
    Keep,
    KeyRef,
    Policy,
    Pseudonymize,
)
from privacy_profile.policy.rules import sensitive_columns
from privacy_profile.policy.taxonomy import is_marketing_use, is_sensitive_category

ROOT = Path(__file__).resolve().parents[2]
POLICIES = sorted((ROOT / "policies").glob("*.yaml"))


@pytest.mark.parametrize("path", POLICIES, ids=[p.name for p in POLICIES])
def test_example_policies_are_valid(path: Path) -> None:
    lp = load_policy_file(path)
    assert lp.digest.startswith("sha256:") and len(lp.digest) == 7 + 64
    assert lp.policy.tables


def test_two_example_policies_exist() -> None:
    assert {p.name for p in POLICIES} >= {"wechat_shop.yaml", "wechat_shop_strict.yaml"}


def test_treatments_parse_to_their_classes() -> None:
    p = load_policy(ROOT / "policies" / "wechat_shop.yaml")
    users = p.tables["users"].columns
    assert isinstance(users["openid"].treatment, Pseudonymize)
    assert isinstance(users["phone"].treatment, Drop)
    assert isinstance(users["gender"].treatment, Keep)
    assert isinstance(users["birthdate"].treatment, AgeBand)


def test_policy_is_frozen() -> None:
    p = load_policy(ROOT / "policies" / "wechat_shop.yaml")
    with pytest.raises(ValidationError):
        p.name = "other"  # type: ignore[misc]


def test_digest_changes_with_content(tmp_path: Path) -> None:
    src = (ROOT / "policies" / "wechat_shop.yaml").read_text(encoding="utf-8")
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text(src, encoding="utf-8")
    b.write_text(src.replace("k: 10", "k: 11"), encoding="utf-8")
    assert load_policy_file(a).digest != load_policy_file(b).digest


def test_key_ref_needs_exactly_one_source() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        KeyRef.model_validate({"env": "A", "file": "b"})
    with pytest.raises(ValidationError, match="exactly one"):
        KeyRef.model_validate({})
    with pytest.raises(ValidationError, match="inline secret"):
        KeyRef.model_validate("s3cret")


def test_purpose_lookup() -> None:
    p = load_policy(ROOT / "policies" / "wechat_shop.yaml")
    assert p.purpose("marketing.advertising.profiling").pseudonymization_domain == (
        "marketing_analytics"
    )
    with pytest.raises(PolicyError, match="not declared"):
        p.purpose("marketing.communications.sms")


def test_sensitive_detection_uses_taxonomy_parents() -> None:
    assert is_sensitive_category("user.financial.bank_account")
    assert is_sensitive_category("user.government_id.passport_number")
    assert not is_sensitive_category("user.contact.phone_number")
    assert is_marketing_use("marketing.advertising.profiling")
    assert not is_marketing_use("analytics.reporting.campaign_insights")
    # the resident id extension's parent is a government id: it is sensitive, but dropped here
    p = load_policy(ROOT / "policies" / "wechat_shop.yaml")
    assert ("users", "resident_id") not in sensitive_columns(p)


def test_unreadable_and_non_mapping_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(tmp_path / "missing.yaml")
    f = tmp_path / "list.yaml"
    f.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="must be a YAML mapping"):
        load_policy(f)
    g = tmp_path / "gbk.yaml"
    g.write_bytes("name: 商城\n".encode("gbk"))
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(g)


def test_model_dump_round_trips() -> None:
    p = load_policy(ROOT / "policies" / "wechat_shop.yaml")
    again = Policy.model_validate(json.loads(p.model_dump_json()))
    assert again == p
