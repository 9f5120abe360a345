"""One integration test with the real PII scanner from privacy_profile.pii."""

from __future__ import annotations

import re

import pandas as pd
from _ingest_helpers import NOW, PURPOSE, Shop

from privacy_profile.ingest import KeyRing, sanitize
from privacy_profile.pii.engine import PiiScanner
from privacy_profile.policy.model import Policy


def test_real_scanner_redacts_free_text(shop: Shop, policy: Policy, keys: KeyRing) -> None:
    ev = pd.read_csv(shop.dir / "events.csv", dtype=str)
    ev["search_keyword"] = "跑鞋"
    ev.loc[0, "search_keyword"] = "请联系 13912345678 谢谢"
    ev.to_csv(shop.dir / "events.csv", index=False)
    res = sanitize(shop.dir, policy, PURPOSE, keys, now=NOW, scanner=PiiScanner())
    kw = res.tables["events"]["search_keyword"].dropna()
    assert not kw.str.contains("13912345678").any()
    assert sum(res.report.tables["events"].scan_findings["search_keyword"].values()) >= 1
    assert res.report.reconciles()


def _with_operator(policy: Policy, operator: str, **pii_scan: object) -> Policy:
    """``policy`` with events.search_keyword scanned by ``operator``."""
    data = policy.model_dump(mode="json")
    data["tables"]["events"]["columns"]["search_keyword"]["treatment"] = {
        "action": "scan",
        "operator": operator,
    }
    data["pii_scan"].update(pii_scan)
    return Policy.model_validate(data)


def test_scan_column_operators(shop: Shop, policy: Policy, keys: KeyRing) -> None:
    ev = pd.read_csv(shop.dir / "events.csv", dtype=str)
    ev["search_keyword"] = "跑鞋"
    ev.loc[0, "search_keyword"] = "请联系 13912345678 谢谢"
    ev.to_csv(shop.dir / "events.csv", index=False)
    domain = policy.pseudonymization_domains[0].name
    scanner = PiiScanner()
    got = {}
    for op in ("mask", "hash"):
        pol = _with_operator(policy, op, pseudonym_domain=domain)
        res = sanitize(shop.dir, pol, PURPOSE, keys, now=NOW, scanner=scanner)
        kw = res.tables["events"]["search_keyword"].dropna()
        got[op] = kw[kw.str.contains("请联系")].tolist()
        assert not kw.str.contains("13912345678").any()
    assert got["mask"] == ["请联系 139****5678 谢谢"]
    (hashed,) = got["hash"]
    assert re.fullmatch(r"请联系 <CN_MOBILE:[0-9a-f]{16}> 谢谢", hashed)
