"""Per-unit segment features on Spark: :func:`spark_compute_features` is
:func:`privacy_profile.segments.features.compute_features` for Spark DataFrames, the per-unit
table kept on Spark (:class:`~privacy_profile.spark.units.SparkUnitRows`).

Every per-row step runs on the cluster: each row's UTC day, the run-window filter and its
dropped counts (one single-row job), a ``groupBy`` per (unit, day) over the orders and events
rows together (first appearance and the additive parts: paid rows, gross, refunds, coupons,
event counts by kind; cached while the per-unit rows are built), a ``groupBy`` per unit over
that (first / last seen, active days, sums, last order, coupon rate) joined with the distinct
paid order ids per unit (frequency), the subjects' first row per unit (their
:func:`~privacy_profile.segments.features.subject_features`: a pandas subjects table is
prepared on the driver and sent, a Spark one runs the function per batch), the top category
(rank 1 of each unit's categories, counted per (unit, category) and ranked with a window)
and, with ``activity_before_days``, the last active day at or before that cutoff
(:data:`~privacy_profile.segments.features.PREVIOUS_ACTIVE_DAY`). The row-wise finishing is
the pandas engine's own function
(:func:`~privacy_profile.segments.features.finish_rows`: registration day, derived features,
spending bands), run per Arrow batch with ``mapInPandas`` on the columns given the pandas
engine's dtypes. The finished rows are cached on disk (several families read them) until
:meth:`UnitFeatures.close <privacy_profile.segments.features.UnitFeatures.close>`.

Collected: the dropped counts (one row) and the top categories (at most
``max_categories_per_user`` rows per unit; the personas read them). Not collected: the
per-unit table and the activity rows (the result's ``activity`` is an empty frame).

``table.to_pandas()`` equals ``compute_features``' table on the same tables collected to pandas
(the tables' ``toPandas()``), row for row and in the same order: units in order of first
appearance (orders before events, each table in its partition order, which is a file's record
order; the hidden :data:`~privacy_profile.spark.units.POSITION` sort key), categories by unit
then rank. The positions come from a ``position_column`` where a
frame has one (the input record number of a staged table: then the order is the pandas
table's whatever the partitioning), else from ``monotonically_increasing_id``, evaluated in
each of the few Spark jobs: give such an input a stable partitioning (a file read, a cached
frame), not a random repartition. Money sums may
differ from pandas in the last bits (floating-point addition in another order). Units are
compared as strings; days are ``timestamp_ntz`` on Spark (``datetime64[us]`` in batches and
collected) and money (``gross``, ``refunds``, hence ``monetary``) ``Float64``, the dtypes the
ingestion layer's sanitized tables give the pandas engine. Time columns are read as UTC days:
timestamps by their instant, dates and timestamps without a zone as they are, strings parsed
by Spark (ISO 8601; without an offset in the session time zone, so keep
``spark.sql.session.timeZone`` at UTC for string times; a string registration time is parsed
by pandas, as the pandas engine does). Statuses, event kinds and categories
are compared as strings, amounts cast to double (unparsable or NaN: 0), coupon flags cast to
boolean (missing: false).

pyspark is imported when the function runs, not with this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from privacy_profile.segments.features import (
    AFTER_RUN_KEY,
    BEFORE_LOOKBACK_KEY,
    PREVIOUS_ACTIVE_DAY,
    REGISTERED_DAY,
    TOP_CATEGORY_IN,
    EventColumns,
    FeatureParams,
    OrderColumns,
    UnitFeatures,
    empty_categories,
    feature_sources,
    finish_rows,
    need_columns,
    subject_columns,
    subject_features,
    window_bounds,
)
from privacy_profile.spark.units import POSITION, SparkUnitRows

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


def _ranked_categories(rows: Any, k: int) -> Any:
    """Each unit's ``k`` most frequent categories (ties by category name), ranked on Spark:
    ``_U``, ``_CAT``, ``weight``, ``rank``."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    counts = (
        rows.where(F.col(_U).isNotNull() & F.col(_CAT).isNotNull())
        .groupBy(_U, _CAT)
        .agg(F.count(F.lit(1)).alias("_n"))
    )
    by_unit = Window.partitionBy(_U)
    return (
        counts.withColumn("weight", F.col("_n") / F.sum("_n").over(by_unit))
        .withColumn(
            "rank", F.row_number().over(by_unit.orderBy(F.col("_n").desc(), F.col(_CAT).asc()))
        )
        .where(F.col("rank") <= k)
        .select(_U, _CAT, "weight", "rank")
    )


def _top_categories(ranked: Any, unit: str) -> pd.DataFrame:
    """The ranked categories collected (unit scale x ``max_categories_per_user``), by unit
    then rank, with the pandas engine's dtypes."""
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


# -- the per-unit rows and their row-wise finishing -----------------------------------------

_DAY = "datetime64[us]"


def _spark_type(dtype: Any) -> str:
    """The Spark SQL type holding a column of the pandas ``dtype`` of the finished table."""
    name = str(dtype)
    if name in ("string", "str", "object"):
        return "string"
    if name.lower() in ("float64",):
        return "double"
    if name.lower() in ("int64",):
        return "bigint"
    if name.lower() == "boolean" or name == "bool":
        return "boolean"
    if name.startswith("datetime64["):
        return "timestamp_ntz"
    raise TypeError(f"no Spark type for the per-unit column dtype {name}")


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with numpy-backed columns for Arrow: strings as objects (None where
    missing), ``Float64`` as ``float64`` (NaN)."""
    out = {}
    for name in frame.columns:
        col = frame[name]
        if isinstance(col.dtype, pd.StringDtype):
            out[name] = col.astype(object).where(col.notna(), None)
        elif str(col.dtype) in ("Float64", "Int64", "boolean"):
            kind = np.float64 if str(col.dtype) != "boolean" else object
            na: Any = np.nan if kind is np.float64 else None
            out[name] = pd.Series(col.to_numpy(dtype=kind, na_value=na), index=col.index)
        else:
            out[name] = col
    return pd.DataFrame(out, index=frame.index)


def _ddl(dtypes: Mapping[str, str]) -> str:
    return ", ".join(f"`{n.replace('`', '``')}` {_spark_type(t)}" for n, t in dtypes.items())


@dataclass(frozen=True)
class _SubjectBatches:
    """mapInPandas: the subjects' first rows per unit -> :func:`subject_features` (strings,
    registration day), numpy-backed for Arrow."""

    params: FeatureParams

    def __call__(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for b in batches:
            yield _plain(subject_features(b, self.params))


@dataclass(frozen=True)
class _FinishBatches:
    """mapInPandas: per-unit rows -> :func:`finish_rows` (the pandas engine's function), the
    input columns first given the pandas engine's dtypes, :data:`POSITION` kept."""

    params: FeatureParams
    dtypes: tuple[tuple[str, str], ...]

    def __call__(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for b in batches:
            position = b[POSITION].to_numpy(dtype=np.int64)
            rows = b.drop(columns=[POSITION]).astype(dict(self.dtypes))
            out = _plain(finish_rows(rows, self.params))
            out[POSITION] = position
            yield out


def _subject_frame(
    users: Any, params: FeatureParams, session: Any, position_column: str | None
) -> tuple[Any, dict[str, str]]:
    """The subjects' :func:`subject_features` on Spark (unit as ``_U``), first row per unit
    as ``drop_duplicates`` keeps it, and the pandas dtypes of its columns. A pandas subjects
    table is prepared here (unit scale) and sent to Spark; a Spark one has its first row per
    unit picked by position and the same function run per batch (a timestamp or date
    registration column turned into its UTC day on Spark first)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    c, u = params.columns, params.unit_column
    if isinstance(users, pd.DataFrame):
        need_columns(users.columns, [u], c.users or "")
        demo = subject_features(users.drop_duplicates(u), params)
        demo = demo.loc[demo[u].notna().to_numpy(dtype=bool)]
        demo[u] = demo[u].astype("string")
        if REGISTERED_DAY in demo.columns:
            demo[REGISTERED_DAY] = demo[REGISTERED_DAY].astype(_DAY)
        dtypes = {str(k): str(v) for k, v in demo.dtypes.items()}
        frame = session.createDataFrame(_plain(demo).reset_index(drop=True), _ddl(dtypes))
        return frame.withColumnRenamed(u, _U), dtypes

    wanted = [src for src, _dst in subject_columns(c)]
    if c.registered_at is not None:
        wanted.append(c.registered_at)
    cols = [x for x in dict.fromkeys(wanted) if x in users.columns and x != u]
    picked = []
    for x in cols:
        col = _col(x)
        if x == c.registered_at and isinstance(
            users.schema[x].dataType, T.DateType | T.TimestampType | T.TimestampNTZType
        ):
            col = _utc_day(users, x).cast("timestamp_ntz")
        picked.append(col.alias(x))
    first = (
        users.select(
            _col(u).cast("string").alias(u), *picked, _position(users, position_column).alias(_POS)
        )
        .where(_col(u).isNotNull())
        .withColumn("_pp_n", F.row_number().over(Window.partitionBy(_col(u)).orderBy(_POS)))
        .where(F.col("_pp_n") == 1)
        .drop("_pp_n", _POS)
    )
    # the output columns and dtypes: the function on an empty batch of the first rows
    empty = pd.DataFrame({u: pd.Series([], dtype="string")})
    for x in cols:
        empty[x] = pd.Series([], dtype=object)
    if c.registered_at in cols:
        empty[c.registered_at] = pd.Series([], dtype=_DAY)
    shape = subject_features(empty, params)
    dtypes = {str(k): str(v) for k, v in shape.dtypes.items()}
    if REGISTERED_DAY in dtypes:
        dtypes[REGISTERED_DAY] = _DAY
    frame = first.mapInPandas(_SubjectBatches(params), _ddl(dtypes))
    return frame.withColumnRenamed(u, _U), dtypes


def _date_ntz(name: str) -> Any:
    """The Spark date column ``name`` as ``timestamp_ntz`` (batches see ``datetime64``)."""
    from pyspark.sql import functions as F

    return F.col(name).cast("timestamp_ntz").alias(name)


def spark_compute_features(
    tables: Mapping[str, Any], params: FeatureParams, *, position_column: str | None = None
) -> UnitFeatures:
    """Per-unit features from the Spark DataFrames ``tables`` (see the module docstring):
    ``compute_features`` on the collected tables, with the table kept on Spark
    (:class:`~privacy_profile.spark.units.SparkUnitRows`, cached on disk until
    :meth:`UnitFeatures.close <privacy_profile.segments.features.UnitFeatures.close>`), the
    categories collected, no activity rows.

    The subjects table may also be a pandas frame (unit scale: prepared on the driver, sent
    to Spark). ``position_column``, where a frame has it, holds each row's position in the
    pandas table (the input record number, :meth:`SparkTable.frame
    <privacy_profile.spark.tables.SparkTable.frame>`'s ``record_column``): the order of first
    appearance (and of the subjects' first row per unit) then follows it, whatever the
    frame's partitioning."""
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
    session = rows.sparkSession
    # dropped counts: one small job (one row, a column per reason)
    dropped = {k: int(v) for k, v in counts.collect()[0].asDict().items()}

    o_sel = oc if orders is not None else None
    e_sel = ec if events is not None else None
    ranked = _ranked_categories(rows, params.max_categories_per_user)
    # one row per (unit, day): the additive parts of the features, read twice below (per
    # unit, previous active day), cached until the per-unit rows are; on disk only: a cached
    # block read back from disk at a memory level is copied whole into the heap (a partition
    # of tens of millions of events' (unit, day) rows exhausted a 1 GiB driver heap at 30M
    # events)
    days = rows.groupBy(_U, _D).agg(*_unit_day_aggregates(o_sel, e_sel))
    days = days.persist(StorageLevel.DISK_ONLY)
    try:
        per = (
            days.where(F.col(_U).isNotNull())
            .groupBy(_U)
            .agg(*_unit_aggregates(o_sel, e_sel, coupon))
        )
        first = F.col(_FIRST)
        # the order of first appearance (source, then position) as one sort key
        per = per.withColumn(
            POSITION,
            F.shiftleft(first.getField(_SRC).cast("long"), 62) + first.getField(_POS),
        ).drop(_FIRST)
        raw: list[Any] = [
            F.col(_U).alias(u),
            _date_ntz("first_seen"),
            _date_ntz("last_seen"),
            F.col("active_days"),
        ]
        dtypes: dict[str, str] = {
            u: "string",
            "first_seen": _DAY,
            "last_seen": _DAY,
            "active_days": "int64",
        }
        if o_sel is not None:
            # orders per unit: distinct order ids over paid rows
            freq = (
                rows.where(F.col(_PAID)).groupBy(_U).agg(F.countDistinct(_OID).alias("frequency"))
            )
            per = per.join(freq, on=_U, how="left")
            raw += [
                F.coalesce(F.col("frequency"), F.lit(0)).cast("long").alias("frequency"),
                F.col("gross"),
                _date_ntz("last_order"),
                F.col("refunds"),
            ]
            dtypes |= {"frequency": "int64", "gross": "Float64", "last_order": _DAY}
            dtypes["refunds"] = "Float64"
            if coupon:
                raw.append(F.col("coupon_rate"))
                dtypes["coupon_rate"] = "float64"
        if e_sel is not None:
            raw += [F.col(name).cast("long").alias(name) for name in _EVENT_PARTS]
            dtypes |= dict.fromkeys(_EVENT_PARTS, "int64")
        if users is not None and c.users is not None:
            demo, demo_types = _subject_frame(users, params, session, position_column)
            per = per.join(demo, on=_U, how="left")
            raw += [_col(name) for name in demo_types if name != u]
            dtypes |= {k: v for k, v in demo_types.items() if k != u}
        top1 = ranked.where(F.col("rank") == 1).select(_U, F.col(_CAT).alias(TOP_CATEGORY_IN))
        per = per.join(top1, on=_U, how="left")
        raw.append(F.col(TOP_CATEGORY_IN))
        dtypes[TOP_CATEGORY_IN] = "string"
        if params.activity_before_days is not None:  # reduce_activity, per unit
            cutoff = params.now.date() - dt.timedelta(days=params.activity_before_days)
            before = (
                days.where(F.col(_U).isNotNull() & (F.col(_D) <= F.lit(cutoff)))
                .groupBy(_U)
                .agg(F.max(_D).alias(PREVIOUS_ACTIVE_DAY))
            )
            per = per.join(before, on=_U, how="left")
            raw.append(_date_ntz(PREVIOUS_ACTIVE_DAY))
            dtypes[PREVIOUS_ACTIVE_DAY] = _DAY
        raw.append(F.col(POSITION))
        # the finished table's columns and dtypes: the finishing function on an empty batch
        empty = pd.DataFrame({n: pd.Series([], dtype=t) for n, t in dtypes.items()})
        done = {str(k): str(v) for k, v in finish_rows(empty, params).dtypes.items()}
        finished = per.select(*raw).mapInPandas(
            _FinishBatches(params, tuple(dtypes.items())),
            _ddl(done) + f", `{POSITION}` bigint",
        )
        # cached (several families read it), on disk only (see above); filled now, while
        # the (unit, day) rows are cached
        finished = finished.persist(StorageLevel.DISK_ONLY)
        finished.count()
    finally:
        days.unpersist()
    table = SparkUnitRows(finished, tuple(done.items()))
    categories = _top_categories(ranked, u)
    activity = pd.DataFrame({u: pd.Series([], dtype="string"), "_day": pd.Series([], dtype=_DAY)})
    return UnitFeatures(
        table=table,
        categories=categories,
        activity=activity,
        dropped=dropped,
        on_close=finished.unpersist,
    )
