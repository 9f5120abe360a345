"""Sanitized tables kept on Spark: :class:`SparkTable`, the
:class:`~privacy_profile.ingest.tables.RemoteTable` of the Spark engine.

A table sanitized on Spark stays in the Parquet files its executors staged (see
:mod:`privacy_profile.spark.ingest`); :meth:`SparkTable.frame` reads them as a Spark DataFrame,
and the stages written for Spark (segment features, analytics, DP aggregates) work on it there.
Only a stage without a Spark version collects it (:meth:`SparkTable.to_pandas`, pyarrow on the
driver, never through the JVM).

pyspark is imported when a method runs, not with this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["RECORD", "SparkTable"]

#: The column holding each row's 1-based input record number in the staged files (the pandas
#: table's order); :meth:`SparkTable.frame` drops it unless asked for it.
RECORD = "_pp_record"


@dataclass(frozen=True)
class SparkTable:
    """Rows of one sanitized table on Spark.

    ``source`` is a Spark DataFrame holding the table's columns (and, for staged files, the
    :data:`RECORD` column); ``files`` the staged Parquet files it was read from (collected
    with pyarrow), if any; ``subject_map`` replaces values of ``subject_column`` (identity
    links: account pseudonym -> person pseudonym) when the rows are read."""

    source: Any = field(repr=False)
    columns: tuple[str, ...]
    rows: int
    files: tuple[str, ...] = ()
    subject_column: str | None = None
    subject_map: pd.Series | None = field(default=None, repr=False)
    engine: str = "spark"

    @classmethod
    def of(cls, df: Any) -> SparkTable:
        """A table over any Spark DataFrame (counted once here)."""
        cols = tuple(c for c in df.columns if c != RECORD)
        return cls(source=df, columns=cols, rows=int(df.count()))

    def frame(self, record_column: str | None = None) -> Any:
        """The rows as a Spark DataFrame, with the table's columns (identity links applied);
        ``record_column`` also keeps the input record number under that name (staged tables)."""
        from pyspark.sql import functions as F

        df = self.source
        if self.subject_map is not None and len(self.subject_map) and self.subject_column:
            spark = df.sparkSession
            pairs = pd.DataFrame(
                {
                    "_pp_account": self.subject_map.index.astype(str),
                    "_pp_person": self.subject_map.astype(str).to_numpy(),
                }
            )
            links = spark.createDataFrame(pairs, "_pp_account string, _pp_person string")
            col = self.subject_column
            df = (
                df.join(F.broadcast(links), df[col] == links["_pp_account"], "left")
                .withColumn(col, F.coalesce(F.col("_pp_person"), df[col]))
                .drop("_pp_account", "_pp_person")
            )
        keep = [F.col(f"`{c}`") for c in self.columns]
        if record_column is not None and RECORD in df.columns:
            keep.append(F.col(RECORD).alias(record_column))
        return df.select(*keep)

    def distinct(self, columns: Sequence[str]) -> pd.DataFrame:
        """The distinct non-null combinations of ``columns``, collected (unit scale)."""
        df = self.frame().select(*[f"`{c}`" for c in columns]).dropna().distinct()
        out: pd.DataFrame = df.toArrow().to_pandas()
        return out.astype("string") if len(out.columns) else out

    def to_pandas(self) -> pd.DataFrame:
        """Every row in this process, in record order, with the pandas engine's dtypes."""
        if not self.files:
            return pd.DataFrame(self.frame().toArrow().to_pandas()).reset_index(drop=True)
        from privacy_profile.ingest.links import linked_ids
        from privacy_profile.spark.tasks import read_staged

        frame = read_staged(list(self.files))
        frame = frame.sort_values(RECORD, kind="stable") if RECORD in frame else frame
        frame = frame[list(self.columns)].reset_index(drop=True)
        if self.subject_map is not None and len(self.subject_map) and self.subject_column:
            frame[self.subject_column] = linked_ids(frame[self.subject_column], self.subject_map)
        return frame

    def with_links(self, column: str, mapping: pd.Series) -> SparkTable:
        """The same rows with ``column``'s linked accounts replaced by their persons."""
        return SparkTable(
            source=self.source,
            columns=self.columns,
            rows=self.rows,
            files=self.files,
            subject_column=column,
            subject_map=mapping,
            engine=self.engine,
        )
