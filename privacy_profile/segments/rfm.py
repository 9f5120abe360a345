"""RFM-8: the eight classic value classes from high/low splits of recency, frequency and
monetary at DP quantiles (medians by default).

"High" R means recent: recency_days <= split. F and M are high when strictly above their
split. Only units with at least one paid order are classed. Released: the DP split points,
and per class the DP size and DP means of R, F, M with 95% intervals.
"""

from __future__ import annotations

from dataclasses import dataclass

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

__all__ = [
    "RFM_CLASSES",
    "RFM_FEATURES",
    "RfmParams",
    "RfmRelease",
    "assign_rfm",
    "release_rfm",
    "rfm_population",
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
    point per feature; ``assignment``: class key per unit (internal, never released)."""

    table: pd.DataFrame
    splits: dict[str, float]
    assignment: pd.Series
    records: tuple[MechanismRecord, ...]


def rfm_population(features: pd.DataFrame) -> pd.DataFrame:
    """Units with at least one paid order (the ones RFM classes)."""
    return features.loc[features["frequency"] > 0]


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


def release_rfm(
    features: pd.DataFrame,
    params: RfmParams,
    *,
    loss: PrivacyLoss | ZcdpLoss,
    ctx: ReleaseContext,
) -> RfmRelease:
    """DP split points (quantiles), then DP size and means per class. Under zCDP the family's
    rho is split by the same weights: each split quantile is an exponential mechanism at
    epsilon sqrt(2 rho_q) charged rho_q, the sizes and means get discrete Gaussian noise."""
    pop = rfm_population(features)
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
        values = pop[name].to_numpy(dtype=np.float64, na_value=np.nan)
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
    assignment = assign_rfm(pop, splits)
    units = pd.DataFrame(
        {
            ctx.unit_column: pop[ctx.unit_column].to_numpy(),
            "rfm_class": assignment.to_numpy(),
            **{n: pop[n].to_numpy(dtype=np.float64) for n in RFM_FEATURES},
        }
    )
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
        segment_column="rfm_class",
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
    return RfmRelease(
        table=table,
        splits=splits,
        assignment=pd.Series(assignment.to_numpy(), index=pop[ctx.unit_column].to_numpy()),
        records=tuple(records),
    )
