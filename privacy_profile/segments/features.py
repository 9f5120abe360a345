"""Per-pseudonym features: internal to the pipeline, never released.

One row per privacy unit (pseudonym) computed from the ``orders``, ``events`` and ``users``
tables (each optional, at least one of orders / events required). Activity is measured up to
the run instant ``now`` given by the caller: rows after it are dropped (counted), recency is
measured to ``now``'s date, never to the data's latest date.

Monetary is net of cancellations and returns: only ``paid`` orders count, and a cancelled or
returned row carrying a negative amount (a refund or reversal record) is subtracted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from privacy_profile.errors import InputError

__all__ = [
    "FeatureColumns",
    "FeatureParams",
    "UnitFeatures",
    "band_labels",
    "compute_features",
]


@dataclass(frozen=True, kw_only=True)
class FeatureColumns:
    """Column names of the pseudonymous tables (the ingestion layer's output)."""

    users: str = "users"
    events: str = "events"
    orders: str = "orders"
    age_band: str = "age_band"
    gender: str = "gender"
    province: str = "province"
    registered_at: str = "registered_at"
    channel: str = "channel"
    event_type: str = "event_type"
    event_category: str = "category"
    event_ts: str = "ts"
    order_id: str = "order_id"
    amount: str = "amount"
    status: str = "status"
    order_category: str = "category"
    coupon_used: str = "coupon_used"
    ordered_at: str = "ordered_at"
    paid_status: str = "paid"
    refund_statuses: tuple[str, ...] = ("cancelled", "returned")
    buy_event: str = "buy"


@dataclass(frozen=True, kw_only=True)
class FeatureParams:
    """What the feature step needs besides the data (all public)."""

    unit_column: str
    now: dt.datetime
    columns: FeatureColumns = field(default_factory=FeatureColumns)
    lookback_days: int | None = None
    spending_bands: tuple[float, ...] = (0.0,)
    max_categories_per_user: int = 3
    order_amount_upper: float | None = None


@dataclass(frozen=True, kw_only=True)
class UnitFeatures:
    """``table``: one row per unit (unit column + features); ``categories``: the unit's top
    categories, at most ``max_categories_per_user`` each (unit, category, weight, rank);
    ``activity``: one row per (unit, active day ``_day``); ``dropped``: rows dropped per
    reason (counts only)."""

    table: pd.DataFrame
    categories: pd.DataFrame
    activity: pd.DataFrame
    dropped: dict[str, int]


def band_labels(edges: tuple[float, ...] | list[float]) -> list[str]:
    """Labels of bands whose lower edges are ``edges``: ``0-99``, ``100-499``, ``500+``."""

    def fmt(x: float) -> str:
        return f"{x:g}"

    out = []
    for i, lo in enumerate(edges):
        if i + 1 < len(edges):
            out.append(f"{fmt(lo)}-{fmt(edges[i + 1])}")
        else:
            out.append(f"{fmt(lo)}+")
    return out


def _band(values: pd.Series, edges: tuple[float, ...]) -> pd.Series:
    labels = band_labels(edges)
    x = values.to_numpy(dtype=np.float64, na_value=np.nan)
    idx = np.clip(np.searchsorted(np.asarray(edges), x, side="right") - 1, 0, len(edges) - 1)
    out = pd.Series(np.asarray(labels, dtype=object)[idx], index=values.index, dtype="string")
    return out.where(~np.isnan(x), pd.NA)


def _day(col: pd.Series) -> pd.Series:
    ts = pd.to_datetime(col, errors="coerce", utc=True)
    return ts.dt.tz_localize(None).dt.floor("D")


def _window(
    df: pd.DataFrame, ts: pd.Series, p: FeatureParams, name: str, dropped: dict[str, int]
) -> pd.DataFrame:
    now = (
        pd.Timestamp(p.now).tz_localize(None)
        if p.now.tzinfo is None
        else (pd.Timestamp(p.now).tz_convert("UTC").tz_localize(None))
    )
    keep = ts.notna() & (ts <= now)
    dropped[f"{name}_after_run_date_or_no_time"] = int((~keep).sum())
    if p.lookback_days is not None:
        old = keep & (ts < now.floor("D") - pd.Timedelta(days=p.lookback_days))
        dropped[f"{name}_before_lookback"] = int(old.sum())
        keep &= ~old
    return df.loc[keep.to_numpy()]


def _need(df: pd.DataFrame, cols: list[str], table: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(
            f"table {table!r} lacks columns {missing}",
            hint="pass the pseudonymous tables produced by the ingestion layer",
        )


def compute_features(tables: dict[str, pd.DataFrame], params: FeatureParams) -> UnitFeatures:
    """Per-unit features from ``tables`` (see the module doc)."""
    c, u = params.columns, params.unit_column
    orders = tables.get(c.orders)
    events = tables.get(c.events)
    users = tables.get(c.users)
    if orders is None and events is None:
        raise InputError("segments need an orders or an events table", hint="pass one of them")
    dropped: dict[str, int] = {}
    run_day = pd.Timestamp(params.now.date())
    frames: list[pd.DataFrame] = []  # (unit, day) activity
    cat_frames: list[pd.DataFrame] = []  # (unit, category) interest rows
    per_unit: list[pd.DataFrame] = []

    if orders is not None:
        _need(orders, [u, c.order_id, c.amount, c.status, c.ordered_at], c.orders)
        o = orders.assign(_day=_day(orders[c.ordered_at]))
        o = _window(o, o["_day"], params, "orders", dropped)
        amount = pd.to_numeric(o[c.amount], errors="coerce").fillna(0.0)
        status = o[c.status].astype("string")
        paid = (status == c.paid_status).fillna(False).to_numpy(dtype=bool)
        refund = status.isin(list(c.refund_statuses)).fillna(False).to_numpy(dtype=bool)
        op = o.loc[paid]
        g = op.groupby(u, sort=False)
        agg = pd.DataFrame(
            {
                "frequency": g[c.order_id].nunique(),
                "gross": amount[paid].groupby(op[u].to_numpy()).sum(),
                "last_order": g["_day"].max(),
            }
        )
        refunds = amount[refund].clip(upper=0.0).groupby(o.loc[refund, u].to_numpy()).sum()
        agg["refunds"] = refunds.reindex(agg.index).fillna(0.0)
        if c.coupon_used in o.columns:
            coupon = op[c.coupon_used].astype("boolean").fillna(False).astype(np.float64)
            agg["coupon_rate"] = coupon.groupby(op[u].to_numpy()).mean()
        per_unit.append(agg)
        frames.append(o[[u, "_day"]])
        if c.order_category in o.columns:
            cat_frames.append(op[[u, c.order_category]].rename(columns={c.order_category: "_cat"}))

    if events is not None:
        _need(events, [u, c.event_type, c.event_ts], c.events)
        e = events.assign(_day=_day(events[c.event_ts]))
        e = _window(e, e["_day"], params, "events", dropped)
        per_unit.append(_event_counts(e[u], e[c.event_type]))
        frames.append(e[[u, "_day"]])
        if c.event_category in e.columns:
            cat_frames.append(e[[u, c.event_category]].rename(columns={c.event_category: "_cat"}))

    activity, table = _activity(pd.concat(frames, ignore_index=True), u)
    for part in per_unit:
        table = table.join(part, how="left")

    if users is not None:
        _need(users, [u], c.users)
        cols = [x for x in (c.age_band, c.gender, c.province, c.channel) if x in users.columns]
        demo = users.drop_duplicates(u).set_index(u)
        table = table.join(demo[cols].astype("string"), how="left")
        if c.registered_at in demo.columns:
            reg = _day(demo[c.registered_at]).reindex(table.index)
            table["first_seen"] = table["first_seen"].where(
                reg.isna() | (table["first_seen"] <= reg), reg
            )
        for src, dst in (
            (c.age_band, "age_band"),
            (c.gender, "gender"),
            (c.province, "province"),
            (c.channel, "channel"),
        ):
            if src in table.columns and src != dst:
                table = table.rename(columns={src: dst})

    _finish(table, run_day, params)
    categories = _top_categories(cat_frames, u, params.max_categories_per_user)
    top1 = categories.loc[categories["rank"] == 1].set_index(u)["category"]
    table["top_category"] = top1.reindex(table.index).astype("string")
    table.index.name = u
    table = table.reset_index()
    return UnitFeatures(
        table=table,
        categories=categories,
        activity=activity.reset_index(drop=True),
        dropped=dropped,
    )


def _event_counts(units: pd.Series, kinds: pd.Series) -> pd.DataFrame:
    """Events per unit (rows with a unit and an event type) and the view / cart / fav counts,
    from factorized codes and ``np.bincount``: the values ``pd.crosstab`` gave (one row per
    unit with at least one such event), without building the unit x type table."""
    ucodes, uniques = pd.factorize(units, sort=False, use_na_sentinel=True)
    tcodes, types = pd.factorize(kinds.astype("string"), sort=False, use_na_sentinel=True)
    ok = (ucodes >= 0) & (tcodes >= 0)
    uc, tc = ucodes[ok], tcodes[ok]
    n = len(uniques)
    total = np.bincount(uc, minlength=n).astype(np.int64)
    present = total > 0
    ev = pd.DataFrame({"events": total[present]}, index=pd.Index(uniques)[present])
    type_index = pd.Index(types)
    for kind in ("view", "cart", "fav"):
        if kind in type_index:
            code = int(type_index.get_loc(kind))
            cnt = np.bincount(uc[tc == code], minlength=n).astype(np.int64)
            ev[f"{kind}_events"] = cnt[present]
        else:
            ev[f"{kind}_events"] = 0
    return ev


def _activity(rows: pd.DataFrame, u: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The distinct (unit, ``_day``) rows of ``rows`` (first occurrences, in order, as
    ``drop_duplicates`` keeps them) and per unit ``first_seen``, ``last_seen``,
    ``active_days``, in order of first appearance (as ``groupby(sort=False)``), from
    integer codes: unit code x day number, de-duplicated on one int64 key."""
    day = rows["_day"]
    codes, uniques = pd.factorize(rows[u], sort=False, use_na_sentinel=True)
    n = len(uniques)
    key_unit = np.where(codes >= 0, codes, n).astype(np.int64)  # a missing unit: its own code
    days = day.to_numpy().astype("datetime64[D]").view(np.int64)
    if len(days):
        lo = int(days.min())
        span = int(days.max()) - lo + 1
        key = key_unit * span + (days - lo)
    else:
        key = key_unit
    first = ~pd.Series(key).duplicated(keep="first").to_numpy()
    activity = rows.loc[first]
    c, d = codes[first], days[first]
    has = c >= 0
    c, d = c[has], d[has]
    lo_day = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    hi_day = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(lo_day, c, d)
    np.maximum.at(hi_day, c, d)
    unit = day.to_numpy().dtype
    table = pd.DataFrame(
        {
            "first_seen": lo_day.astype("datetime64[D]").astype(unit),
            "last_seen": hi_day.astype("datetime64[D]").astype(unit),
            "active_days": np.bincount(c, minlength=n).astype(np.int64),
        },
        index=pd.Index(uniques, name=u),
    )
    return activity, table


def _finish(table: pd.DataFrame, run_day: pd.Timestamp, p: FeatureParams) -> None:
    for col in ("frequency", "events", "view_events", "cart_events", "fav_events"):
        if col in table.columns:
            table[col] = table[col].fillna(0).astype(np.int64)
        else:
            table[col] = np.int64(0)
    gross = table["gross"].fillna(0.0) if "gross" in table.columns else 0.0
    refunds = table["refunds"].fillna(0.0) if "refunds" in table.columns else 0.0
    table["monetary"] = np.maximum(gross + refunds, 0.0)
    freq = table["frequency"].astype(np.float64)
    table["avg_order_value"] = (gross / freq).where(freq > 0)
    if "last_order" in table.columns:
        table["recency_days"] = (run_day - table["last_order"]).dt.days.astype("Float64")
    else:
        table["recency_days"] = pd.Series(np.nan, index=table.index, dtype="Float64")
    table["tenure_days"] = (run_day - table["first_seen"]).dt.days.astype(np.int64)
    if "coupon_rate" not in table.columns:
        table["coupon_rate"] = np.nan
    if p.order_amount_upper is not None:
        aov = table["avg_order_value"].clip(upper=p.order_amount_upper)
        table["price_sensitivity"] = table["coupon_rate"] * (1.0 - aov / p.order_amount_upper)
    else:
        table["price_sensitivity"] = np.nan
    table["spending_band"] = _band(table["monetary"], p.spending_bands)
    for col in ("age_band", "gender", "province", "channel"):
        if col not in table.columns:
            table[col] = pd.Series(pd.NA, index=table.index, dtype="string")
    for col in ("gross", "refunds", "last_order"):
        if col in table.columns:
            del table[col]


def _top_categories(frames: list[pd.DataFrame], unit: str, k: int) -> pd.DataFrame:
    """Each unit's ``k`` most frequent categories (ties broken by category name): bounds the
    groups a unit contributes to in persona category counts."""
    empty = pd.DataFrame({unit: [], "category": [], "weight": [], "rank": []})
    if not frames:
        return empty
    rows = pd.concat(frames, ignore_index=True).dropna(subset=["_cat"])
    if rows.empty:
        return empty
    rows["_cat"] = rows["_cat"].astype("string")
    counts = rows.groupby([unit, "_cat"], sort=False).size().rename("n").reset_index()
    totals = counts.groupby(unit, sort=False)["n"].transform("sum")
    counts["weight"] = counts["n"] / totals
    counts = counts.sort_values([unit, "n", "_cat"], ascending=[True, False, True])
    counts["rank"] = counts.groupby(unit, sort=False).cumcount() + 1
    top = counts.loc[counts["rank"] <= k, [unit, "_cat", "weight", "rank"]]
    out: Any = top.rename(columns={"_cat": "category"}).reset_index(drop=True)
    return out
