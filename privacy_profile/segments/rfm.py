"""RFM-8: the eight classic value classes from high/low splits of recency, frequency and
monetary at DP quantiles (medians by default).

"High" R means recent: recency_days <= split. F and M are high when strictly above their
split. Only units with at least one paid order are classed. Released: the DP split points,
and per class the DP size and DP means of R, F, M with 95% intervals.

The per-unit features are a pandas table or rows kept by an engine
(:class:`~privacy_profile.segments.units.UnitRows`); one code path serves both. On kept rows
the population is a filter and the class a column computed batch by batch where the rows
are; the one unit-scale read is each feature's values for its split quantile (see
:func:`release_rfm`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy_profile.dp import (
    Aggregation,
    Bounds,
    MechanismRecord,
    MetricSpec,
    PrivacyLoss,
    ZcdpLoss,
    dp_quantiles,
)
from privacy_profile.segments._common import (
    ReleaseContext,
    SegmentDef,
    dp_segment_table,
    epsilon_of,
)
from privacy_profile.segments.units import UnitLabels, UnitRows, unit_rows

__all__ = [
    "RFM_CLASSES",
    "RFM_FEATURES",
    "RfmParams",
    "RfmRelease",
    "assign_rfm",
    "has_paid_order",
    "release_rfm",
    "rfm_population",
    "rfm_population_rows",
]

RFM_FEATURES: tuple[str, str, str] = ("recency_days", "frequency", "monetary")

#: (R high, F high, M high) -> class, in the order of docs/segments.md.
RFM_CLASSES: dict[tuple[bool, bool, bool], SegmentDef] = {
    (True, True, True): SegmentDef("important_value", "重要价值客户", "important value"),
    (True, False, True): SegmentDef("important_develop", "重要发展客户", "important develop"),
    (False, True, True): SegmentDef("important_retain", "重要保持客户", "important retain"),
    (False, False, True): SegmentDef("important_winback", "重要挽留客户", "important win-back"),
    (True, True, False): SegmentDef("general_value", "一般价值客户", "general value"),
    (True, False, False): SegmentDef("general_develop", "一般发展客户", "general develop"),
    (False, True, False): SegmentDef("general_retain", "一般保持客户", "general retain"),
    (False, False, False): SegmentDef("general_winback", "一般挽留客户", "general win-back"),
}


@dataclass(frozen=True, kw_only=True)
class RfmParams:
    """Public bounds, the split quantile and the epsilon weights of the RFM release."""

    recency_bounds: Bounds
    frequency_bounds: Bounds
    monetary_bounds: Bounds
    split_quantile: float = 0.5
    weight_splits: float = 1.0
    weight_sizes: float = 1.0
    weight_means: float = 1.0

    def bounds(self) -> dict[str, Bounds]:
        return dict(
            zip(
                RFM_FEATURES,
                (self.recency_bounds, self.frequency_bounds, self.monetary_bounds),
                strict=True,
            )
        )


@dataclass(frozen=True, kw_only=True)
class RfmRelease:
    """``table``: the segments table rows of the eight classes; ``splits``: the DP split
    point per feature; ``assignment``: class key per unit (internal, never released): a
    Series (class by unit) for a pandas features table, :class:`UnitLabels` for rows kept by
    an engine."""

    table: pd.DataFrame
    splits: dict[str, float]
    assignment: pd.Series | UnitLabels
    records: tuple[MechanismRecord, ...]


#: The class column a release adds to the per-unit rows.
CLASS_COLUMN = "rfm_class"


def has_paid_order(batch: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Per row: at least one paid order (pure, row-wise: the RFM population's filter)."""
    return np.asarray(batch["frequency"] > 0, dtype=bool)


def rfm_population(features: pd.DataFrame) -> pd.DataFrame:
    """Units with at least one paid order (the ones RFM classes), of a pandas table (its
    index kept); :func:`rfm_population_rows` for rows kept by an engine."""
    return features.loc[has_paid_order(features)]


def rfm_population_rows(features: UnitRows) -> UnitRows:
    """:func:`rfm_population` of rows kept by an engine (filtered where they are)."""
    return features.where(has_paid_order)


def assign_rfm(features: pd.DataFrame, splits: dict[str, float]) -> pd.Series:
    """Class key per row of ``features`` given split points (pure, no noise)."""
    r = features["recency_days"].to_numpy(dtype=np.float64, na_value=np.inf)
    f = features["frequency"].to_numpy(dtype=np.float64)
    m = features["monetary"].to_numpy(dtype=np.float64)
    r_hi = r <= splits["recency_days"]
    f_hi = f > splits["frequency"]
    m_hi = m > splits["monetary"]
    code: npt.NDArray[np.int64] = (
        (~r_hi).astype(np.int64) * 4 + (~f_hi).astype(np.int64) * 2 + (~m_hi).astype(np.int64)
    )
    keys = np.empty(8, dtype=object)
    for (rh, fh, mh), seg in RFM_CLASSES.items():
        keys[(not rh) * 4 + (not fh) * 2 + (not mh)] = seg.key
    return pd.Series(keys[code], index=features.index, dtype="string", name="rfm_class")


def _class_columns(batch: pd.DataFrame, *, splits: dict[str, float]) -> pd.DataFrame:
    """The class and the three features as floats, of a batch of the population's rows (the
    columns the class table aggregates; runs where the rows are)."""
    return pd.DataFrame(
        {
            CLASS_COLUMN: assign_rfm(batch, splits).to_numpy(),
            **{n: batch[n].to_numpy(dtype=np.float64) for n in RFM_FEATURES},
        }
    )


def release_rfm(
    features: pd.DataFrame | UnitRows,
    params: RfmParams,
    *,
    loss: PrivacyLoss | ZcdpLoss,
    ctx: ReleaseContext,
) -> RfmRelease:
    """DP split points (quantiles), then DP size and means per class. Under zCDP the family's
    rho is split by the same weights: each split quantile is an exponential mechanism at
    epsilon sqrt(2 rho_q) charged rho_q, the sizes and means get discrete Gaussian noise.

    ``features``: a pandas table, or rows kept by an engine (:class:`UnitRows`). The
    population and the classes are computed where the rows are (a filter, then a column per
    batch with :func:`assign_rfm`), the class sizes and means aggregated there
    (:func:`dp_segment_table`). What reaches this process per unit: each feature's values
    for its split, one float (8 bytes) per unit of the population, three times, because the
    exponential-mechanism quantile (:func:`~privacy_profile.dp.dp_quantiles`) scores every
    candidate interval between sorted values. The assignment is then :class:`UnitLabels`."""
    local = isinstance(features, pd.DataFrame)
    pop = rfm_population_rows(unit_rows(features))
    total = params.weight_splits + params.weight_sizes + params.weight_means
    split_w = params.weight_splits / total / 3.0
    agg_w = (params.weight_sizes + params.weight_means) / total
    split_loss: PrivacyLoss | ZcdpLoss
    agg_loss: PrivacyLoss | ZcdpLoss
    if isinstance(loss, ZcdpLoss):
        split_loss, agg_loss = ZcdpLoss(rho=loss.rho * split_w), ZcdpLoss(rho=loss.rho * agg_w)
    else:
        split_loss = PrivacyLoss(epsilon=loss.epsilon * split_w)
        agg_loss = PrivacyLoss(epsilon=loss.epsilon * agg_w)
    records: list[MechanismRecord] = []
    splits: dict[str, float] = {}
    for name, bounds in params.bounds().items():
        values = pop.values(name)  # the one unit-scale read: sorted by the quantile
        q = dp_quantiles(
            np.clip(values, bounds.lower, bounds.upper),
            bounds=bounds,
            quantiles=[params.split_quantile],
            loss=split_loss,
            ledger=ctx.ledger,
            run_id=ctx.run_id,
            rng=ctx.rng,
            label=f"rfm/split:{name}",
        )
        splits[name] = q.values[0]
        records.extend(q.records)
    labelled = pop.with_columns(
        partial(_class_columns, splits=splits),
        {CLASS_COLUMN: "string", **dict.fromkeys(RFM_FEATURES, "double")},
    )
    units = labelled.select([ctx.unit_column, CLASS_COLUMN, *RFM_FEATURES])
    metrics = [
        MetricSpec(aggregation=Aggregation.MEAN, column=n, bounds=b, name=f"mean_{n}")
        for n, b in params.bounds().items()
    ]
    # one row per unit: the distinct-unit count is also the means' denominator
    means_each = params.weight_means / 3.0
    weights = {"privacy_id_count": params.weight_sizes}
    weights.update({f"sum:{n}": means_each for n in RFM_FEATURES})
    table, recs = dp_segment_table(
        units,
        family="rfm",
        segments=list(RFM_CLASSES.values()),
        segment_column=CLASS_COLUMN,
        loss=agg_loss,
        ctx=ctx,
        metrics=metrics,
        weights=weights,
        label="rfm/classes",
    )
    table["epsilon"] = epsilon_of(loss)
    for name, value in splits.items():
        table[f"split_{name}"] = value
    records.extend(recs)
    # the population's rows with their class (the tag columns too: personas aggregate them)
    assignment: pd.Series | UnitLabels = UnitLabels(labelled, ctx.unit_column, CLASS_COLUMN)
    if local:  # the pandas engine's rows are in this process already
        got = units.to_pandas()
        assignment = pd.Series(got[CLASS_COLUMN].to_numpy(), index=got[ctx.unit_column].to_numpy())
    return RfmRelease(
        table=table,
        splits=splits,
        assignment=assignment,
        records=tuple(records),
    )
