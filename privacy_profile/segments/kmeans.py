"""DP k-means (diffprivlib's ``KMeans``, Su et al. 2016) on features scaled to [0, 1] by their
public bounds (after an optional ``log1p``), never by data statistics.

Budget: ``(1 - size_share)`` of the release's epsilon goes to diffprivlib's fit (its noisy
Lloyd iterations), ``size_share`` to DP cluster sizes through the DP core. Released: centroids
in original units (post-processing of the DP fit) and DP sizes.

Initialisation: diffprivlib draws one random start inside the bounds. With ``init =
rfm_classes`` the starts are instead the released DP RFM-8 class means (free post-processing
of an earlier release): the largest class first, then farthest-point among the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from diffprivlib.accountant import BudgetAccountant
from diffprivlib.models import KMeans as _DPKMeans

from privacy_profile.dp import Bounds, MechanismRecord, PrivacyLoss
from privacy_profile.dp._diffprivlib import strict_diffprivlib
from privacy_profile.errors import InputError, PrivacyParameterError
from privacy_profile.segments._common import ReleaseContext, SegmentDef, dp_segment_table

__all__ = [
    "KMeansFeatureParams",
    "KMeansParams",
    "KMeansRelease",
    "fit_dp_kmeans",
    "init_from_class_means",
    "release_kmeans",
    "scale_features",
    "unscale",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, kw_only=True)
class KMeansFeatureParams:
    name: str
    bounds: Bounds
    log1p: bool = False


@dataclass(frozen=True, kw_only=True)
class KMeansParams:
    k: int
    features: tuple[KMeansFeatureParams, ...]
    size_share: float = 0.2


@dataclass(frozen=True, kw_only=True)
class KMeansRelease:
    table: pd.DataFrame
    centroids_scaled: FloatArray
    assignment: pd.Series
    records: tuple[MechanismRecord, ...]


class _InitKMeans(_DPKMeans):  # type: ignore[misc]
    """diffprivlib KMeans whose start centroids may be given (public or released DP values)."""

    start_centers: FloatArray | None = None  # set after construction (sklearn params rule)

    def _init_centers(self, dims: int, random_state: Any) -> Any:
        if self.start_centers is not None:
            return np.array(self.start_centers, dtype=np.float64, copy=True)
        return super()._init_centers(dims, random_state)


def _transform(x: FloatArray, f: KMeansFeatureParams) -> tuple[FloatArray, float, float]:
    lo, hi = f.bounds.lower, f.bounds.upper
    x = np.clip(x, lo, hi)
    if f.log1p:
        return np.log1p(x), float(np.log1p(lo)), float(np.log1p(hi))
    return x, lo, hi


def scale_features(values: pd.DataFrame, params: KMeansParams) -> FloatArray:
    """Clamp to the public bounds, ``log1p`` if asked, scale to [0, 1]."""
    cols = []
    for f in params.features:
        x = values[f.name].to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isnan(x).any():
            raise InputError(
                f"k-means feature {f.name!r} has missing values",
                hint="cluster units that have the feature (e.g. RFM features need an order)",
            )
        t, lo, hi = _transform(x, f)
        cols.append((t - lo) / (hi - lo))
    return np.column_stack(cols)


def unscale(scaled: FloatArray, params: KMeansParams) -> FloatArray:
    """Centroids back to original units (inverse of :func:`scale_features`)."""
    out = np.empty_like(scaled)
    for j, f in enumerate(params.features):
        lo, hi = f.bounds.lower, f.bounds.upper
        if f.log1p:
            llo, lhi = np.log1p(lo), np.log1p(hi)
            out[:, j] = np.expm1(llo + scaled[:, j] * (lhi - llo))
        else:
            out[:, j] = lo + scaled[:, j] * (hi - lo)
    return out


def init_from_class_means(candidates: FloatArray, sizes: Sequence[float], k: int) -> FloatArray:
    """Pick ``k`` starts from candidate centres (scaled): the largest first, then each time the
    candidate farthest from those chosen. With fewer than ``k`` candidates (classes suppressed)
    the public points of the grid {0.25, 0.75}^d join the candidates."""
    if candidates.shape[0] == 0:
        raise PrivacyParameterError(
            "rfm_classes init needs at least one released RFM class",
            hint="use kmeans.init: random",
        )
    if candidates.shape[0] < k:
        d = candidates.shape[1]
        grid = np.array(np.meshgrid(*[[0.25, 0.75]] * d)).reshape(d, -1).T
        candidates = np.vstack([candidates, grid])
        sizes = [*sizes, *([0.0] * grid.shape[0])]
    chosen = [int(np.argmax(np.asarray(sizes)))]
    while len(chosen) < k:
        d = ((candidates[:, None, :] - candidates[None, chosen, :]) ** 2).sum(axis=2).min(axis=1)
        d[chosen] = -1.0
        chosen.append(int(np.argmax(d)))
    return np.asarray(candidates[chosen], dtype=np.float64)


def fit_dp_kmeans(
    scaled: FloatArray,
    *,
    k: int,
    epsilon: float,
    random_state: np.random.RandomState,
    init_centers: FloatArray | None = None,
) -> FloatArray:
    """diffprivlib's DP k-means on data in [0, 1]^d (bounds given, never from the data);
    returns the centroids. The caller has charged the ledger."""
    d = scaled.shape[1]
    model = _InitKMeans(
        n_clusters=k,
        epsilon=epsilon,
        bounds=(np.zeros(d), np.ones(d)),
        random_state=random_state,
        accountant=BudgetAccountant(epsilon=epsilon, delta=0.0),
    )
    model.start_centers = init_centers
    with strict_diffprivlib():
        model.fit(scaled)
    return np.clip(np.asarray(model.cluster_centers_, dtype=np.float64), 0.0, 1.0)


def nearest(scaled: FloatArray, centers: FloatArray) -> npt.NDArray[np.int64]:
    d = ((scaled[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    return np.asarray(np.argmin(d, axis=1), dtype=np.int64)


def release_kmeans(
    population: pd.DataFrame,
    params: KMeansParams,
    *,
    loss: PrivacyLoss,
    ctx: ReleaseContext,
    init_centers: FloatArray | None = None,
) -> KMeansRelease:
    """Charge, fit DP k-means, then DP sizes of the clusters (see the module doc)."""
    scaled = scale_features(population, params)
    fit_loss = PrivacyLoss(epsilon=loss.epsilon * (1.0 - params.size_share))
    size_loss = PrivacyLoss(epsilon=loss.epsilon * params.size_share)
    d = scaled.shape[1]
    ctx.ledger.charge(
        run_id=ctx.run_id,
        mechanism="diffprivlib_kmeans",
        loss=fit_loss,
        sensitivity=float(d),  # L1 diameter of the unit cube a unit's point lies in
        label="kmeans/fit",
    )
    seed = int(ctx.rng.integers(2**32 - 1, 1)[0])
    centers = fit_dp_kmeans(
        scaled,
        k=params.k,
        epsilon=fit_loss.epsilon,
        random_state=np.random.RandomState(seed),
        init_centers=init_centers,
    )
    records = [
        MechanismRecord(
            label="kmeans/fit",
            mechanism="diffprivlib_kmeans",
            aggregation="centroids",
            epsilon=fit_loss.epsilon,
            delta=0.0,
            sensitivity=float(d),
            scale=0.0,
            noise_sd=float("nan"),
            values=params.k * d,
        )
    ]
    labels = nearest(scaled, centers)
    segs = [SegmentDef(f"cluster_{i}", f"聚类{i}", f"cluster {i}") for i in range(params.k)]
    keys = np.array([s.key for s in segs], dtype=object)[labels]
    units = pd.DataFrame({ctx.unit_column: population[ctx.unit_column].to_numpy(), "cluster": keys})
    table, recs = dp_segment_table(
        units,
        family="kmeans",
        segments=segs,
        segment_column="cluster",
        loss=size_loss,
        ctx=ctx,
        label="kmeans/sizes",
    )
    table["epsilon"] = loss.epsilon
    original = unscale(centers, params)
    for j, f in enumerate(params.features):
        # a suppressed cluster's centroid is withheld with its size
        table[f"centroid_{f.name}"] = np.where(table["suppressed"], np.nan, original[:, j])
    records.extend(recs)
    return KMeansRelease(
        table=table,
        centroids_scaled=centers,
        assignment=pd.Series(keys, index=units[ctx.unit_column].to_numpy()),
        records=tuple(records),
    )
