"""One row per unit where its engine keeps the rows: :class:`UnitRows`, the few operations the
segment families need over the per-unit features table, so that a family is written once and
runs on pandas (:class:`LocalUnitRows`) or on Spark
(:class:`~privacy_profile.spark.units.SparkUnitRows`).

The operations (PipelineDP's backend seam, at unit scale):

* :meth:`UnitRows.with_columns`: columns computed by a pure, row-wise pandas function of a
  batch of rows (one output row per input row, in the batch's order). On Spark each batch is
  an Arrow batch of ``mapInPandas``; the function sees the columns with the dtypes the pandas
  table has (strings, ``float64`` / ``Float64``, ``int64``, ``datetime64`` days).
* :meth:`UnitRows.where`: the rows a pure, row-wise predicate keeps.
* :meth:`UnitRows.fold`: the sum over batches of a pure function of a batch returning a fixed
  shape array: counts and sums per group (a k-means iteration's per-cluster sums) come back
  as one small array, never as rows.
* :meth:`UnitRows.values`: one numeric column collected (8 bytes a unit: the DP quantiles read
  sorted values).
* :meth:`UnitRows.dp_aggregate`: :func:`privacy_profile.dp.dp_aggregate` on the rows
  (:func:`~privacy_profile.spark.aggregate.spark_dp_aggregate` on Spark: true aggregates by
  ``groupBy``, noise on the driver).
* :meth:`UnitRows.to_pandas`: every row in this process, in unit order (a family without an
  engine version; the run's notes say so).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy_profile.dp import dp_aggregate
from privacy_profile.dp.aggregate import AggregateResult

__all__ = [
    "BatchColumns",
    "BatchFold",
    "BatchPredicate",
    "ColumnType",
    "LocalUnitRows",
    "UnitLabels",
    "UnitRows",
    "as_series",
    "unit_rows",
]

ColumnType: TypeAlias = Literal["string", "double", "long", "boolean", "timestamp_ntz"]
"""The type of a computed column (a Spark SQL type name; pandas: ``string``, ``float64``,
``int64``, ``boolean``, ``datetime64``)."""

BatchColumns: TypeAlias = Callable[[pd.DataFrame], pd.DataFrame]
"""Pure and row-wise: a batch of rows -> the new columns, one row per input row, same order."""

BatchPredicate: TypeAlias = Callable[[pd.DataFrame], "npt.NDArray[np.bool_]"]
"""Pure and row-wise: a batch of rows -> a boolean array, True for the rows kept."""

BatchFold: TypeAlias = Callable[[pd.DataFrame], "npt.NDArray[np.float64]"]
"""Pure: a batch of rows -> an array of a fixed shape; the batches' arrays are summed."""


@runtime_checkable
class UnitRows(Protocol):
    """One row per unit (the per-unit features table), kept by an engine."""

    @property
    def engine(self) -> str:
        """The engine keeping the rows (``pandas``, ``spark``)."""
        ...

    @property
    def columns(self) -> tuple[str, ...]:
        """The column names."""
        ...

    def with_columns(self, fn: BatchColumns, schema: Mapping[str, ColumnType]) -> UnitRows:
        """The rows with the columns ``fn`` computes added (replaced where they exist);
        ``schema`` names them, in ``fn``'s output order, with their types."""
        ...

    def where(self, fn: BatchPredicate) -> UnitRows:
        """The rows ``fn`` keeps, in the same order."""
        ...

    def select(self, columns: Sequence[str]) -> UnitRows:
        """The rows with only ``columns``."""
        ...

    def fold(self, fn: BatchFold, shape: tuple[int, ...]) -> npt.NDArray[np.float64]:
        """The sum of ``fn`` over the batches of rows (zeros of ``shape`` for no rows)."""
        ...

    def values(self, column: str) -> npt.NDArray[np.float64]:
        """``column`` as floats (missing: NaN), in unit order."""
        ...

    def count(self) -> int:
        """The number of rows."""
        ...

    def dp_aggregate(self, **kwargs: Any) -> AggregateResult:
        """:func:`privacy_profile.dp.dp_aggregate` over the rows (the same keyword
        arguments, without the frame)."""
        ...

    def to_pandas(self) -> pd.DataFrame:
        """Every row in this process, in unit order, with a fresh ``RangeIndex``."""
        ...


def _check_columns(out: pd.DataFrame, schema: Mapping[str, ColumnType], rows: int) -> None:
    if list(out.columns) != list(schema) or len(out) != rows:
        raise ValueError(
            f"a batch function returned columns {list(out.columns)} and {len(out)} rows; "
            f"expected {list(schema)} and {rows} rows"
        )


@dataclass(frozen=True)
class LocalUnitRows:
    """:class:`UnitRows` over a pandas frame in this process (the whole frame is one batch)."""

    frame: pd.DataFrame

    @property
    def engine(self) -> str:
        return "pandas"

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.frame.columns)

    def with_columns(self, fn: BatchColumns, schema: Mapping[str, ColumnType]) -> LocalUnitRows:
        out = fn(self.frame)
        _check_columns(out, schema, len(self.frame))
        return LocalUnitRows(self.frame.assign(**{str(c): out[c].to_numpy() for c in out}))

    def where(self, fn: BatchPredicate) -> LocalUnitRows:
        keep = np.asarray(fn(self.frame), dtype=bool)
        return LocalUnitRows(self.frame.loc[keep].reset_index(drop=True))

    def select(self, columns: Sequence[str]) -> LocalUnitRows:
        return LocalUnitRows(self.frame[list(columns)])

    def fold(self, fn: BatchFold, shape: tuple[int, ...]) -> npt.NDArray[np.float64]:
        if not len(self.frame):
            return np.zeros(shape, dtype=np.float64)
        out = np.asarray(fn(self.frame), dtype=np.float64)
        if out.shape != shape:
            raise ValueError(f"a fold returned shape {out.shape}; expected {shape}")
        return out

    def values(self, column: str) -> npt.NDArray[np.float64]:
        out: npt.NDArray[np.float64] = self.frame[column].to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        return out

    def count(self) -> int:
        return len(self.frame)

    def dp_aggregate(self, **kwargs: Any) -> AggregateResult:
        return dp_aggregate(self.frame, **kwargs)

    def to_pandas(self) -> pd.DataFrame:
        return self.frame.reset_index(drop=True)


def unit_rows(table: pd.DataFrame | UnitRows) -> UnitRows:
    """``table`` as :class:`UnitRows` (a pandas frame: :class:`LocalUnitRows`)."""
    if isinstance(table, pd.DataFrame):
        return LocalUnitRows(table)
    return table


@dataclass(frozen=True)
class UnitLabels:
    """A family's label per unit where the engine keeps it: ``column`` of ``rows`` (one row per
    labelled unit, ``unit`` its unit column). The pandas engine's families give a
    ``pd.Series`` (label by unit) instead; :func:`as_series` reads either."""

    rows: UnitRows
    unit: str
    column: str

    def to_series(self) -> pd.Series:
        """The labels in this process: label by unit, in unit order (collects two columns)."""
        got = self.rows.select([self.unit, self.column]).to_pandas()
        return pd.Series(got[self.column].to_numpy(), index=got[self.unit].to_numpy())


def as_series(assignment: pd.Series | UnitLabels) -> pd.Series:
    """A family's assignment as a pandas Series (label by unit)."""
    if isinstance(assignment, UnitLabels):
        return assignment.to_series()
    return assignment
