"""Per-pseudonym features: internal to the pipeline, never released.

One row per privacy unit (pseudonym) computed from the orders, events and subjects tables the
policy's ``mapping`` names (:class:`FeatureColumns`; each optional, at least one of orders /
events required). Activity is measured up to
the run instant ``now`` given by the caller: rows after it are dropped (counted), recency is
measured to ``now``'s date, never to the data's latest date.

Monetary is net of cancellations and returns: only orders with a paid status count, and a
refunded row carrying a negative amount (a refund or reversal record) is subtracted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from privacy_profile.errors import InputError
from privacy_profile.segments.units import UnitRows

__all__ = [
    "PREVIOUS_ACTIVE_DAY",
    "EventColumns",
    "FeatureColumns",
    "FeatureParams",
    "OrderColumns",
    "UnitFeatures",
    "band_labels",
    "compute_features",
    "reduce_activity",
]


@dataclass(frozen=True, kw_only=True)
class OrderColumns:
    """The orders table and the columns playing each order role (from the policy's
    ``mapping.orders``)."""

    table: str
    order_id: str
    amount: str
    status: str
    ordered_at: str
    category: str | None = None
    coupon_used: str | None = None
    paid_statuses: tuple[str, ...] = ()
    refund_statuses: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class EventColumns:
    """The events table and the columns / values playing each event role (from the policy's
    ``mapping.events``)."""

    table: str
    event_type: str
    ts: str
    category: str | None = None
    purchase: tuple[str, ...] = ()
    view: tuple[str, ...] = ()
    cart: tuple[str, ...] = ()
    fav: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class FeatureColumns:
    """Where each feature comes from in the pseudonymous tables (the ingestion layer's
    output). Built from the policy in one place,
    :func:`privacy_profile.segments.columns.feature_columns`; every table's subject column
    is the unit column by then. A ``None`` source is inactive (its feature is unknown)."""

    users: str | None = None
    orders: OrderColumns | None = None
    events: EventColumns | None = None
    age_band: str | None = None
    gender: str | None = None
    province: str | None = None
    registered_at: str | None = None
    channel: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    """(subjects column, tag name) of the policy's custom tags."""


@dataclass(frozen=True, kw_only=True)
class FeatureParams:
    """What the feature step needs besides the data (all public)."""

    unit_column: str
    now: dt.datetime
    columns: FeatureColumns
    lookback_days: int | None = None
    spending_bands: tuple[float, ...] = (0.0,)
    max_categories_per_user: int = 3
    order_amount_upper: float | None = None
    # the activity rows the caller reads (see :func:`reduce_activity`): every (unit, day) row
    # (None), or only each unit's last active day at least this many days before the run date
    # (the lifecycle stage needs nothing else; one row per unit instead of one per active day)
    activity_before_days: int | None = None


def reduce_activity(activity: pd.DataFrame, params: FeatureParams) -> pd.DataFrame:
    """The activity rows ``params`` asks for: all of them, or (``activity_before_days``) per
    unit its last active day at least that many days before the run date, units in order of
    first appearance. Idempotent; both engines apply it (Spark before collecting)."""
    n = params.activity_before_days
    if n is None:
        return activity
    u = params.unit_column
    cutoff = pd.Timestamp(params.now.date()) - pd.Timedelta(days=n)
    before = activity.loc[(activity["_day"] <= cutoff).to_numpy(dtype=bool)]
    out = before.groupby(u, sort=False, dropna=False)["_day"].max().reset_index()
    return out[[u, "_day"]].reset_index(drop=True)


#: The per-unit table's column of each unit's last active day at least
#: ``FeatureParams.activity_before_days`` before the run date (NaT: none), in the table of
#: both engines when ``activity_before_days`` is set (absent otherwise): the lifecycle stage
#: reads it on rows an engine keeps (:class:`~privacy_profile.segments.units.UnitRows`)
#: instead of the ``activity`` rows, which the Spark engine does not send.
PREVIOUS_ACTIVE_DAY = "_pp_previous_active_day"


@dataclass(frozen=True, kw_only=True)
class UnitFeatures:
    """The per-unit features of a run.

    ``table``: one row per unit (unit column + features, in order of first appearance; with
    :data:`PREVIOUS_ACTIVE_DAY` when ``activity_before_days`` is set): a pandas frame from
    the pandas engine, or :class:`~privacy_profile.segments.units.UnitRows` where an engine
    keeps the rows (Spark: :class:`~privacy_profile.spark.units.SparkUnitRows`, never
    collected; ``to_pandas()`` gives the pandas engine's frame). ``categories``: the units'
    top categories, at most ``max_categories_per_user`` each (unit, category, weight, rank),
    a pandas frame from every engine (unit scale; the personas read it). ``activity``: one
    row per (unit, active day ``_day``), or with ``activity_before_days`` the reduced rows
    of :func:`reduce_activity`, from the pandas engine; an engine keeping the table sends no
    activity rows (an empty frame with the unit and ``_day`` columns: the lifecycle stage
    reads :data:`PREVIOUS_ACTIVE_DAY` instead; :func:`activity_of_table` rebuilds the reduced
    rows from it). ``dropped``: rows dropped per reason (counts only).

    :meth:`close` releases what the engine holds for the table (Spark: its cached rows);
    the caller calls it once the families are done (the table is recomputed if read after)."""

    table: pd.DataFrame | UnitRows
    categories: pd.DataFrame
    activity: pd.DataFrame
    dropped: dict[str, int]
    on_close: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def close(self) -> None:
        """Release the engine's cached table (nothing for a pandas table); idempotent."""
        if self.on_close is not None:
            self.on_close()


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


#: ``dropped`` keys of the run-window filter, per table name (both engines).
AFTER_RUN_KEY = "{}_after_run_date_or_no_time"
BEFORE_LOOKBACK_KEY = "{}_before_lookback"


def window_bounds(p: FeatureParams) -> tuple[pd.Timestamp, pd.Timestamp | None]:
    """The run window of ``p``: a row's day must be ``<= now`` (naive UTC) and, with a
    lookback, ``>= cutoff`` (``now``'s day minus ``lookback_days``); ``cutoff`` is None
    without a lookback."""
    now = (
        pd.Timestamp(p.now).tz_localize(None)
        if p.now.tzinfo is None
        else (pd.Timestamp(p.now).tz_convert("UTC").tz_localize(None))
    )
    if p.lookback_days is None:
        return now, None
    return now, now.floor("D") - pd.Timedelta(days=p.lookback_days)


def _window(
    df: pd.DataFrame, ts: pd.Series, p: FeatureParams, name: str, dropped: dict[str, int]
) -> pd.DataFrame:
    now, cutoff = window_bounds(p)
    keep = ts.notna() & (ts <= now)
    dropped[AFTER_RUN_KEY.format(name)] = int((~keep).sum())
    if cutoff is not None:
        old = keep & (ts < cutoff)
        dropped[BEFORE_LOOKBACK_KEY.format(name)] = int(old.sum())
        keep &= ~old
    return df.loc[keep.to_numpy()]


def need_columns(columns: Iterable[str], cols: list[str], table: str) -> None:
    """Raise :class:`InputError` unless every name of ``cols`` is in ``columns``."""
    have = set(columns)
    missing = [c for c in cols if c not in have]
    if missing:
        raise InputError(
            f"table {table!r} lacks columns {missing}",
            hint="pass the pseudonymous tables produced by the ingestion layer",
        )


def no_source_error() -> InputError:
    """The error when neither an orders nor an events table is there."""
    return InputError("segments need an orders or an events table", hint="pass one of them")


T = TypeVar("T")


def feature_sources(tables: Mapping[str, T], columns: FeatureColumns) -> tuple[T | None, ...]:
    """The orders, events and subjects tables ``columns`` names, ``None`` where inactive or
    absent (for any kind of table: pandas or Spark); refused when neither orders nor events."""
    oc, ec = columns.orders, columns.events
    orders = tables.get(oc.table) if oc is not None else None
    events = tables.get(ec.table) if ec is not None else None
    users = tables.get(columns.users) if columns.users is not None else None
    if orders is None and events is None:
        raise no_source_error()
    return orders, events, users


def compute_features(tables: Mapping[str, pd.DataFrame], params: FeatureParams) -> UnitFeatures:
    """Per-unit features from ``tables`` (see the module doc)."""
    c, u = params.columns, params.unit_column
    oc, ec = c.orders, c.events
    orders, events, users = feature_sources(tables, c)
    dropped: dict[str, int] = {}
    frames: list[pd.DataFrame] = []  # (unit, day) activity
    cat_frames: list[pd.DataFrame] = []  # (unit, category) interest rows
    per_unit: list[pd.DataFrame] = []

    if orders is not None and oc is not None:
        need_columns(
            orders.columns, [u, oc.order_id, oc.amount, oc.status, oc.ordered_at], oc.table
        )
        o = orders.assign(_day=_day(orders[oc.ordered_at]))
        o = _window(o, o["_day"], params, "orders", dropped)
        amount = pd.to_numeric(o[oc.amount], errors="coerce").fillna(0.0)
        status = o[oc.status].astype("string")
        paid = status.isin(list(oc.paid_statuses)).fillna(False).to_numpy(dtype=bool)
        refund = status.isin(list(oc.refund_statuses)).fillna(False).to_numpy(dtype=bool)
        op = o.loc[paid]
        g = op.groupby(u, sort=False)
        agg = pd.DataFrame(
            {
                "frequency": g[oc.order_id].nunique(),
                "gross": amount[paid].groupby(op[u].to_numpy()).sum(),
                "last_order": g["_day"].max(),
            }
        )
        refunds = amount[refund].clip(upper=0.0).groupby(o.loc[refund, u].to_numpy()).sum()
        agg["refunds"] = refunds.reindex(agg.index).fillna(0.0)
        if oc.coupon_used is not None and oc.coupon_used in o.columns:
            coupon = op[oc.coupon_used].astype("boolean").fillna(False).astype(np.float64)
            agg["coupon_rate"] = coupon.groupby(op[u].to_numpy()).mean()
        per_unit.append(agg)
        frames.append(o[[u, "_day"]])
        if oc.category is not None and oc.category in o.columns:
            cat_frames.append(op[[u, oc.category]].rename(columns={oc.category: "_cat"}))

    if events is not None and ec is not None:
        need_columns(events.columns, [u, ec.event_type, ec.ts], ec.table)
        e = events.assign(_day=_day(events[ec.ts]))
        e = _window(e, e["_day"], params, "events", dropped)
        per_unit.append(_event_counts(e[u], e[ec.event_type], ec))
        frames.append(e[[u, "_day"]])
        if ec.category is not None and ec.category in e.columns:
            cat_frames.append(e[[u, ec.category]].rename(columns={ec.category: "_cat"}))

    activity, table = _activity(pd.concat(frames, ignore_index=True), u)
    categories = _top_categories(cat_frames, u, params.max_categories_per_user)
    return finish_features(table, per_unit, users, categories, activity, dropped, params)


def subject_columns(c: FeatureColumns) -> list[tuple[str, str]]:
    """(subjects column, feature name) of the demographics and custom tags."""
    return [
        *(
            (src, dst)
            for src, dst in (
                (c.age_band, "age_band"),
                (c.gender, "gender"),
                (c.province, "province"),
                (c.channel, "channel"),
            )
            if src is not None
        ),
        *c.tags,
    ]


#: Columns of the per-unit rows before :func:`finish_rows` (both engines; never in the
#: finished table): the registration day (from the subjects' ``registered_at``, by
#: :func:`subject_features`) and the unit's top category (rank 1 of ``categories``).
REGISTERED_DAY = "_pp_registered_day"
TOP_CATEGORY_IN = "_pp_top_category"


def subject_features(demo: pd.DataFrame, params: FeatureParams) -> pd.DataFrame:
    """Row-wise, one row per subjects' row: the unit, the demographics and custom tags (as
    strings, under their feature names, those whose column ``demo`` has) and, where ``demo``
    has the ``registered_at`` column, its UTC day (:data:`REGISTERED_DAY`). ``demo`` holds
    the subjects' first row per unit (the pandas engine: ``drop_duplicates``); both engines
    call this (Spark per batch of those rows)."""
    c, u = params.columns, params.unit_column
    out = pd.DataFrame({u: demo[u]}, index=demo.index)
    for src, dst in subject_columns(c):
        if src in demo.columns and src != u:
            out[dst] = demo[src].astype("string")
    if c.registered_at is not None and c.registered_at in demo.columns:
        out[REGISTERED_DAY] = _day(demo[c.registered_at])
    return out


def finish_rows(rows: pd.DataFrame, params: FeatureParams) -> pd.DataFrame:
    """The row-wise finishing both engines share (the pandas engine on its whole table, Spark
    per batch of the per-unit rows): ``rows`` holds the unit column, ``first_seen``,
    ``last_seen``, ``active_days``, the orders' aggregates (``frequency``, ``gross``,
    ``last_order``, ``refunds``, ``coupon_rate``) and the events' counts where those tables
    are there, the :func:`subject_features` columns where the subjects table is, and
    optionally :data:`TOP_CATEGORY_IN` and :data:`PREVIOUS_ACTIVE_DAY`. Returns the finished
    table (a fresh ``RangeIndex``): ``first_seen`` moved back to the registration day where
    earlier, missing tags and demographics as missing strings, the derived features and
    spending bands, ``top_category``, then :data:`PREVIOUS_ACTIVE_DAY` where given."""
    c = params.columns
    table = rows.reset_index(drop=True)
    if REGISTERED_DAY in table.columns:
        reg = table.pop(REGISTERED_DAY)
        table["first_seen"] = table["first_seen"].where(
            reg.isna() | (table["first_seen"] <= reg), reg
        )
    top = table.pop(TOP_CATEGORY_IN) if TOP_CATEGORY_IN in table.columns else None
    previous = table.pop(PREVIOUS_ACTIVE_DAY) if PREVIOUS_ACTIVE_DAY in table.columns else None
    for _src, tag in c.tags:
        if tag not in table.columns:
            table[tag] = pd.Series(pd.NA, index=table.index, dtype="string")
    _finish(table, pd.Timestamp(params.now.date()), params)
    if top is None:
        table["top_category"] = pd.Series(pd.NA, index=table.index, dtype="string")
    else:
        table["top_category"] = top.astype("string")
    if previous is not None:
        table[PREVIOUS_ACTIVE_DAY] = previous
    return table


def previous_active_day(activity: pd.DataFrame, params: FeatureParams) -> pd.DataFrame:
    """Per unit its :data:`PREVIOUS_ACTIVE_DAY` (``activity``'s rows reduced by
    :func:`reduce_activity`; units without a unit value left out), indexed by unit."""
    u = params.unit_column
    before = reduce_activity(activity, params).dropna(subset=[u])
    return before.set_index(u)[["_day"]].rename(columns={"_day": PREVIOUS_ACTIVE_DAY})


def activity_of_table(table: pd.DataFrame, unit_column: str) -> pd.DataFrame:
    """The reduced activity rows (:func:`reduce_activity`: unit, ``_day``) read back from a
    finished table's :data:`PREVIOUS_ACTIVE_DAY` column, for a reader of ``activity`` given a
    table whose engine sent no activity rows (units without a unit value are not in a table;
    the lifecycle stage ignores them)."""
    keep = table[PREVIOUS_ACTIVE_DAY].notna().to_numpy(dtype=bool)
    rows = table.loc[keep, [unit_column, PREVIOUS_ACTIVE_DAY]]
    return rows.rename(columns={PREVIOUS_ACTIVE_DAY: "_day"}).reset_index(drop=True)


def finish_features(
    table: pd.DataFrame,
    per_unit: list[pd.DataFrame],
    users: pd.DataFrame | None,
    categories: pd.DataFrame,
    activity: pd.DataFrame,
    dropped: dict[str, int],
    params: FeatureParams,
) -> UnitFeatures:
    """The pandas engine's per-unit finishing: ``table`` (indexed by unit, in order of first
    appearance, with ``first_seen``, ``last_seen``, ``active_days``) joined with the
    ``per_unit`` aggregate parts (orders: ``frequency``, ``gross``, ``last_order``,
    ``refunds``, ``coupon_rate``; events: ``events`` and the kind counts), the subjects'
    :func:`subject_features` (first row per unit), the top category and, with
    ``activity_before_days``, :data:`PREVIOUS_ACTIVE_DAY`; then :func:`finish_rows` (the
    row-wise part the Spark engine runs per batch)."""
    c, u = params.columns, params.unit_column
    for part in per_unit:
        table = table.join(part, how="left")
    if users is not None and c.users is not None:
        need_columns(users.columns, [u], c.users)
        demo = subject_features(users.drop_duplicates(u), params).set_index(u)
        table = table.join(demo, how="left")
    top1 = categories.loc[categories["rank"] == 1].set_index(u)["category"]
    table[TOP_CATEGORY_IN] = top1.reindex(table.index)
    reduced = reduce_activity(activity, params).reset_index(drop=True)
    if params.activity_before_days is not None:  # one row per unit already: cheap
        table = table.join(previous_active_day(reduced, params), how="left")
    table.index.name = u
    return UnitFeatures(
        table=finish_rows(table.reset_index(), params),
        categories=categories,
        activity=reduced,
        dropped=dropped,
    )


def _event_counts(units: pd.Series, kinds: pd.Series, ec: EventColumns) -> pd.DataFrame:
    """Events per unit (rows with a unit and an event type) and the purchase / view / cart /
    fav counts (event kinds from the policy's mapping),
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
    for kind, values in (
        ("purchase", ec.purchase),
        ("view", ec.view),
        ("cart", ec.cart),
        ("fav", ec.fav),
    ):
        codes = [int(type_index.get_loc(v)) for v in values if v in type_index]
        if codes:
            cnt = np.bincount(uc[np.isin(tc, codes)], minlength=n).astype(np.int64)
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
    for col in (
        "frequency",
        "events",
        "purchase_events",
        "view_events",
        "cart_events",
        "fav_events",
    ):
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
    if not frames:
        return empty_categories(unit)
    rows = pd.concat(frames, ignore_index=True).dropna(subset=["_cat"])
    if rows.empty:
        return empty_categories(unit)
    rows["_cat"] = rows["_cat"].astype("string")
    counts = rows.groupby([unit, "_cat"], sort=False).size().rename("n").reset_index()
    totals = counts.groupby(unit, sort=False)["n"].transform("sum")
    counts["weight"] = counts["n"] / totals
    counts = counts.sort_values([unit, "n", "_cat"], ascending=[True, False, True])
    counts["rank"] = counts.groupby(unit, sort=False).cumcount() + 1
    top = counts.loc[counts["rank"] <= k, [unit, "_cat", "weight", "rank"]]
    out: Any = top.rename(columns={"_cat": "category"}).reset_index(drop=True)
    return out


def empty_categories(unit: str) -> pd.DataFrame:
    """The ``categories`` frame when no unit has a category."""
    return pd.DataFrame({unit: [], "category": [], "weight": [], "rank": []})
