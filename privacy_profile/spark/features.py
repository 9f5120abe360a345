"""Per-unit segment features on Spark: :func:`spark_compute_features` is
:func:`privacy_profile.segments.features.compute_features` for Spark DataFrames.

Every per-row step runs on the cluster: each row's UTC day, the run-window filter and its
dropped counts (one single-row job), a ``groupBy`` per (unit, day) over the orders and events
rows together (first appearance and the additive parts: paid rows, gross, refunds, coupons,
event counts by kind; cached, collected as the activity rows), a ``groupBy`` per unit over
that (first / last seen, active days, sums, last order, coupon rate) joined with the distinct
paid order ids per unit (frequency), and each unit's top categories (counts per (unit,
category), ranked with a window). Only per-unit and per-(unit, day) results are collected
(and the subjects table's first row per unit); the driver then runs the pandas engine's own
finishing code (:func:`~privacy_profile.segments.features.finish_features`: the subjects'
demographics and tags, derived features, spending bands, top category).

The result equals ``compute_features`` on the same tables collected to pandas (the tables'
``toPandas()``), row for row and in the same order: units and activity rows in order of first
appearance (orders before events, each table in its partition order, which is a file's record
order), categories by unit then rank. The positions come from a ``position_column`` where a
frame has one (the input record number of a staged table: then the order is the pandas
table's whatever the partitioning), else from ``monotonically_increasing_id``, evaluated in
each of the few Spark jobs: give such an input a stable partitioning (a file read, a cached
frame), not a random repartition. Money sums may
differ from pandas in the last bits (floating-point addition in another order). Units are
compared as strings; days come back as ``datetime64[us]`` and money (``gross``, ``refunds``,
hence ``monetary``) as ``Float64``, the dtypes the ingestion layer's sanitized tables give the
pandas engine. Time columns are read as UTC days:
timestamps by their instant, dates and timestamps without a zone as they are, strings parsed
by Spark (ISO 8601; without an offset in the session time zone, so keep
``spark.sql.session.timeZone`` at UTC for string times). Statuses, event kinds and categories
are compared as strings, amounts cast to double (unparsable or NaN: 0), coupon flags cast to
boolean (missing: false).

pyspark is imported when the function runs, not with this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from privacy_profile.segments.features import (
    AFTER_RUN_KEY,
    BEFORE_LOOKBACK_KEY,
    EventColumns,
    FeatureParams,
    OrderColumns,
    UnitFeatures,
    empty_categories,
    feature_sources,
    finish_features,
    need_columns,
    subject_columns,
    window_bounds,
)

__all__ = ["spark_compute_features"]

# internal column names of the unified row frame (no input column is kept under its own name)
_U, _D, _SRC, _POS = "_pp_unit", "_pp_day", "_pp_src", "_pp_pos"
_PAID, _REFUND, _OID, _AMT, _COUPON = "_pp_paid", "_pp_refund", "_pp_oid", "_pp_amt", "_pp_coupon"
_KIND, _CAT, _FIRST = "_pp_kind", "_pp_cat", "_pp_first"
_MICROS_PER_DAY = 86_400_000_000
_EVENT_PARTS = ("events", "purchase_events", "view_events", "cart_events", "fav_events")


def _col(name: str) -> Any:
    """The input column ``name`` taken literally (dots and backticks are not syntax)."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _utc_day(frame: Any, name: str) -> Any:
    """The UTC calendar day of the time column ``name`` (a Spark date; null if unparsable)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    dtype = frame.schema[name].dataType
    col = _col(name)
    if isinstance(dtype, T.DateType):
        return col
    if isinstance(dtype, T.TimestampNTZType):
        return F.to_date(col)
    if not isinstance(dtype, T.TimestampType):
        col = F.try_to_timestamp(col.cast("string"))
    # by the instant, whatever the session time zone: floor(micros / day) days since 1970
    micros = F.unix_micros(col)
    days = (micros - F.pmod(micros, F.lit(_MICROS_PER_DAY))) / F.lit(_MICROS_PER_DAY)
    return F.date_from_unix_date(days.cast("int"))


def _position(frame: Any, position_column: str | None) -> Any:
    """Each row's position: ``position_column`` where ``frame`` has it (the input record
    number), else ``monotonically_increasing_id`` (the partition order)."""
    from pyspark.sql import functions as F

    if position_column is not None and position_column in frame.columns:
        return _col(position_column).cast("long")
    return F.monotonically_increasing_id()


def _windowed(
    frame: Any, name: str, ts: str, params: FeatureParams, position_column: str | None
) -> tuple[Any, Any]:
    """``frame``'s rows inside the run window, with their unit, day and position columns,
    and a one-row frame of the rows dropped per reason (the ``dropped`` keys of ``name``)."""
    from pyspark.sql import functions as F

    now, cutoff = window_bounds(params)
    rows = frame.select(
        "*",
        _col(params.unit_column).cast("string").alias(_U),
        _utc_day(frame, ts).alias(_D),
        _position(frame, position_column).alias(_POS),
    )
    day = F.col(_D)
    # a day is <= now exactly when it is <= now's date (days are midnights)
    keep = day.isNotNull() & (day <= F.lit(now.date()))
    counts = [F.coalesce(F.sum((~keep).cast("long")), F.lit(0)).alias(AFTER_RUN_KEY.format(name))]
    if cutoff is not None:
        old = keep & (day < F.lit(cutoff.date()))
        counts.append(
            F.coalesce(F.sum(old.cast("long")), F.lit(0)).alias(BEFORE_LOOKBACK_KEY.format(name))
        )
        keep = keep & ~old
    return rows.where(keep), rows.agg(*counts)


def _order_rows(
    orders: Any, oc: OrderColumns, params: FeatureParams, position_column: str | None
) -> tuple[Any, Any]:
    """The orders' rows in the run window as unified rows, and their dropped counts."""
    from pyspark.sql import functions as F

    rows, dropped = _windowed(orders, "orders", oc.ordered_at, params, position_column)
    status = _col(oc.status).cast("string")
    amount = _col(oc.amount).try_cast("double")
    coupon = (
        F.coalesce(_col(oc.coupon_used).try_cast("boolean"), F.lit(False)).cast("double")
        if oc.coupon_used is not None and oc.coupon_used in orders.columns
        else F.lit(None).cast("double")
    )
    paid = F.coalesce(status.isin(list(oc.paid_statuses)), F.lit(False))
    category = (
        F.when(paid, _col(oc.category).cast("string"))
        if oc.category is not None and oc.category in orders.columns
        else F.lit(None).cast("string")
    )
    unified = rows.select(
        _U,
        _D,
        F.lit(0).alias(_SRC),
        _POS,
        paid.alias(_PAID),
        F.coalesce(status.isin(list(oc.refund_statuses)), F.lit(False)).alias(_REFUND),
        _col(oc.order_id).cast("string").alias(_OID),
        F.coalesce(F.nanvl(amount, F.lit(0.0)), F.lit(0.0)).alias(_AMT),
        coupon.alias(_COUPON),
        F.lit(None).cast("string").alias(_KIND),
        category.alias(_CAT),
    )
    return unified, dropped


def _event_rows(
    events: Any, ec: EventColumns, params: FeatureParams, position_column: str | None
) -> tuple[Any, Any]:
    """The events' rows in the run window as unified rows, and their dropped counts."""
    from pyspark.sql import functions as F

    rows, dropped = _windowed(events, "events", ec.ts, params, position_column)
    category = (
        _col(ec.category).cast("string")
        if ec.category is not None and ec.category in events.columns
        else F.lit(None).cast("string")
    )
    unified = rows.select(
        _U,
        _D,
        F.lit(1).alias(_SRC),
        _POS,
        F.lit(False).alias(_PAID),
        F.lit(False).alias(_REFUND),
        F.lit(None).cast("string").alias(_OID),
        F.lit(None).cast("double").alias(_AMT),
        F.lit(None).cast("double").alias(_COUPON),
        _col(ec.event_type).cast("string").alias(_KIND),
        category.alias(_CAT),
    )
    return unified, dropped


def _unit_day_aggregates(oc: OrderColumns | None, ec: EventColumns | None) -> list[Any]:
    """The aggregates per (unit, day): first appearance and the additive parts of the
    per-unit features (paid rows, gross, refunds, coupons, event counts by kind)."""
    from pyspark.sql import functions as F

    aggs = [F.min(F.struct(F.col(_SRC), F.col(_POS))).alias(_FIRST)]
    if oc is not None:
        paid = F.col(_PAID)
        aggs += [
            F.sum(paid.cast("long")).alias("_pp_paid_n"),
            F.sum(F.when(paid, F.col(_AMT))).alias("gross"),
            F.sum(F.when(F.col(_REFUND), F.least(F.col(_AMT), F.lit(0.0)))).alias("refunds"),
            F.sum(F.when(paid, F.col(_COUPON))).alias("_pp_coupons"),
        ]
    if ec is not None:
        kind = F.col(_KIND)
        aggs.append(F.count(F.when(F.col(_SRC) == 1, kind)).alias("events"))
        for name, values in (
            ("purchase_events", ec.purchase),
            ("view_events", ec.view),
            ("cart_events", ec.cart),
            ("fav_events", ec.fav),
        ):
            hit = (F.col(_SRC) == 1) & kind.isin(list(values)) if values else F.lit(False)
            aggs.append(F.count(F.when(hit, F.lit(1))).alias(name))
    return aggs


def _unit_aggregates(oc: OrderColumns | None, ec: EventColumns | None, coupon: bool) -> list[Any]:
    """The per-unit aggregates over the (unit, day) rows of :func:`_unit_day_aggregates`."""
    from pyspark.sql import functions as F

    aggs = [
        F.min(_FIRST).alias(_FIRST),
        F.min(_D).alias("first_seen"),
        F.max(_D).alias("last_seen"),
        F.count(F.lit(1)).alias("active_days"),
    ]
    if oc is not None:
        paid_n = F.sum("_pp_paid_n")
        aggs += [
            F.sum("gross").alias("gross"),
            F.max(F.when(F.col("_pp_paid_n") > 0, F.col(_D))).alias("last_order"),
            # pandas joins refunds to the units with a paid order only
            F.when(paid_n > 0, F.coalesce(F.sum("refunds"), F.lit(0.0))).alias("refunds"),
        ]
        if coupon:
            # the mean over paid rows: coupons on paid rows / paid rows
            rate = F.sum("_pp_coupons") / paid_n
            aggs.append(F.when(paid_n > 0, rate).alias("coupon_rate"))
    if ec is not None:
        aggs += [F.sum(name).alias(name) for name in _EVENT_PARTS]
    return aggs


def _collect(frame: Any) -> pd.DataFrame:
    """``frame``'s rows on the driver, through Arrow (``toArrow``; pyspark's own
    ``toPandas`` warns under pandas 3)."""
    out: pd.DataFrame = frame.toArrow().to_pandas()
    return out


def _days(values: pd.Series) -> pd.Series:
    """Collected Spark dates as ``datetime64[us]`` (None: NaT)."""
    return pd.Series(pd.to_datetime(values.astype(object)), index=values.index).astype(
        "datetime64[us]"
    )


def _first_appearance(grouped: Any) -> Any:
    """``grouped`` with its ``_FIRST`` (source, position) struct as two columns."""
    from pyspark.sql import functions as F

    first = F.col(_FIRST)
    return grouped.select(
        "*", first.getField(_SRC).alias(_SRC), first.getField(_POS).alias(_POS)
    ).drop(_FIRST)


def _in_order(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` sorted by first appearance (source, then position); those columns dropped."""
    order = np.lexsort((frame[_POS].to_numpy(dtype=np.int64), frame[_SRC].to_numpy(dtype=np.int64)))
    return frame.iloc[order].drop(columns=[_SRC, _POS]).reset_index(drop=True)


def _top_categories(rows: Any, unit: str, k: int) -> pd.DataFrame:
    """Each unit's ``k`` most frequent categories (ties by category name), ranked on Spark."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    counts = (
        rows.where(F.col(_U).isNotNull() & F.col(_CAT).isNotNull())
        .groupBy(_U, _CAT)
        .agg(F.count(F.lit(1)).alias("_n"))
    )
    by_unit = Window.partitionBy(_U)
    ranked = (
        counts.withColumn("weight", F.col("_n") / F.sum("_n").over(by_unit))
        .withColumn(
            "rank", F.row_number().over(by_unit.orderBy(F.col("_n").desc(), F.col(_CAT).asc()))
        )
        .where(F.col("rank") <= k)
        .select(_U, _CAT, "weight", "rank")
    )
    top = _collect(ranked)
    if top.empty:
        return empty_categories(unit)
    top = top.rename(columns={_U: unit, _CAT: "category"})
    top[unit] = top[unit].astype("string")
    top["category"] = top["category"].astype("string")
    top["weight"] = top["weight"].astype(np.float64)
    top["rank"] = top["rank"].astype(np.int64)
    top = top.sort_values([unit, "rank"], kind="stable").reset_index(drop=True)
    return top


def _subjects(users: Any, params: FeatureParams) -> pd.DataFrame:
    """The subjects' unit, demographics, tags and registration time, first row per unit (as
    ``drop_duplicates`` keeps it), collected."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    c, u = params.columns, params.unit_column
    wanted = [src for src, _dst in subject_columns(c)]
    if c.registered_at is not None:
        wanted.append(c.registered_at)
    cols = [x for x in dict.fromkeys(wanted) if x in users.columns and x != u]
    picked = users.select(
        _col(u).cast("string").alias(_U),
        *(_col(x) for x in cols),
        F.monotonically_increasing_id().alias(_POS),
    )
    first = (
        picked.withColumn("_pp_n", F.row_number().over(Window.partitionBy(_U).orderBy(_POS)))
        .where(F.col("_pp_n") == 1)
        .drop("_pp_n")
    )
    demo = _collect(first).sort_values(_POS, kind="stable").drop(columns=[_POS])
    demo = demo.rename(columns={_U: u}).reset_index(drop=True)
    demo[u] = demo[u].astype("string")
    return demo


def spark_compute_features(
    tables: Mapping[str, Any], params: FeatureParams, *, position_column: str | None = None
) -> UnitFeatures:
    """Per-unit features from the Spark DataFrames ``tables`` (see the module docstring): the
    same :class:`~privacy_profile.segments.features.UnitFeatures` as ``compute_features`` on
    the collected tables.

    The subjects table may also be a pandas frame (it is small; it stays on the driver).
    ``position_column``, where an orders or events frame has it, holds each row's position in
    the pandas table (the input record number, :meth:`SparkTable.frame
    <privacy_profile.spark.tables.SparkTable.frame>`'s ``record_column``): the order of first
    appearance then follows it, whatever the frame's partitioning."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    c, u = params.columns, params.unit_column
    oc, ec = c.orders, c.events
    orders, events, users = feature_sources(tables, c)
    if orders is not None and oc is not None:
        need_columns(
            orders.columns, [u, oc.order_id, oc.amount, oc.status, oc.ordered_at], oc.table
        )
    if events is not None and ec is not None:
        need_columns(events.columns, [u, ec.event_type, ec.ts], ec.table)
    if users is not None and c.users is not None:
        need_columns(users.columns, [u], c.users)

    # the rows of each table inside the run window, in one frame (orders first)
    parts: list[tuple[Any, Any]] = []
    coupon = False
    if orders is not None and oc is not None:
        parts.append(_order_rows(orders, oc, params, position_column))
        coupon = oc.coupon_used is not None and oc.coupon_used in orders.columns
    if events is not None and ec is not None:
        parts.append(_event_rows(events, ec, params, position_column))
    rows, counts = parts[0]
    for more, more_counts in parts[1:]:
        rows, counts = rows.unionByName(more), counts.crossJoin(more_counts)
    # dropped counts: one small job (one row, a column per reason)
    dropped = {k: int(v) for k, v in counts.collect()[0].asDict().items()}

    o_sel = oc if orders is not None else None
    e_sel = ec if events is not None else None
    # one row per (unit, day): the activity rows and the additive parts of the features,
    # cached for the two collections below, on disk only: a cached block read back from disk
    # at a memory level is copied whole into the heap (a partition of tens of millions of
    # events' (unit, day) rows exhausted a 1 GiB driver heap at 30M events)
    days = rows.groupBy(_U, _D).agg(*_unit_day_aggregates(o_sel, e_sel))
    days = days.persist(StorageLevel.DISK_ONLY)
    try:
        # the distinct (unit, day) rows, in order of first appearance
        pairs = days.select(_U, _D, _FIRST)
        if params.activity_before_days is not None:  # reduce_activity, before collecting
            cutoff = params.now.date() - dt.timedelta(days=params.activity_before_days)
            pairs = (
                pairs.where(F.col(_D) <= F.lit(cutoff))
                .groupBy(_U)
                .agg(F.max(_D).alias(_D), F.min(_FIRST).alias(_FIRST))
            )
        act = _in_order(_collect(_first_appearance(pairs)))
        # one row per unit: activity span, orders and events aggregates
        per_unit_rows = (
            days.where(F.col(_U).isNotNull())
            .groupBy(_U)
            .agg(*_unit_aggregates(o_sel, e_sel, coupon))
        )
        if o_sel is not None:
            # orders per unit: distinct order ids over paid rows
            freq = (
                rows.where(F.col(_PAID)).groupBy(_U).agg(F.countDistinct(_OID).alias("frequency"))
            )
            per_unit_rows = per_unit_rows.join(freq, on=_U, how="left")
        per = _in_order(_collect(_first_appearance(per_unit_rows)))
    finally:
        days.unpersist()
    activity = pd.DataFrame({u: act[_U].astype("string"), "_day": _days(act[_D])}, index=act.index)

    index = pd.Index(per[_U].astype("string"), name=u)
    table = pd.DataFrame(
        {
            "first_seen": _days(per["first_seen"]).to_numpy(),
            "last_seen": _days(per["last_seen"]).to_numpy(),
            "active_days": per["active_days"].to_numpy(dtype=np.int64),
        },
        index=index,
    )
    per_unit: list[pd.DataFrame] = []
    if orders is not None and oc is not None:
        o = pd.DataFrame(
            {
                "frequency": per["frequency"].fillna(0).to_numpy(dtype=np.int64),
                "gross": pd.array(per["gross"], dtype="Float64"),
                "last_order": _days(per["last_order"]).to_numpy(),
                "refunds": pd.array(per["refunds"], dtype="Float64"),
            },
            index=index,
        )
        if coupon:
            o["coupon_rate"] = per["coupon_rate"].to_numpy(dtype=np.float64, na_value=np.nan)
        per_unit.append(o)
    if events is not None and ec is not None:
        per_unit.append(
            pd.DataFrame(
                {name: per[name].to_numpy(dtype=np.int64) for name in _EVENT_PARTS}, index=index
            )
        )

    categories = _top_categories(rows, u, params.max_categories_per_user)
    demo = None
    if isinstance(users, pd.DataFrame):  # on the driver: as the pandas engine reads it
        demo = users.assign(**{u: users[u].astype("string")})
    elif users is not None and c.users is not None:
        demo = _subjects(users, params)
    return finish_features(table, per_unit, demo, categories, activity, dropped, params)
