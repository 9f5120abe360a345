"""The per-pseudonym feature vocabulary rules, k-means, personas and trees may name (computed
by :mod:`privacy_profile.segments.features`)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["FEATURE_NAMES", "NUMERIC_FEATURES", "CategoricalFeature"]

#: Numeric per-pseudonym features (see :mod:`privacy_profile.segments.features`).
NUMERIC_FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "active_days",
    "avg_order_value",
    "coupon_rate",
    "price_sensitivity",
    "events",
    "purchase_events",
    "cart_events",
    "fav_events",
    "view_events",
)


class CategoricalFeature(StrEnum):
    """Categorical per-pseudonym features usable in rules, personas and trees."""

    AGE_BAND = "age_band"
    GENDER = "gender"
    PROVINCE = "province"
    CHANNEL = "channel"
    SPENDING_BAND = "spending_band"
    TOP_CATEGORY = "top_category"


FEATURE_NAMES: tuple[str, ...] = NUMERIC_FEATURES + tuple(c.value for c in CategoricalFeature)
