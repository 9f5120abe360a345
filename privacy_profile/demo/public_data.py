"""Turn public data sets into policy-shaped tables (tests and benchmarks; no data ships here).

The caller reads the files from ``../shared/data`` (see its README): UCI Online Retail (line
items of a UK online retailer) and Alibaba's Taobao UserBehavior (view / cart / fav / buy
events, no prices). This module only converts frames and generates what those data sets lack
(consent records and an age per subject), seeded, so the same call gives the same tables.

* :func:`read_uci_lines` reads UCI Online Retail with ``InvoiceNo`` and ``StockCode`` as strings
  and ``CustomerID`` as its integer digits (the full file spells them ``17850.0``).
* :func:`uci_orders`: one order per invoice; amount = sum of ``Quantity * UnitPrice``; an
  invoice number starting with ``C`` is a cancellation (status ``cancelled``, negative amount),
  every other invoice ``paid``.
* :func:`uci_customers`: one row per customer with the country of its first line.
* :func:`taobao_events`: ``behavior_type`` pv / cart / fav / buy as event types view / cart /
  fav / buy, the unix ``timestamp`` as an ISO ``ts``.
* :func:`subjects_frame` and :func:`consent_records`: generated ages and consent records.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "CONSENT_COLUMNS",
    "TAOBAO_EVENT_TYPES",
    "consent_records",
    "read_uci_lines",
    "subjects_frame",
    "taobao_events",
    "uci_customers",
    "uci_orders",
]

#: Taobao ``behavior_type`` -> the event types of :mod:`privacy_profile.segments.features`.
TAOBAO_EVENT_TYPES = {"pv": "view", "cart": "cart", "fav": "fav", "buy": "buy"}

#: The columns of :func:`consent_records` after the subject id column.
CONSENT_COLUMNS = (
    "purpose",
    "status",
    "recorded_at",
    "notice_version",
    "guardian_consent",
    "sensitive_consent",
    "opt_out",
)


def read_uci_lines(path: str | Path) -> pd.DataFrame:
    """UCI Online Retail line items; rows without a ``CustomerID`` are dropped."""
    df = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str})
    df = df.dropna(subset=["CustomerID"]).reset_index(drop=True)
    df["CustomerID"] = pd.to_numeric(df["CustomerID"]).astype(np.int64).astype(str)
    return df


def uci_orders(
    lines: pd.DataFrame, *, unit_column: str = "CustomerID", id_prefix: str = ""
) -> pd.DataFrame:
    """One order per invoice (columns ``order_id``, ``unit_column``, ``amount``,
    ``ordered_at``, ``category``, ``status``, ``coupon_used``); ``category`` is the invoice's
    first ``StockCode``, ``coupon_used`` is always false (the data has no coupons); the unit is
    ``id_prefix`` + the customer id."""
    df = lines.assign(amount=lines["Quantity"] * lines["UnitPrice"])
    g = df.groupby("InvoiceNo")
    inv = pd.DataFrame(
        {
            unit_column: id_prefix + g["CustomerID"].first().astype(str),
            "amount": g["amount"].sum(),
            "ordered_at": g["InvoiceDate"].min(),
            "category": g["StockCode"].first(),
        }
    )
    inv["status"] = np.where(inv.index.str.startswith("C"), "cancelled", "paid")
    inv["coupon_used"] = False
    return inv.rename_axis("order_id").reset_index()


def uci_customers(lines: pd.DataFrame, *, unit_column: str = "CustomerID") -> pd.DataFrame:
    """One row per customer: ``unit_column`` and the ``Country`` of its first line."""
    first = lines.groupby("CustomerID", sort=True)["Country"].first()
    return pd.DataFrame({unit_column: first.index.astype(str), "Country": first.to_numpy()})


def taobao_events(
    raw: pd.DataFrame,
    *,
    unit_column: str = "user_id",
    id_prefix: str = "",
    category_prefix: str = "",
) -> pd.DataFrame:
    """Taobao UserBehavior rows as events (``unit_column``, ``item_id``, ``category``,
    ``event_type``, ``ts``); ``ts`` is the unix timestamp as naive UTC ISO 8601 text.

    ``category_prefix`` puts category ids in their own namespace: Taobao user, item and
    category ids are counters from one number space, so a bare category id can equal a user
    id (the release guards would rightly refuse it as a possible identifier)."""
    ts = pd.to_datetime(pd.to_numeric(raw["timestamp"]), unit="s")
    return pd.DataFrame(
        {
            unit_column: id_prefix + raw["user_id"].astype(str),
            "item_id": raw["item_id"].astype(str),
            "category": category_prefix + raw["category_id"].astype(str),
            "event_type": raw["behavior_type"].map(TAOBAO_EVENT_TYPES),
            "ts": ts.dt.strftime("%Y-%m-%dT%H:%M:%S"),
        }
    )


def subjects_frame(
    ids: Sequence[str],
    *,
    id_column: str,
    seed: int = 1,
    ages: Sequence[int] = (12, 25, 40, 60),
) -> pd.DataFrame:
    """A generated ``age`` per subject (neither data set has one), drawn from ``ages``; the
    default includes 12, so the minors rule has someone to exclude."""
    rng = random.Random(seed)
    return pd.DataFrame({id_column: list(ids), "age": [rng.choice(list(ages)) for _ in ids]})


def consent_records(
    ids: Sequence[str],
    *,
    id_column: str,
    purpose: str,
    seed: int,
    notice: str = "2026-03",
    old_notice: str = "2023-01",
    recorded_at: str = "2010-01-01T00:00:00",
) -> tuple[pd.DataFrame, int]:
    """Seeded consent records, one per subject at most: ~10 % withdrawn, ~5 % granted under
    ``old_notice`` (which a policy accepting only ``notice`` refuses), ~5 % without a record,
    the rest granted under ``notice``. Returns the records and how many subjects they admit."""
    rng = random.Random(seed)
    rows, admitted = [], 0
    for uid in ids:
        r = rng.random()
        status = "withdrawn" if r < 0.1 else "granted"
        version = old_notice if 0.1 <= r < 0.15 else notice
        if r >= 0.95:
            continue  # no record
        admitted += status == "granted" and version == notice
        rows.append(
            {
                id_column: uid,
                "purpose": purpose,
                "status": status,
                "recorded_at": recorded_at,
                "notice_version": version,
                "guardian_consent": "false",
                "sensitive_consent": "false",
                "opt_out": "false",
            }
        )
    return pd.DataFrame(rows, columns=[id_column, *CONSENT_COLUMNS]), admitted
