"""Helpers for the segments tests: seeded synthetic shop data, policy and spec."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from ruamel.yaml import YAML

from privacy_profile.policy.loader import load_policy
from privacy_profile.segments import SegmentationSpec
from privacy_profile.segments.columns import feature_columns

REPO = Path(__file__).resolve().parents[2]
#: The demo policy's role mapping as feature columns (tables orders / events / users), with
#: the subjects' age band and location under their feature names as in :func:`synth_tables`.
DEMO_COLUMNS = replace(
    feature_columns(load_policy(REPO / "policies" / "wechat_shop.yaml")),
    age_band="age_band",
    province="province",
)
NOW = dt.datetime(2026, 11, 1, 12, 0)

SPEC_YAML = """
reference_date: run_date
lookback_days: 730
rfm:
  epsilon: 1.0
  recency_days: {lower: 0, upper: 730}
  frequency: {lower: 0, upper: 50}
  monetary: {lower: 0, upper: 20000}
  split_quantile: 0.5
  weights: {splits: 1, sizes: 1, means: 2}
kmeans:
  epsilon: 1.0
  k: 3
  init: rfm_classes
  features:
    - {name: recency_days, lower: 0, upper: 730}
    - {name: frequency, lower: 0, upper: 50, transform: log1p}
    - {name: monetary, lower: 0, upper: 20000, transform: log1p}
lifecycle:
  epsilon: 0.5
  new_within_days: 30
  active_within_days: 30
  returning_gap_days: 60
  churned_after_days: 180
rules_epsilon: 0.5
rules:
  - name: big_spenders_east
    label_zh: 华东高消费
    label_en: East-China big spenders
    expr: monetary > 500 and province in ["浙江省", "上海市", "江苏省"]
personas:
  epsilon: 1.0
  dimensions: [age_band, gender, province, spending_band, top_categories, channel]
  top_n: 3
  spending_bands: [0, 100, 500, 2000]
tag_domains:
  age_band: ["18-24", "25-34", "35-44", "45-54", "55+"]
  gender: [female, male]
  province: [浙江省, 上海市, 江苏省, 广东省, 北京市, 四川省]
  channel: [search, share, ad]
  top_categories: [apparel, beauty, food, digital, home, toys]
tree:
  epsilon: 0.5
  target: rule:big_spenders_east
  features: [province, age_band]
  max_depth: 3
tag_deny_list: [ethnicity, religion, health, disability]
"""


def parse_spec(text: str) -> SegmentationSpec:
    return SegmentationSpec.model_validate(YAML(typ="safe").load(text))


def synth_tables(n_users: int = 2000, seed: int = 1) -> dict[str, pd.DataFrame]:
    """Users, orders, events and consent flags; pseudonyms look like ``p_<hex>``."""
    g = np.random.default_rng(seed)
    uid = np.array([f"p_{i:06x}{g.integers(1 << 30):08x}" for i in range(n_users)])
    provinces = ["浙江省", "上海市", "江苏省", "广东省", "北京市", "四川省"]
    users = pd.DataFrame(
        {
            "openid": uid,
            "age_band": g.choice(["18-24", "25-34", "35-44", "45-54", "55+"], n_users),
            "gender": g.choice(["female", "male"], n_users),
            "province": g.choice(provinces, n_users, p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.1]),
            "registered_at": [NOW - dt.timedelta(days=int(d)) for d in g.integers(0, 700, n_users)],
            "channel": g.choice(["search", "share", "ad"], n_users),
        }
    )
    cats = ["apparel", "beauty", "food", "digital", "home", "toys"]
    n_orders = g.poisson(4, n_users)
    o_uid = np.repeat(uid, n_orders)
    reg = np.repeat(users["registered_at"].to_numpy(), n_orders)
    age = (NOW - pd.to_datetime(reg)).days.to_numpy()
    back = (g.random(o_uid.size) * age).astype(int)
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(o_uid.size)],
            "openid": o_uid,
            "amount": np.round(g.lognormal(4.5, 1.0, o_uid.size), 2),
            "status": g.choice(["paid", "cancelled", "returned"], o_uid.size, p=[0.85, 0.1, 0.05]),
            "category": g.choice(cats, o_uid.size),
            "coupon_used": g.random(o_uid.size) < 0.3,
            "ordered_at": [NOW.date() - dt.timedelta(days=int(b)) for b in back],
        }
    )
    n_ev = g.poisson(10, n_users)
    e_uid = np.repeat(uid, n_ev)
    events = pd.DataFrame(
        {
            "openid": e_uid,
            "event_type": g.choice(["view", "cart", "fav", "buy"], e_uid.size),
            "item_id": g.integers(1, 500, e_uid.size),
            "category": g.choice(cats, e_uid.size),
            "ts": [NOW - dt.timedelta(hours=int(h)) for h in g.integers(1, 24 * 400, e_uid.size)],
        }
    )
    flags = pd.DataFrame({"openid": uid, "opt_out": g.random(n_users) < 0.2})
    return {"users": users, "orders": orders, "events": events, "flags": flags}
