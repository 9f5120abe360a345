"""Building blocks on one value per privacy unit, and categorical histograms / top-k.

``dp_count``, ``dp_sum`` and ``dp_mean`` take exactly one row per unit (a per-user feature
table); for several rows per unit, or per-group results, use :func:`dp_aggregate`.
``dp_histogram`` and ``dp_top_k`` count distinct units per category over public categories.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy_profile.dp.aggregate import AggregateResult, dp_aggregate
from privacy_profile.dp.ledger import BudgetLedger, Charge
from privacy_profile.dp.mechanisms import MechanismRecord
from privacy_profile.dp.model import (
    Aggregation,
    Bounds,
    MetricSpec,
    PrivacyLoss,
    PrivacyUnit,
    PublicGroups,
)
from privacy_profile.dp.rng import DPRandom

__all__ = ["Released", "dp_count", "dp_histogram", "dp_mean", "dp_sum", "dp_top_k"]

_UNIT = "__unit__"
_GROUP = "__all__"
_VALUE = "__value__"


@dataclass(frozen=True, kw_only=True)
class Released:
    """One released number with its noise standard deviation and 95% interval."""

    value: float
    noise_sd: float
    low: float
    high: float
    records: tuple[MechanismRecord, ...]
    charges: tuple[Charge, ...]


def _single(
    aggregation: Aggregation,
    *,
    values: npt.ArrayLike | None = None,
    n_units: int = 0,
    bounds: Bounds | None = None,
    loss: PrivacyLoss,
    ledger: BudgetLedger,
    run_id: str,
    rng: DPRandom | None,
    label: str,
) -> Released:
    """One statistic over one row per unit: ``values`` (one per unit, clamped to ``bounds``)
    or, for a count, ``n_units`` rows without values. Runs :func:`dp_aggregate` on one
    public group."""
    v = None if values is None else np.asarray(values, dtype=np.float64).ravel()
    n = n_units if v is None else v.shape[0]
    data: dict[str, npt.NDArray[Any]] = {_UNIT: np.arange(n), _GROUP: np.zeros(n, dtype=np.int64)}
    if v is None:
        metric = MetricSpec(aggregation=aggregation)
    else:
        data[_VALUE] = v
        metric = MetricSpec(
            aggregation=aggregation, column=_VALUE, bounds=bounds, name=aggregation.value
        )
    res = dp_aggregate(
        pd.DataFrame(data),
        unit=PrivacyUnit.one_row_per_unit(_UNIT),
        by=[_GROUP],
        metrics=[metric],
        loss=loss,
        ledger=ledger,
        run_id=run_id,
        groups=PublicGroups(keys=((0,),)),
        threshold=0,  # one public statistic over everyone: nothing to suppress
        rng=rng,
        label=label,
    )
    name = metric.output_name
    row = res.table.iloc[0]
    return Released(
        value=float(row[name]),
        noise_sd=float(row[f"{name}_noise_sd"]),
        low=float(row[f"{name}_low"]),
        high=float(row[f"{name}_high"]),
        records=res.records,
        charges=res.charges,
    )


def dp_count(
    n_units: int,
    *,
    loss: PrivacyLoss,
    ledger: BudgetLedger,
    run_id: str,
    rng: DPRandom | None = None,
    label: str = "dp_count",
) -> Released:
    """DP count of ``n_units`` distinct units (discrete Laplace, sensitivity 1)."""
    return _single(
        Aggregation.PRIVACY_ID_COUNT,
        n_units=int(n_units),
        loss=loss,
        ledger=ledger,
        run_id=run_id,
        rng=rng,
        label=label,
    )


def dp_sum(
    values_per_unit: npt.ArrayLike,
    *,
    bounds: Bounds,
    loss: PrivacyLoss,
    ledger: BudgetLedger,
    run_id: str,
    rng: DPRandom | None = None,
    label: str = "dp_sum",
) -> Released:
    """DP sum of one value per unit, clamped to ``bounds``. Spends the loss on a count and a
    centred sum (see :mod:`privacy_profile.dp.aggregate`)."""
    return _single(
        Aggregation.SUM,
        values=values_per_unit,
        bounds=bounds,
        loss=loss,
        ledger=ledger,
        run_id=run_id,
        rng=rng,
        label=label,
    )


def dp_mean(
    values_per_unit: npt.ArrayLike,
    *,
    bounds: Bounds,
    loss: PrivacyLoss,
    ledger: BudgetLedger,
    run_id: str,
    rng: DPRandom | None = None,
    label: str = "dp_mean",
) -> Released:
    """DP mean of one value per unit, clamped to ``bounds``."""
    return _single(
        Aggregation.MEAN,
        values=values_per_unit,
        bounds=bounds,
        loss=loss,
        ledger=ledger,
        run_id=run_id,
        rng=rng,
        label=label,
    )


def dp_histogram(
    df: pd.DataFrame,
    *,
    unit: PrivacyUnit,
    column: str,
    categories: Sequence[Hashable],
    loss: PrivacyLoss,
    ledger: BudgetLedger,
    run_id: str,
    threshold: int,
    rng: DPRandom | None = None,
    label: str = "dp_histogram",
) -> AggregateResult:
    """Distinct units per public category (each unit counted in at most
    ``unit.max_groups_contributed`` categories). Column ``privacy_id_count`` holds the counts.
    ``threshold`` (required) is the minimum noisy count of a released category (0: all)."""
    return dp_aggregate(
        df,
        unit=unit,
        by=[column],
        metrics=[],
        loss=loss,
        ledger=ledger,
        run_id=run_id,
        groups=PublicGroups.of(list(categories)),
        threshold=threshold,
        rng=rng,
        label=label,
    )


def dp_top_k(
    df: pd.DataFrame,
    *,
    unit: PrivacyUnit,
    column: str,
    categories: Sequence[Hashable],
    k: int,
    loss: PrivacyLoss,
    ledger: BudgetLedger,
    run_id: str,
    threshold: int,
    rng: DPRandom | None = None,
    label: str = "dp_top_k",
) -> AggregateResult:
    """The ``k`` categories with the largest noisy distinct-unit counts (post-processing of
    :func:`dp_histogram`, so it costs exactly the histogram's loss; ties keep the declared
    category order)."""
    res = dp_histogram(
        df,
        unit=unit,
        column=column,
        categories=categories,
        loss=loss,
        ledger=ledger,
        run_id=run_id,
        threshold=threshold,
        rng=rng,
        label=label,
    )
    top = res.table.sort_values("privacy_id_count", ascending=False, kind="stable").head(k)
    return AggregateResult(
        table=top.reset_index(drop=True),
        records=res.records,
        charges=res.charges,
        selection_threshold=res.selection_threshold,
    )
