"""One integration test with the real PII scanner from privacy_profile.pii."""

from __future__ import annotations

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
