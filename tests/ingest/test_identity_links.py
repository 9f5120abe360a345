"""Identity links: linked accounts become one unit (per-person bounds), unlinked ones stay
separate, ambiguous links are refused, opt-outs follow the person; counts for lineage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from privacy_profile import PolicyError, load_policy
from privacy_profile.ingest.links import link_identities
from privacy_profile.policy.model import Policy

REPO = Path(__file__).resolve().parents[2]
SHOP = (REPO / "policies" / "wechat_shop.yaml").read_text(encoding="utf-8")
UNIONID = """      unionid:
        category: user.unique_id.wechat_unionid
        role: direct_identifier
        treatment: drop
"""
LINKS = "identity_links:\n  - {table: users, account_column: openid, person_column: unionid}\n"


def _policy(tmp_path: Path, treatment: str = "pseudonymize") -> Policy:
    assert UNIONID in SHOP
    text = SHOP.replace(UNIONID, UNIONID.replace("treatment: drop", f"treatment: {treatment}"))
    text = text.replace("\nmapping:", "\n" + LINKS + "\nmapping:", 1)
    p = tmp_path / "p.yaml"
    p.write_text(text, encoding="utf-8")
    return load_policy(p)


def test_link_columns_must_be_pseudonymized(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not pseudonymized"):
        _policy(tmp_path, "drop")


def test_linked_accounts_become_one_unit(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    users = pd.DataFrame(
        {"openid": ["a1", "a2", "a3", "b1", "c1", "c1"], "unionid": ["P", "P", None, "Q", "R", "S"]}
    )
    orders = pd.DataFrame({"openid": ["a1", "a2", "a3", "b1", "c1"], "amount": [1, 2, 3, 4, 5]})
    tokens = pd.DataFrame({"pseudonym": ["a1", "a2", "a3"], "token": ["t1", "t2", "t3"]})
    res = link_identities(policy, {"users": users, "orders": orders}, frozenset({"a2"}), tokens)
    # a1 and a2 are one person P; a3 has no link; c1 links to two persons: unlinked
    assert res.tables["orders"]["openid"].tolist() == ["P", "P", "a3", "Q", "c1"]
    assert res.counts == {
        "accounts_linked": 3,
        "persons_linked": 2,
        "accounts_ambiguous_unlinked": 1,
    }
    assert res.opted_out == frozenset({"P"})  # one opted-out account opts the person out
    assert res.tokens is not None and res.tokens["pseudonym"].tolist() == ["a3"]


def test_without_links_nothing_changes(tmp_path: Path) -> None:
    policy = load_policy(REPO / "policies" / "wechat_shop.yaml")
    orders = pd.DataFrame({"openid": ["a1"], "amount": [1]})
    res = link_identities(policy, {"orders": orders}, frozenset(), None)
    assert res.tables["orders"] is orders and res.counts == {}
