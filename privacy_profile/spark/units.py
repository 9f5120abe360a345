""":class:`SparkUnitRows`: the :class:`~privacy_profile.segments.units.UnitRows` of the Spark
engine, one row per unit in a Spark DataFrame.

Batch functions run on the executors through ``mapInPandas`` (one Arrow batch at a time); a
fold sums its arrays inside each task and sends one array per partition to the driver. The
frame may carry a position column (:data:`POSITION`, each unit's place in the pandas table's
order): it is hidden from :attr:`SparkUnitRows.columns` and orders :meth:`values` and
:meth:`to_pandas`, so both engines give the same rows in the same order.

Timestamps without a zone (``timestamp_ntz``) reach batch functions as ``datetime64`` (the
pandas table's day columns); a Spark ``date`` column would reach them as Python dates, so day
columns are kept as ``timestamp_ntz``.

pyspark is imported when a method runs, not with this module.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy_profile.dp.aggregate import AggregateResult
from privacy_profile.segments.units import (
    BatchColumns,
    BatchFold,
    BatchPredicate,
    ColumnType,
)

__all__ = ["POSITION", "SparkUnitRows"]

#: The hidden column holding each unit's position in the pandas table's order.
POSITION = "_pp_unit_pos"

_FOLD = "_pp_fold"


def _col(name: str) -> Any:
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _field(name: str, kind: ColumnType) -> str:
    return "`" + name.replace("`", "``") + "` " + kind


def _typed(batch: pd.DataFrame, dtypes: tuple[tuple[str, str], ...]) -> pd.DataFrame:
    """``batch`` with the pandas ``dtypes`` of its columns named there (a copy where one
    changes)."""
    todo = {c: t for c, t in dtypes if c in batch.columns and str(batch[c].dtype) != t}
    return batch.astype(todo) if todo else batch


def _seen(batch: pd.DataFrame, dtypes: tuple[tuple[str, str], ...]) -> pd.DataFrame:
    """What a batch function sees of an Arrow batch: the columns without :data:`POSITION`,
    with the pandas ``dtypes``."""
    if POSITION in batch.columns:
        batch = batch.drop(columns=[POSITION])
    return _typed(batch, dtypes)


@dataclass(frozen=True)
class SparkUnitRows:
    """One row per unit in the Spark DataFrame ``frame`` (with the hidden :data:`POSITION`
    column where the unit order is known: a sort key, not necessarily ``0..n-1``).

    ``dtypes``: (column, pandas dtype) pairs restored where a batch reaches a function and in
    :meth:`to_pandas` (Arrow gives ``float64`` for a ``Float64`` column, ``object`` or ``str``
    for a ``string`` one): the per-unit features table declares the pandas engine's dtypes,
    so batches and collected rows have them; a column not named keeps Arrow's dtype."""

    frame: Any = field(repr=False)
    dtypes: tuple[tuple[str, str], ...] = ()

    def _keep_dtypes(
        self, dropped: Sequence[str] = (), only: Sequence[str] | None = None
    ) -> tuple[tuple[str, str], ...]:
        return tuple(
            (c, t) for c, t in self.dtypes if c not in dropped and (only is None or c in only)
        )

    @classmethod
    def of_pandas(cls, session: Any, frame: pd.DataFrame) -> SparkUnitRows:
        """``frame``'s rows on Spark in its order (the :data:`POSITION` column), naive
        ``datetime64`` columns as ``timestamp_ntz`` (tests and small tables)."""
        with_pos = frame.reset_index(drop=True).assign(
            **{POSITION: np.arange(len(frame), dtype=np.int64)}
        )
        df = session.createDataFrame(with_pos)
        for name, dtype in frame.dtypes.items():
            if pd.api.types.is_datetime64_dtype(dtype) and not isinstance(
                dtype, pd.DatetimeTZDtype
            ):
                df = df.withColumn(str(name), _col(str(name)).cast("timestamp_ntz"))
        return cls(df)

    @property
    def engine(self) -> str:
        return "spark"

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for c in self.frame.columns if c != POSITION)

    def _schema_with(self, schema: Mapping[str, ColumnType]) -> tuple[str, list[str]]:
        kept = [f for f in self.frame.schema.fields if f.name not in schema]
        parts = [_field(f.name, f.dataType.simpleString()) for f in kept]
        parts += [_field(n, t) for n, t in schema.items()]
        return ", ".join(parts), [f.name for f in kept]

    def with_columns(self, fn: BatchColumns, schema: Mapping[str, ColumnType]) -> SparkUnitRows:
        ddl, kept = self._schema_with(schema)
        names = list(schema)
        dtypes = self.dtypes

        def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            for b in batches:
                out = fn(_seen(b, dtypes))
                if list(out.columns) != names or len(out) != len(b):
                    raise ValueError(
                        f"a batch function returned columns {list(out.columns)} and "
                        f"{len(out)} rows; expected {names} and {len(b)} rows"
                    )
                new = b[kept].reset_index(drop=True)
                for n in names:
                    new[n] = out[n].to_numpy()
                yield new

        return SparkUnitRows(self.frame.mapInPandas(run, ddl), self._keep_dtypes(names))

    def where(self, fn: BatchPredicate) -> SparkUnitRows:
        ddl = self.frame.schema
        dtypes = self.dtypes

        def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            for b in batches:
                keep = np.asarray(
                    fn(_seen(b, dtypes)),
                    dtype=bool,
                )
                yield b.loc[keep]

        return SparkUnitRows(self.frame.mapInPandas(run, ddl), self.dtypes)

    def select(self, columns: Sequence[str]) -> SparkUnitRows:
        keep = [_col(c) for c in columns]
        if POSITION in self.frame.columns:
            keep.append(_col(POSITION))
        return SparkUnitRows(self.frame.select(*keep), self._keep_dtypes(only=columns))

    def fold(self, fn: BatchFold, shape: tuple[int, ...]) -> npt.NDArray[np.float64]:
        size = int(np.prod(shape))
        dtypes = self.dtypes

        def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            total = np.zeros(shape, dtype=np.float64)
            for b in batches:
                if not len(b):
                    continue
                part = np.asarray(
                    fn(_seen(b, dtypes)),
                    dtype=np.float64,
                )
                if part.shape != shape:
                    raise ValueError(f"a fold returned shape {part.shape}; expected {shape}")
                total += part
            yield pd.DataFrame({_FOLD: [total.reshape(-1).tolist()]})

        rows = self.frame.mapInPandas(run, f"{_FOLD} array<double>").collect()
        out = np.zeros(size, dtype=np.float64)
        for r in rows:
            out += np.asarray(r[_FOLD], dtype=np.float64)
        return out.reshape(shape)

    def _ordered(self, columns: Sequence[str]) -> pd.DataFrame:
        df = self.frame.select(*[_col(c) for c in columns], *self._position())
        got: pd.DataFrame = df.toArrow().to_pandas()
        if POSITION in got.columns:
            got = got.sort_values(POSITION, kind="stable").drop(columns=[POSITION])
        return _typed(got.reset_index(drop=True), self.dtypes)

    def _position(self) -> list[Any]:
        return [_col(POSITION)] if POSITION in self.frame.columns else []

    def values(self, column: str) -> npt.NDArray[np.float64]:
        got = self._ordered([column])[column]
        out: npt.NDArray[np.float64] = got.to_numpy(dtype=np.float64, na_value=np.nan)
        return out

    def count(self) -> int:
        return int(self.frame.count())

    def dp_aggregate(self, **kwargs: Any) -> AggregateResult:
        from privacy_profile.spark.aggregate import spark_dp_aggregate

        return spark_dp_aggregate(self.frame, **kwargs)

    def to_pandas(self) -> pd.DataFrame:
        return self._ordered(list(self.columns))
