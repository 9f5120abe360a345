"""DP aggregation on Spark: :func:`spark_dp_aggregate` is :func:`privacy_profile.dp.dp_aggregate`
for a Spark DataFrame, under the same losses (pure epsilon-delta, or zCDP).

Driver first: the parameters and columns are checked and the budget plan is made (pure, no
data: :func:`~privacy_profile.dp.aggregate.plan_budget`, so a refused request, such as private
selection under zCDP, runs no Spark job). One small Spark job counts missing units and values
(null, or NaN in a floating-point column; values in the rows the pandas path reads: with a key
in every ``by`` column, in a public group if listed), refused with nothing spent. Then the plan
is charged to the ledger by :func:`~privacy_profile.dp.aggregate.charge_parts` (epsilon and
delta, or rho per part under zCDP: the pandas path's rows and labels) before Spark bounds or
aggregates anything.
Then on the cluster, contribution bounding with secure random keys (never a data-dependent
order): (1) the (unit, group) pairs are formed by ``groupBy``; each pair gets a key drawn from
the operating system's entropy source (:class:`~privacy_profile.dp.rng.DPRandom`, built in
each Python task) and a window per unit keeps the ``max_groups_contributed`` pairs with the
smallest keys, a uniformly random subset; (2) every row of a kept pair gets its own secure key
and a window per pair keeps ``max_rows_per_group`` rows the same way. The true bounded
statistics (distinct units, rows, clamped and centred sums) are ``groupBy`` aggregates; the
small per-group table is collected and noise (discrete Laplace, or discrete Gaussian under
zCDP), selection and thresholds are applied on the driver by
:func:`~privacy_profile.dp.aggregate.release_aggregates`, the pandas path's own code.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy_profile.dp.aggregate import (
    COUNT_PART,
    ROWS_PART,
    AggregateResult,
    BudgetPlan,
    charge_parts,
    check_request,
    missing_unit_error,
    missing_value_error,
    plan_budget,
    release_aggregates,
)
from privacy_profile.dp.ledger import BudgetLedger
from privacy_profile.dp.mechanisms import grid_units
from privacy_profile.dp.model import (
    MetricSpec,
    PrivacyLoss,
    PrivacyUnit,
    PrivateSelection,
    PublicGroups,
    ZcdpLoss,
)
from privacy_profile.dp.rng import DPRandom
from privacy_profile.errors import PrivacyParameterError

__all__ = ["spark_dp_aggregate"]

_KEY = "_pp_random_key"


def _missing(frame: Any, column: str) -> Any:
    """True where ``column`` is missing: null, or NaN in a floating-point column (the pandas
    path's missing values)."""
    from pyspark.sql import functions as F

    col = F.col(column)
    if dict(frame.dtypes)[column] in ("double", "float"):
        return col.isNull() | F.isnan(col)
    return col.isNull()


def _with_secure_key(frame: Any) -> Any:
    """``frame`` plus a column of uniform keys from a fresh secure generator per task."""
    schema = f"{frame.schema.simpleString()[len('struct<') : -1]},{_KEY}:double"

    def add_key(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        rng = DPRandom()  # 256 bits from the OS entropy source, in this task
        for b in batches:
            yield b.assign(**{_KEY: rng.random(len(b))})

    return frame.mapInPandas(add_key, schema)


def _bounded_statistics(
    sdf: Any, unit: PrivacyUnit, by: list[str], parts: Sequence[Any]
) -> pd.DataFrame:
    """The true bounded statistics per data group (one row per group, a column per part)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    k, m = unit.max_groups_contributed, unit.max_rows_per_group
    pair_cols = [unit.column, *by]
    pairs = _with_secure_key(sdf.select(*pair_cols).distinct())
    kept_pairs = (
        pairs.withColumn(
            "_rank", F.row_number().over(Window.partitionBy(unit.column).orderBy(_KEY))
        )
        .where(F.col("_rank") <= k)
        .select(*pair_cols)
    )
    rows = _with_secure_key(sdf.join(kept_pairs, on=pair_cols, how="inner"))
    kept_rows = rows.withColumn(
        "_rank", F.row_number().over(Window.partitionBy(*pair_cols).orderBy(_KEY))
    ).where(F.col("_rank") <= m)
    aggs = [F.countDistinct(unit.column).alias(COUNT_PART), F.count(F.lit(1)).alias(ROWS_PART)]
    for p in parts:
        if p.name in (COUNT_PART, ROWS_PART):
            continue
        if p.bounds is None or p.column is None:
            raise PrivacyParameterError(f"budget part {p.name!r} has no column or bounds")
        if p.step is None:
            raise PrivacyParameterError(f"budget part {p.name!r} has no grid step")
        clamped = F.least(
            F.greatest(F.col(p.column).cast("double"), F.lit(float(p.bounds.lower))),
            F.lit(float(p.bounds.upper)),
        )
        # the pandas path's grid: centred, rounded half to even (rint), clamped, integer units
        cap = float(grid_units(p.bounds.half_width, p.step))
        units = F.rint((clamped - F.lit(float(p.bounds.midpoint))) / F.lit(float(p.step)))
        units = F.least(F.greatest(units, F.lit(-cap)), F.lit(cap)).cast("long")
        aggs.append(F.sum(units).alias(p.name))
    grouped = kept_rows.groupBy(*by).agg(*aggs) if by else kept_rows.agg(*aggs)
    collected = grouped.collect()  # one row per group: small
    cols = [*by, *(a for a in [COUNT_PART, ROWS_PART] + [p.name for p in parts])]
    data = {c: [r[c] if c in r.asDict() else None for r in collected] for c in dict.fromkeys(cols)}
    return pd.DataFrame(data)


def spark_dp_aggregate(
    sdf: Any,
    *,
    unit: PrivacyUnit,
    by: Sequence[str],
    metrics: Sequence[MetricSpec],
    loss: PrivacyLoss | ZcdpLoss,
    ledger: BudgetLedger,
    run_id: str,
    groups: PublicGroups | PrivateSelection,
    threshold: int,
    rng: DPRandom | None = None,
    weights: Mapping[str, float] | None = None,
    label: str = "dp_aggregate",
) -> AggregateResult:
    """Grouped DP aggregation of the Spark DataFrame ``sdf`` (see the module docstring);
    the same parameters, losses and result as :func:`privacy_profile.dp.dp_aggregate`."""

    by = list(by)
    value_cols = check_request(
        sdf.columns, unit=unit, by=by, metrics=metrics, groups=groups, threshold=threshold
    )
    rng = rng if rng is not None else DPRandom()
    # 1. the plan (pure): a request the plan refuses runs no Spark job
    plan = plan_budget(unit=unit, metrics=metrics, loss=loss, groups=groups, weights=weights)
    # the rows the pandas path reads: a key in every `by` column, in a public group if listed.
    # Stored on the executors' disks by the first job (the missing-value check) and read back
    # by the bounding's jobs, so a frame computed upstream (per-batch labels of unit rows, a
    # join) is computed once, not once per branch; on disk only (see spark/features.py)
    from pyspark import StorageLevel

    data = sdf.select(unit.column, *by, *value_cols).persist(StorageLevel.DISK_ONLY)
    try:
        return _aggregate_kept(
            data,
            unit=unit,
            by=by,
            metrics=metrics,
            value_cols=value_cols,
            plan=plan,
            ledger=ledger,
            run_id=run_id,
            groups=groups,
            threshold=threshold,
            rng=rng,
            label=label,
        )
    finally:
        data.unpersist()


def _aggregate_kept(
    data: Any,
    *,
    unit: PrivacyUnit,
    by: list[str],
    metrics: Sequence[MetricSpec],
    value_cols: Sequence[str],
    plan: BudgetPlan,
    ledger: BudgetLedger,
    run_id: str,
    groups: PublicGroups | PrivateSelection,
    threshold: int,
    rng: DPRandom,
    label: str,
) -> AggregateResult:
    """:func:`spark_dp_aggregate` from the selected rows on: the missing-value check, the
    charge, the bounding and the release."""
    from pyspark.sql import functions as F

    in_groups = F.lit(True)
    for c in by:
        in_groups = in_groups & ~_missing(data, c)
    if isinstance(groups, PublicGroups):
        keys_out: list[tuple[Hashable, ...]] = list(groups.keys)
        if by:
            # literals of the columns' own types and names (an int key against a bigint column)
            types = {f.name: f.dataType for f in data.schema.fields}
            in_groups = in_groups & F.struct(*[F.col(c) for c in by]).isin(
                [
                    F.struct(
                        *[F.lit(v).cast(types[c]).alias(c) for c, v in zip(by, key, strict=True)]
                    )
                    for key in keys_out
                ]
            )
    # rows without a unit, or read rows without a value, are refused before the charge
    missing = data.select(
        F.sum(_missing(data, unit.column).cast("long")).alias("_pp_missing_0"),
        *[
            F.sum((in_groups & _missing(data, c)).cast("long")).alias(f"_pp_missing_{i}")
            for i, c in enumerate(value_cols, start=1)
        ],
    ).collect()[0]
    if missing[0]:
        raise missing_unit_error(unit)
    for i, c in enumerate(value_cols, start=1):
        if missing[i]:
            raise missing_value_error(c)

    # charge on the driver, as the pandas path does: nothing below runs if the budget refuses
    charges = charge_parts(ledger, plan.parts, run_id=run_id, label=label)
    data = data.where(in_groups)

    # 2.-3. bounding and true statistics on the cluster
    stats = _bounded_statistics(data, unit, by, plan.parts)
    data_keys = [tuple(r) for r in stats[by].itertuples(index=False, name=None)] if by else [()]
    if not isinstance(groups, PublicGroups):
        order = sorted(range(len(data_keys)), key=lambda i: tuple(map(str, data_keys[i])))
        keys_out = [data_keys[i] for i in order]
    index = {key: i for i, key in enumerate(keys_out)}
    true_stats: dict[str, npt.NDArray[Any]] = {}
    for p in plan.parts:
        arr = np.zeros(
            len(keys_out), dtype=np.int64 if p.name in (COUNT_PART, ROWS_PART) else np.float64
        )
        for key, v in zip(data_keys, stats[p.name].tolist(), strict=True):
            if key in index and v is not None:
                arr[index[key]] = v
        true_stats[p.name] = arr

    # 4.-5. noise, selection and threshold on the driver: the pandas path's code
    return release_aggregates(
        plan,
        metrics,
        true_stats,
        keys_out,
        by,
        public=isinstance(groups, PublicGroups),
        threshold=threshold,
        rng=rng,
        label=label,
        charges=charges,
    )
