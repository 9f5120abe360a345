"""The segment stage on tables kept by Spark: each table's subject column renamed to the unit
column on Spark (:class:`UnitColumnTable`), the pre-flight's exact unit counts as Spark
aggregations (one number back per count), and the per-unit features of
:func:`~privacy_profile.spark.features.spark_compute_features` in the pandas table's order.

Nothing here collects a table's rows: counts come back as single numbers, and the per-unit
features table stays on Spark (:func:`spark_compute_features` collects only each unit's top
categories). The segment layer
calls these functions (through :mod:`privacy_profile.segments.remote`) for the
:class:`~privacy_profile.ingest.tables.RemoteTable` entries of a
:class:`~privacy_profile.ingest.tables.TableMap`; local (pandas) tables keep the pandas code.

pyspark is imported when a function runs, not with this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from privacy_profile.ingest.tables import RemoteTable
from privacy_profile.segments.features import FeatureParams, UnitFeatures
from privacy_profile.spark.features import spark_compute_features
from privacy_profile.spark.tables import RECORD, SparkTable

__all__ = [
    "UnitColumnTable",
    "active_units",
    "count_units",
    "distinct_rows",
    "spark_frame",
    "spark_unit_features",
    "unit_table",
    "value_presence",
]

_V = "_pp_value"


def _col(name: str) -> Any:
    """The column ``name`` taken literally (dots and backticks are not syntax)."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


@dataclass(frozen=True)
class UnitColumnTable:
    """A Spark table (:class:`SparkTable`) whose ``subject`` column is read as ``unit``
    (a column already named ``unit`` is dropped first, as
    :func:`~privacy_profile.segments.columns.with_unit_column` does for pandas): the rename
    happens on Spark when the frame is read; ``to_pandas`` renames the collected frame."""

    table: SparkTable
    subject: str
    unit: str

    @property
    def engine(self) -> str:
        return self.table.engine

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(
            self.unit if c == self.subject else c for c in self.table.columns if c != self.unit
        )

    @property
    def rows(self) -> int:
        return self.table.rows

    def frame(self, record_column: str | None = None) -> Any:
        """The rows as a Spark DataFrame with the renamed columns (``record_column``: as
        :meth:`SparkTable.frame`)."""
        df = self.table.frame(record_column)
        if self.unit in self.table.columns:
            df = df.drop(_col(self.unit))
        return df.withColumnRenamed(self.subject, self.unit)

    def distinct(self, columns: Sequence[str]) -> pd.DataFrame:
        """The distinct non-null combinations of ``columns``, collected (unit scale)."""
        return distinct_rows(self, columns)

    def with_links(self, column: str, mapping: pd.Series) -> UnitColumnTable:
        """The same rows with ``column``'s linked accounts replaced by their persons (the
        unit column is the underlying table's subject column)."""
        base = self.subject if column == self.unit else column
        return UnitColumnTable(self.table.with_links(base, mapping), self.subject, self.unit)

    def to_pandas(self) -> pd.DataFrame:
        """Every row in this process (record order), the subject column renamed."""
        frame = self.table.to_pandas()
        if self.unit in frame.columns:
            frame = frame.drop(columns=[self.unit])
        return frame.rename(columns={self.subject: self.unit})


def distinct_rows(table: RemoteTable, columns: Sequence[str]) -> pd.DataFrame:
    """The distinct non-null combinations of ``columns`` of a Spark table, collected through
    Arrow (unit scale: pseudonyms), as strings."""
    df = spark_frame(table).select(*[_col(c) for c in columns]).dropna().distinct()
    out: pd.DataFrame = df.toArrow().to_pandas()
    return out.astype("string") if len(out.columns) else out


def unit_table(table: RemoteTable, subject: str, unit: str) -> RemoteTable:
    """``table`` with its ``subject`` column read as ``unit`` (unchanged when they are the
    same, or ``subject`` is not one of its columns)."""
    if subject == unit or subject not in table.columns:
        return table
    if not isinstance(table, SparkTable):
        raise TypeError(f"not a Spark table: {type(table).__name__} (engine {table.engine!r})")
    return UnitColumnTable(table, subject, unit)


def spark_frame(table: RemoteTable, record_column: str | None = None) -> Any:
    """The Spark DataFrame of a Spark table (``record_column``: the input record number, where
    the table has one)."""
    if isinstance(table, SparkTable | UnitColumnTable):
        return table.frame(record_column)
    raise TypeError(f"not a Spark table: {type(table).__name__} (engine {table.engine!r})")


def count_units(
    table: RemoteTable, unit: str, *, status: str | None = None, values: Sequence[str] = ()
) -> int:
    """The number of distinct non-null ``unit`` values (exact: ``countDistinct``), over the
    rows whose ``status`` (as a string) is one of ``values`` when ``status`` is given; 0
    when a column is missing or no value is given."""
    from pyspark.sql import functions as F

    if unit not in table.columns:
        return 0
    df = spark_frame(table)
    if status is not None:
        if status not in table.columns or not values:
            return 0
        df = df.where(_col(status).cast("string").isin(list(values)))
    return int(df.agg(F.countDistinct(_col(unit))).collect()[0][0])


def has_status(table: RemoteTable, status: str, values: Sequence[str]) -> bool:
    """Whether some row's ``status`` (as a string) is one of ``values``."""
    if status not in table.columns or not values:
        return False
    df = spark_frame(table).where(_col(status).cast("string").isin(list(values)))
    return bool(df.limit(1).count())


def active_units(tables: Sequence[pd.DataFrame | RemoteTable], unit: str) -> int:
    """The number of distinct non-null ``unit`` values over all of ``tables`` (as strings;
    exact), counted on Spark; a local table's distinct units are sent to Spark (unit
    scale). Tables without the column count nothing."""
    from pyspark.sql import functions as F

    remote = [t for t in tables if not isinstance(t, pd.DataFrame) and unit in t.columns]
    if not remote:
        raise ValueError("active_units needs a Spark table")
    parts = [spark_frame(t).select(_col(unit).cast("string").alias(_V)) for t in remote]
    session = parts[0].sparkSession
    for t in tables:
        if isinstance(t, pd.DataFrame) and unit in t.columns:
            values = pd.DataFrame({_V: [str(v) for v in t[unit].dropna().unique().tolist()]})
            parts.append(session.createDataFrame(values, f"{_V} string"))
    union = parts[0]
    for more in parts[1:]:
        union = union.unionByName(more)
    return int(union.agg(F.countDistinct(F.col(_V))).collect()[0][0])


def value_presence(
    table: RemoteTable, column: str, domain: Sequence[str] | None
) -> tuple[bool, bool]:
    """Whether ``column`` has a non-null value, and one in ``domain`` (values as strings;
    True when no domain is given), in one Spark aggregation."""
    from pyspark.sql import functions as F

    values = spark_frame(table).select(_col(column).cast("string").alias(_V))
    value = F.col(_V)
    hit = value.isin(list(domain)) if domain else F.lit(domain is None)
    row = values.agg(
        F.count(value).alias("n"),
        F.count(F.when(value.isNotNull() & hit, F.lit(1))).alias("d"),
    ).collect()[0]
    return int(row["n"]) > 0, int(row["d"]) > 0


def _to_spark(session: Any, frame: pd.DataFrame) -> Any:
    """A local table as a Spark DataFrame (naive times as TIMESTAMP_NTZ, as staged tables
    hold them)."""
    df = session.createDataFrame(frame)
    for name, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.DatetimeTZDtype) or not pd.api.types.is_datetime64_dtype(dtype):
            continue
        df = df.withColumn(str(name), _col(str(name)).cast("timestamp_ntz"))
    return df


def spark_unit_features(
    tables: Mapping[str, pd.DataFrame | RemoteTable], params: FeatureParams
) -> UnitFeatures:
    """:func:`spark_compute_features` on the orders, events and subjects tables of
    ``tables`` (at least one of orders / events a Spark table): Spark tables read with their
    input record numbers (so units come in the pandas table's order), a local orders or
    events table sent to Spark, a local subjects table prepared on the driver (unit scale)
    and sent to Spark by :func:`spark_compute_features`."""
    c = params.columns
    data = {c.orders.table if c.orders else None, c.events.table if c.events else None}
    remote = [t for n, t in tables.items() if n in data and not isinstance(t, pd.DataFrame)]
    if not remote:
        raise ValueError("spark_unit_features needs a Spark orders or events table")
    session = spark_frame(remote[0]).sparkSession
    frames: dict[str, Any] = {}
    for name, table in tables.items():
        if isinstance(table, pd.DataFrame):
            frames[name] = table if name == c.users else _to_spark(session, table)
        else:
            frames[name] = spark_frame(table, record_column=RECORD)
    return spark_compute_features(frames, params, position_column=RECORD)
