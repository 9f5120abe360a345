"""The analytics' per-unit reductions on Spark: each function computes on Spark DataFrames what
its pandas twin computes on pandas frames, and collects only the small per-unit result, which
the analysis's own DP step then releases (the same code as the pandas engine's).

=====================================  ==============================================
Spark                                  pandas twin (and the DP step fed with it)
=====================================  ==============================================
:func:`spark_funnel_depths`            :func:`~privacy_profile.analytics.funnel.funnel_depths`
                                       (:func:`~privacy_profile.analytics.funnel.dp_funnel_from_depths`)
:func:`spark_ab_per_user`              :func:`~privacy_profile.analytics.ab.ab_per_user`
                                       (:func:`~privacy_profile.analytics.ab.dp_ab_from_users`)
:func:`spark_retention_pairs`          :func:`~privacy_profile.analytics.retention.retention_pairs`
                                       (:func:`~privacy_profile.analytics.retention.dp_retention_from_pairs`)
:func:`spark_kpi_pairs`                :func:`~privacy_profile.analytics.kpi.kpi_pairs`
                                       (:func:`~privacy_profile.analytics.kpi.dp_kpis_from_pairs`)
=====================================  ==============================================

What reaches the driver: one value per unit (funnel depth; A/B arm, outcome count and sum),
the distinct (unit, cohort, offset) cells of retention, the (unit, campaign) pairs of the KPIs,
and one row of counts per input check. No reduction samples rows: the only contribution bound
that chooses (each user's campaigns in the KPIs) runs in the DP step on the driver with the
run's secure random source, over pairs in the pandas engine's order (each pair's first send in
record order: the staged files' record numbers, or, for any other DataFrame, its partition
order), so a seeded run releases the same values on both engines.

Times are compared in microseconds since 1970 UTC: a timestamp by its instant, a timestamp
without a zone (staged Parquet) and a date as UTC wall-clock times, a string parsed as ISO 8601
(an offset or ``Z`` read as such, none as UTC), whatever the session time zone; the pandas
engine reads them the same way (``pd.to_datetime(utc=True)``; it also accepts non-ISO spellings,
which Spark refuses here as not a time). Money sums may differ from pandas in the last bits
(floating-point addition in another order).

The functions take plain column names and public parameters (this layer does not import the
analytics); :mod:`privacy_profile.analytics.on_spark` calls them with an analysis's parameter
object, and ``AnalysisRun`` (:mod:`privacy_profile.analytics.policy_analyses`) when the
tables are remote Spark tables.

pyspark is imported when a function runs, not with this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy_profile.errors import InputError

__all__ = [
    "COHORT",
    "OFFSET",
    "PAIR_FIGURES",
    "POSITION",
    "spark_ab_per_user",
    "spark_funnel_depths",
    "spark_kpi_pairs",
    "spark_retention_pairs",
    "table_frame",
]

#: A column giving each row's position in the pandas table's order (the staged files' record
#: number, see :func:`table_frame`); without it, the frame's partition order is used.
POSITION = "_pp_position"

#: The columns of :func:`spark_retention_pairs` besides the unit column.
COHORT, OFFSET = "cohort", "offset"
#: The figure columns of :func:`spark_kpi_pairs` besides the unit and campaign columns.
PAIR_FIGURES = ("impressed", "clicked", "orders", "revenue")

# internal column names (no input column is kept under its own name)
_U, _T, _S, _A, _V, _C = "_pp_unit", "_pp_t", "_pp_step", "_pp_arm", "_pp_value", "_pp_campaign"
_US_PER_DAY = 86_400_000_000
_US_PER_HOUR, _US_PER_MINUTE = 3_600_000_000, 60_000_000
# an ISO 8601 time of day with its own offset (or Z): read as that instant, not as UTC wall
# time (a date alone, 2026-11-01, ends like an offset but has none)
_OFFSET = r"(?i)[0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]*)?)? ?(z|[+-][0-9]{2}(:?[0-9]{2})?)$"


def table_frame(table: Any, *, rename: dict[str, str] | None = None, position: bool = False) -> Any:
    """The Spark DataFrame of a remote table, its columns renamed by ``rename``; with
    ``position``, also the :data:`POSITION` column when the table knows its record order (a
    :class:`~privacy_profile.spark.tables.SparkTable` over staged files)."""
    from privacy_profile.spark.tables import SparkTable

    if position and isinstance(table, SparkTable):
        frame = table.frame(record_column=POSITION)
    else:
        frame = table.frame()
    for old, new in (rename or {}).items():
        if old != new and old in frame.columns:
            frame = frame.withColumnRenamed(old, new)
    return frame


def _collect(frame: Any) -> pd.DataFrame:
    """``frame``'s (few) rows on the driver, through Arrow (pyspark's ``toPandas`` warns
    under pandas 3)."""
    out: pd.DataFrame = frame.toArrow().to_pandas()
    return out


def _col(name: str) -> Any:
    """The input column ``name`` taken literally (dots and backticks are not syntax)."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _check_columns(frame: Any, columns: Sequence[str], *, table: str) -> None:
    """The pandas engine's check (``analytics._common.check_columns``), same message."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"the {table} table has no column(s) {missing}",
            hint="check the table and column roles in the policy's analytics section",
        )


def _ntz_micros(col: Any) -> Any:
    """Microseconds since 1970 of a timestamp without a zone read as UTC (pure arithmetic: no
    session time zone, no daylight-saving gaps)."""
    from pyspark.sql import functions as F

    day = F.unix_date(F.to_date(col)).cast("long") * F.lit(_US_PER_DAY)
    clock = F.hour(col).cast("long") * F.lit(_US_PER_HOUR) + F.minute(col).cast("long") * F.lit(
        _US_PER_MINUTE
    )
    seconds = (F.extract(F.lit("SECOND"), col) * F.lit(1_000_000)).cast("long")
    return day + clock + seconds


def _micros(frame: Any, name: str) -> Any:
    """The time column ``name`` in microseconds since 1970 UTC (null: missing or not a time)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    dtype = frame.schema[name].dataType
    col = _col(name)
    if isinstance(dtype, T.TimestampType):
        return F.unix_micros(col)
    if isinstance(dtype, T.TimestampNTZType):
        return _ntz_micros(col)
    if isinstance(dtype, T.DateType):
        return F.unix_date(col).cast("long") * F.lit(_US_PER_DAY)
    if not isinstance(dtype, T.StringType):
        return F.lit(None).cast("long")  # not a time: refused by _refuse
    text = F.trim(col)
    zoned = F.unix_micros(F.try_to_timestamp(text))
    naive = _ntz_micros(text.try_cast("timestamp_ntz"))
    return F.when(text.rlike(_OFFSET), zoned).otherwise(naive)


#: A check of the input rows: the rows it refuses (a boolean column), the error's message and
#: hint (as the pandas engine words them).
_Check = tuple[Any, str, str | None]


def _time_checks(frame: Any, name: str, table: str) -> list[_Check]:
    """The rows of ``frame`` whose time ``name`` is not a time / missing."""
    raw = _col(name)
    t = _micros(frame, name)
    return [
        (
            raw.isNotNull() & t.isNull(),
            f"the {table} table's {name!r} column is not a time",
            "declare it as a timestamp column in the policy",
        ),
        (raw.isNull(), f"the {table} table's {name!r} column has missing times", None),
    ]


def _refuse(frame: Any, checks: Sequence[_Check]) -> None:
    """One pass over ``frame`` counting the rows of each check; the first check with rows
    raises its :class:`InputError` (with the count, never a value)."""
    from pyspark.sql import functions as F

    counts = frame.agg(
        *[
            F.coalesce(F.sum(c.cast("long")), F.lit(0)).alias(f"c{i}")
            for i, (c, _, _) in enumerate(checks)
        ]
    ).collect()[0]
    for i, (_, message, hint) in enumerate(checks):
        n = int(counts[f"c{i}"])
        if n:
            raise InputError(f"{message} ({n} row(s))", hint=hint)


def _index_of(col: Any, values: Sequence[str]) -> Any:
    """The position of the string value of ``col`` in ``values`` (null: not among them)."""
    from pyspark.sql import functions as F

    text = col.cast("string")
    out = F.lit(None).cast("long")
    for i, v in reversed(list(enumerate(values))):
        out = F.when(text == F.lit(v), F.lit(i).cast("long")).otherwise(out)
    return out


def _us(delta: dt.timedelta) -> int:
    return delta // dt.timedelta(microseconds=1)


def spark_funnel_depths(
    events: Any,
    *,
    unit_column: str,
    event_column: str,
    time_column: str,
    steps: Sequence[str],
    window: dt.timedelta,
) -> tuple[npt.NDArray[np.int64], pd.Index]:
    """Each unit's funnel depth (0 .. len(steps)) and the unit values, computed on Spark:
    :func:`~privacy_profile.analytics.funnel.funnel_depths` for a Spark DataFrame (units in
    no particular order). One ``groupBy`` for each step's earliest time per unit, joined to
    the units still on their path; the collected frame has one row per unit."""
    from pyspark.sql import functions as F

    _check_columns(events, [unit_column, event_column, time_column], table="events")
    ev = events.where(_col(event_column).cast("string").isin(list(steps)))
    _refuse(
        ev,
        [
            (
                _col(unit_column).isNull(),
                f"the events table has rows without a {unit_column!r}",
                None,
            ),
            *_time_checks(ev, time_column, "events"),
        ],
    )
    rows = ev.select(
        _col(unit_column).alias(_U),
        _index_of(_col(event_column), steps).alias(_S),
        _micros(ev, time_column).alias(_T),
    )
    window_us = _us(window)
    prev, deadline, depth, nxt = "_pp_prev", "_pp_deadline", "_pp_depth", "_pp_next"
    state = (
        rows.where(F.col(_S) == 0)
        .groupBy(_U)
        .agg(F.min(_T).alias(prev))
        .select(
            _U,
            F.lit(1).cast("long").alias(depth),
            F.col(prev),
            (F.col(prev) + F.lit(window_us)).alias(deadline),
        )
    )
    for k in range(1, len(steps)):
        on_path = state.where(F.col(depth) == k).select(_U, prev, deadline)
        reached = (
            rows.where(F.col(_S) == k)
            .join(on_path, _U)
            .where((F.col(_T) >= F.col(prev)) & (F.col(_T) <= F.col(deadline)))
            .groupBy(_U)
            .agg(F.min(_T).alias(nxt))
        )
        state = state.join(reached, _U, "left").select(
            _U,
            F.when(F.col(nxt).isNotNull(), F.lit(k + 1).cast("long"))
            .otherwise(F.col(depth))
            .alias(depth),
            F.coalesce(F.col(nxt), F.col(prev)).alias(prev),
            F.col(deadline),
        )
    units = rows.select(_U).distinct()
    out = _collect(units.join(state.select(_U, depth), _U, "left"))
    values = pd.to_numeric(out[depth]).fillna(0).to_numpy(dtype=np.int64)
    return values, pd.Index(out[_U].to_numpy())


def spark_ab_per_user(
    exposures: Any,
    outcomes: Any,
    *,
    unit_column: str,
    arm_column: str,
    arms: Sequence[str],
    exposure_time_column: str,
    outcome_time_column: str,
    outcome_value_column: str,
    window: dt.timedelta,
    campaign_column: str | None = None,
    campaign: Hashable | None = None,
) -> pd.DataFrame:
    """Each exposed user's ``arm`` (position in ``arms``), number of ``outcomes`` in the
    window after the exposure and their ``total`` value, computed on Spark: the reduction of
    :func:`~privacy_profile.analytics.ab.ab_per_user` for Spark DataFrames (users in no
    particular order). The arm is that of the user's first exposure (earliest time, then
    first position in ``arms``), as in pandas; the collected frame has one row per user."""
    from pyspark.sql import functions as F

    unit, camp = unit_column, campaign_column
    cols = [unit, arm_column, exposure_time_column]
    if camp is not None:
        cols.append(camp)
    _check_columns(exposures, cols, table="exposure")
    ocols = [unit, outcome_time_column, outcome_value_column]
    if camp is not None and camp in outcomes.columns:
        ocols.append(camp)
    _check_columns(outcomes, ocols, table="outcome")
    ex = exposures
    if camp is not None:
        ex = ex.where(_col(camp) == F.lit(campaign))
        if camp in outcomes.columns:
            outcomes = outcomes.where(_col(camp) == F.lit(campaign))
    _refuse(ex, _time_checks(ex, exposure_time_column, "exposure"))
    first = (
        ex.select(
            _col(unit).alias(_U),
            _index_of(_col(arm_column), arms).alias(_A),
            _micros(ex, exposure_time_column).alias(_T),
        )
        .where(F.col(_A).isNotNull())  # exposures to an arm the policy does not list
        .groupBy(_U)
        .agg(F.min(F.struct(F.col(_T), F.col(_A))).alias("_pp_first"))
        .select(_U, F.col("_pp_first")[_T].alias("_pp_t0"), F.col("_pp_first")[_A].alias(_A))
    )
    value = _col(outcome_value_column).try_cast("double")
    value_check = (
        value.isNull() | F.isnan(value),
        f"the outcome column {outcome_value_column!r} has missing values",
        None,
    )
    _refuse(outcomes, [*_time_checks(outcomes, outcome_time_column, "outcome"), value_check])
    out = outcomes.select(
        _col(unit).alias(_U),
        _micros(outcomes, outcome_time_column).alias(_T),
        value.alias(_V),
    )
    window_us = _us(window)
    t0 = F.col("_pp_t0")
    per = (
        out.join(first.select(_U, "_pp_t0"), _U)
        .where((F.col(_T) >= t0) & (F.col(_T) <= t0 + F.lit(window_us)))
        .groupBy(_U)
        .agg(F.count(F.lit(1)).alias("_pp_n"), F.sum(_V).alias("_pp_sum"))
    )
    got = _collect(first.join(per, _U, "left").select(_A, "_pp_n", "_pp_sum"))
    return pd.DataFrame(
        {
            "arm": got[_A].to_numpy(dtype=np.int64),
            "outcomes": pd.to_numeric(got["_pp_n"]).fillna(0).to_numpy(dtype=np.int64),
            "total": pd.to_numeric(got["_pp_sum"]).fillna(0.0).to_numpy(dtype=np.float64),
        }
    )


def _period(t: Any, period: str, start: dt.date) -> Any:
    """Each time's period index from the public start (as the pandas engine's)."""
    from pyspark.sql import functions as F

    days = ((t - F.pmod(t, F.lit(_US_PER_DAY))) / F.lit(_US_PER_DAY)).cast("long")
    first_day = (start - dt.date(1970, 1, 1)).days
    if period == "day":
        return days - F.lit(first_day)
    if period == "week":
        d = days - F.lit(first_day)
        return ((d - F.pmod(d, F.lit(7))) / F.lit(7)).cast("long")
    date = F.date_from_unix_date(days.cast("int"))
    s = start.year * 12 + start.month - 1
    return F.year(date).cast("long") * 12 + F.month(date).cast("long") - 1 - F.lit(s)


def spark_retention_pairs(
    activity: Any,
    *,
    unit_column: str,
    time_column: str,
    period: str,
    start: dt.date,
    cohorts: int,
    max_offset: int,
) -> pd.DataFrame:
    """The distinct (unit, cohort, offset) cells each unit is active in, computed on Spark:
    :func:`~privacy_profile.analytics.retention.retention_pairs` for a Spark DataFrame (rows
    in no particular order). Each unit's first period comes from a window over its rows;
    at most ``max_offset + 1`` rows per unit are collected."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    _check_columns(activity, [unit_column, time_column], table="activity")
    _refuse(
        activity,
        [
            (
                _col(unit_column).isNull(),
                f"the activity table has rows without a {unit_column!r}",
                None,
            ),
            *_time_checks(activity, time_column, "activity"),
        ],
    )
    index = _period(_micros(activity, time_column), period, start)
    rows = activity.select(_col(unit_column).alias(_U), index.alias("_pp_period"))
    first = F.min("_pp_period").over(Window.partitionBy(_U))
    cells = _collect(
        rows.select(_U, first.alias(COHORT), (F.col("_pp_period") - first).alias(OFFSET))
        .where(
            (F.col(COHORT) >= 0)
            & (F.col(COHORT) < cohorts)
            & (F.col(OFFSET) >= 0)
            & (F.col(OFFSET) <= max_offset)
        )
        .distinct()
    )
    return pd.DataFrame(
        {
            unit_column: cells[_U].to_numpy(),
            COHORT: cells[COHORT].to_numpy(dtype=np.int64),
            OFFSET: cells[OFFSET].to_numpy(dtype=np.int64),
        }
    )


def _left_join(left: Any, right: Any, keys: Sequence[str]) -> Any:
    """``left`` left-joined with ``right`` on ``keys``, null keys matching null keys (as a
    pandas merge does)."""
    renamed = right
    for k in keys:
        renamed = renamed.withColumnRenamed(k, f"_pp_r{k}")
    cond = None
    for k in keys:
        c = left[k].eqNullSafe(renamed[f"_pp_r{k}"])
        cond = c if cond is None else cond & c
    return left.join(renamed, cond, "left").drop(*[f"_pp_r{k}" for k in keys])


def spark_kpi_pairs(
    sends: Any,
    interactions: Any,
    conversions: Any,
    *,
    unit_column: str,
    campaign_column: str,
    campaigns: Sequence[str],
    interaction_column: str,
    impression_value: str,
    click_value: str,
    conversion_value_column: str,
) -> pd.DataFrame:
    """One row per (user, campaign) sent, with the user's (unclamped) figures, computed on
    Spark: :func:`~privacy_profile.analytics.kpi.kpi_pairs` for Spark DataFrames, rows in the
    same order (each pair's first send: the sends frame's :data:`POSITION` column when it has
    one, else its partition order; give a frame with a stable partitioning, e.g. a file read).
    The pairs are joined on Spark; one row per pair is collected."""
    from pyspark.sql import functions as F

    unit, camp = unit_column, campaign_column
    _check_columns(sends, [unit, camp], table="sends")
    _check_columns(interactions, [unit, camp, interaction_column], table="interactions")
    _check_columns(conversions, [unit, camp, conversion_value_column], table="conversions")
    value = _col(conversion_value_column).try_cast("double")
    _refuse(
        conversions,
        [
            (
                value.isNull() | F.isnan(value),
                f"conversion column {conversion_value_column!r} has missing values",
                None,
            )
        ],
    )
    pos = F.col(POSITION) if POSITION in sends.columns else F.monotonically_increasing_id()
    keys = (_U, _C)
    sent = (
        sends.select(_col(unit).alias(_U), _col(camp).alias(_C), pos.alias(POSITION))
        .where(_col_isin(_C, campaigns))
        .groupBy(_U, _C)
        .agg(F.min(POSITION).alias(POSITION))
    )
    kind = _col(interaction_column).cast("string")
    flags = []
    for name, which in (("impressed", impression_value), ("clicked", click_value)):
        flags.append(
            interactions.where(kind == F.lit(which))
            .select(_col(unit).alias(_U), _col(camp).alias(_C))
            .distinct()
            .withColumn(name, F.lit(1.0))
        )
    conv = (
        conversions.select(_col(unit).alias(_U), _col(camp).alias(_C), value.alias(_V))
        .where(F.col(_U).isNotNull() & F.col(_C).isNotNull())  # as a pandas groupby drops them
        .groupBy(_U, _C)
        .agg(F.count(F.lit(1)).cast("double").alias("orders"), F.sum(_V).alias("revenue"))
    )
    out = sent
    for right in (*flags, conv):
        out = _left_join(out, right, keys)
    got = _collect(out).sort_values(POSITION, kind="stable")
    frame = pd.DataFrame({unit: got[_U].to_numpy(), camp: got[_C].to_numpy()})
    for name in PAIR_FIGURES:
        frame[name] = pd.to_numeric(got[name]).fillna(0.0).to_numpy(dtype=np.float64)
    return frame


def _col_isin(name: str, values: Sequence[Hashable]) -> Any:
    from pyspark.sql import functions as F

    return F.col(name).isin(list(values))
