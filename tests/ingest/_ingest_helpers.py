"""Helpers for the ingestion tests: a small seeded shop with one user per case."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from ruamel.yaml import YAML

from privacy_profile.demo.campaigns import CAMPAIGN_COLUMNS
from privacy_profile.errors import PolicyError
from privacy_profile.policy.model import Policy
from privacy_profile.policy.rules import check_policy

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 12, 1, 12, 0, 0)
PURPOSE = "marketing.advertising.profiling"


def policy_dict() -> dict[str, Any]:
    return dict(YAML(typ="safe").load((REPO / "policies" / "wechat_shop.yaml").read_text()))


def make_policy(mutate: Callable[[dict[str, Any]], None] | None = None) -> Policy:
    d = policy_dict()
    d["privacy"]["k_anonymity"]["k"] = 1
    # a sensitive column that needs separate consent
    d["tables"]["users"]["columns"]["religion"] = {
        "category": "user.demographic.religious_belief",
        "role": "sensitive",
        "treatment": "keep",
    }
    if mutate is not None:
        mutate(d)
    p = Policy.model_validate(d)
    issues = list(check_policy(p))
    if issues:
        raise PolicyError(str(issues))
    return p


def openid(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    return "o" + "".join(rng.choice(alphabet) for _ in range(27))


@dataclass
class Shop:
    dir: Path
    users: dict[str, str]  # case -> openid
    expected_user_reasons: dict[str, str | None]


CASES: dict[str, str | None] = {
    "ok": None,
    "withdrawn": "consent_withdrawn",
    "regranted": None,
    "old_notice": "notice_version_not_accepted",
    "minor": "minor_without_guardian_consent",
    "minor_guardian": None,
    "unknown_age": "age_unknown_without_guardian_consent",
    "no_consent": "no_consent_for_purpose",
    "opted_out": None,
    "other_purpose_only": "no_consent_for_purpose",
    "sensitive_ok": None,
}


def write_shop(root: Path, *, seed: int = 7) -> Shop:
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    ids = {case: openid(rng) for case in CASES}
    t = lambda days: (NOW - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")  # noqa: E731
    adult, child = "1990-05-17", "2014-03-02"
    users = []
    for i, (case, oid) in enumerate(ids.items()):
        users.append(
            {
                "openid": oid,
                "unionid": "u" + oid[1:],
                "phone": f"1380013{i:04d}",
                "resident_id": "",
                "nickname": f"用户{i}",
                "birthdate": {"minor": child, "minor_guardian": child, "unknown_age": ""}.get(
                    case, adult
                ),
                "gender": "f" if i % 2 else "m",
                "city": "杭州市",
                "registered_at": t(100),
                "channel": "wechat",
                "religion": "some belief",
            }
        )
    pd.DataFrame(users).to_csv(root / "users.csv", index=False)

    def rec(case: str, status: str, days: int, notice: str = "2026-03", **kw: Any) -> dict:
        return {
            "openid": ids[case],
            "purpose": kw.pop("purpose", PURPOSE),
            "status": status,
            "recorded_at": t(days),
            "notice_version": notice,
            "guardian_consent": kw.pop("guardian", "false"),
            "sensitive_consent": kw.pop("sensitive", "false"),
            "personalised_marketing_opt_out": kw.pop("opt_out", "false"),
        }

    consents = [
        rec("ok", "granted", 50),
        rec("withdrawn", "granted", 50),
        rec("withdrawn", "withdrawn", 20),
        rec("regranted", "granted", 60),
        rec("regranted", "withdrawn", 40),
        rec("regranted", "granted", 10),
        rec("old_notice", "granted", 50, notice="2023-01"),
        rec("minor", "granted", 50),
        rec("minor_guardian", "granted", 50, guardian="true"),
        rec("unknown_age", "granted", 50),
        rec("opted_out", "granted", 50, opt_out="true"),
        rec("other_purpose_only", "granted", 50, purpose="analytics.reporting.campaign_insights"),
        rec("sensitive_ok", "granted", 50, sensitive="true"),
    ]
    pd.DataFrame(consents).to_csv(root / "consents.csv", index=False)
    events = []
    for oid in ids.values():
        for j in range(3):
            events.append(
                {
                    "openid": oid,
                    "event_type": "view",
                    "item_id": f"item{j}",
                    "category": "shoes",
                    "ts": t(5 + j),
                    "search_keyword": "红色 跑鞋",
                }
            )
    # one expired event of an admitted user
    events.append({**events[0], "ts": t(400)})
    pd.DataFrame(events).to_csv(root / "events.csv", index=False)
    orders = [
        {
            "order_id": f"A{k}",
            "openid": ids["ok"],
            "amount": "99.5",
            "status": "paid",
            "category": "shoes",
            "coupon_used": "true",
            "ordered_at": t(3),
            "delivery_address": "浙江省杭州市某路1号",
            "comment": "fast",
        }
        for k in range(2)
    ]
    pd.DataFrame(orders).to_csv(root / "orders.csv", index=False)
    for name, cols in CAMPAIGN_COLUMNS.items():  # the policy's campaign tables, empty here
        pd.DataFrame(columns=list(cols)).to_csv(root / f"{name}.csv", index=False)
    return Shop(dir=root, users=ids, expected_user_reasons=dict(CASES))
