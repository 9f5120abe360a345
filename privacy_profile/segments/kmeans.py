"""DP k-means on features scaled to [0, 1] by their public bounds (after an optional
``log1p``), never by data statistics.

Two fits (``KMeansParams.method``):

* ``lloyd`` (default): our own DP Lloyd iterations through the DP core. Each of the
  ``iterations`` rounds gets an equal share of the fit epsilon, charged on the ledger before its
  noise: ``COUNT_SHARE`` of it to a discrete-Laplace distinct-unit count per cluster
  (sensitivity 1: each unit is in exactly one cluster), the rest to discrete Laplace sums (on
  a fixed-point grid of step 2^-21, float-safe, see privacy_profile.dp.mechanisms) of the
  centred coordinates ``x - 0.5`` per cluster (L1 sensitivity d/2 over all clusters). The new
  centre is ``0.5 + noisy sum / noisy count``, clamped to the cube; a cluster whose noisy count
  is below 1 keeps its centre. Few iterations with more epsilon each beat many (measured in
  docs/benchmarks.md).
* ``diffprivlib``: diffprivlib's ``KMeans`` (Su et al. 2016; one start, up to 7 iterations
  chosen by diffprivlib).

Budget: ``(1 - size_share)`` of the release's epsilon goes to the fit, ``size_share`` to DP
cluster sizes of the final assignment through the DP core. Released: centroids in original
units (post-processing of the DP fit) and DP sizes.

Engines: the units may be a pandas frame or rows kept by an engine
(:class:`~privacy_profile.segments.units.UnitRows`, e.g. Spark). Each Lloyd iteration's true
quantities come from a pure per-batch step (:func:`lloyd_step`: per cluster the count and the
grid sums of the centred coordinates, a ``k x (d + 1)`` array whose integer entries add up
exactly over any split into batches), one :meth:`~privacy_profile.segments.units.UnitRows.fold`
per iteration; the charge, noise and centre update run in one driver function for both
(:func:`fit_dp_lloyd` is the one-batch case of :func:`fit_dp_lloyd_rows`), so a seeded run
releases the same centroids on every engine. The final assignment is a column of the rows
(:class:`~privacy_profile.segments.units.UnitLabels`); ``diffprivlib`` needs the points in this
process and is refused on engine rows (:func:`require_runnable`).

Initialisation: ``random`` draws the starts uniformly in the cube (data-independent). With
``init = rfm_classes`` the starts are computed from the released DP RFM-8 class means and DP
sizes (free post-processing of an earlier release): a size-weighted k-means of those eight
points (see :func:`init_from_class_means`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from diffprivlib.accountant import BudgetAccountant
from diffprivlib.models import KMeans as _DPKMeans

from privacy_profile.dp import Bounds, ChargeRequest, MechanismRecord, PrivacyLoss
from privacy_profile.dp import mechanisms as _mech
from privacy_profile.dp._diffprivlib import strict_diffprivlib
from privacy_profile.dp.model import Mechanism
from privacy_profile.errors import InputError, PolicyError, PolicyIssue, PrivacyParameterError
from privacy_profile.segments._common import ReleaseContext, SegmentDef, dp_segment_table
from privacy_profile.segments.rfm import rfm_population
from privacy_profile.segments.units import UnitLabels, UnitRows

__all__ = [
    "COUNT_SHARE",
    "KMeansFeatureParams",
    "KMeansMethod",
    "KMeansParams",
    "KMeansPopulation",
    "KMeansRelease",
    "fit_dp_kmeans",
    "fit_dp_lloyd",
    "fit_dp_lloyd_rows",
    "init_from_class_means",
    "lloyd_step",
    "lloyd_sums",
    "release_kmeans",
    "require_runnable",
    "scale_features",
    "unscale",
]

FloatArray = npt.NDArray[np.float64]

#: Share of each Lloyd iteration's epsilon for the noisy counts (the rest: the noisy sums).
#: 0.2-0.35 measured best on UCI (docs/benchmarks.md); the sums carry d coordinates.
COUNT_SHARE = 0.25

#: The column of the final assignment (each unit's cluster key) on rows kept by an engine.
_CLUSTER = "cluster"

#: Exhaustive weighted k-means over the candidate starts when there are at most this many
#: k-subsets of candidates; otherwise farthest-point starts only.
_MAX_START_SUBSETS = 500


class KMeansMethod(Enum):
    LLOYD = "lloyd"
    DIFFPRIVLIB = "diffprivlib"


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
    method: KMeansMethod = KMeansMethod.LLOYD
    iterations: int = 3


@dataclass(frozen=True, kw_only=True)
class KMeansRelease:
    table: pd.DataFrame
    centroids_scaled: FloatArray
    assignment: pd.Series | UnitLabels
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
    _refuse_missing(_missing(values, params), params)
    cols = []
    for f in params.features:
        x = values[f.name].to_numpy(dtype=np.float64, na_value=np.nan)
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


def _weighted_lloyd(
    points: FloatArray, weights: FloatArray, centers: FloatArray, steps: int = 50
) -> tuple[FloatArray, float]:
    """Plain weighted Lloyd on a handful of public points (post-processing only)."""
    c = centers.copy()
    for _ in range(steps):
        lab = nearest(points, c)
        for j in range(c.shape[0]):
            w = weights[lab == j]
            if w.sum() > 0:
                c[j] = (points[lab == j] * w[:, None]).sum(axis=0) / w.sum()
    lab = nearest(points, c)
    return c, float((weights * ((points - c[lab]) ** 2).sum(axis=1)).sum())


def _farthest_point(candidates: FloatArray, sizes: FloatArray, k: int) -> list[int]:
    chosen = [int(np.argmax(sizes))]
    while len(chosen) < k:
        d = ((candidates[:, None, :] - candidates[None, chosen, :]) ** 2).sum(axis=2).min(axis=1)
        d[chosen] = -1.0
        chosen.append(int(np.argmax(d)))
    return chosen


def init_from_class_means(candidates: FloatArray, sizes: Sequence[float], k: int) -> FloatArray:
    """``k`` starts from released candidate centres (scaled) and their released DP sizes: the
    best size-weighted k-means of the candidates over every k-subset of them as starts (or the
    farthest-point subset, largest first, when there are too many subsets). With fewer than
    ``k`` candidates (classes suppressed) the public points of the grid {0.25, 0.75}^d join
    them with weight 0. Pure post-processing of released values: no budget, no data."""
    if candidates.shape[0] == 0:
        raise PrivacyParameterError(
            "rfm_classes init needs at least one released RFM class",
            hint="use kmeans.init: random",
        )
    w = np.maximum(np.asarray(sizes, dtype=np.float64), 0.0)
    if candidates.shape[0] < k:
        d = candidates.shape[1]
        grid = np.array(np.meshgrid(*[[0.25, 0.75]] * d)).reshape(d, -1).T
        candidates = np.vstack([candidates, grid])
        w = np.concatenate([w, np.zeros(grid.shape[0])])
    if w.sum() <= 0:
        w = np.ones_like(w)
    m = candidates.shape[0]
    starts: list[list[int]] = [_farthest_point(candidates, w, k)]
    if math.comb(m, k) <= _MAX_START_SUBSETS:
        starts = [list(c) for c in itertools.combinations(range(m), k)]
    best: tuple[float, FloatArray] | None = None
    for idx in starts:
        c, cost = _weighted_lloyd(candidates, w, np.array(candidates[idx], dtype=np.float64))
        if best is None or cost < best[0] - 1e-12:
            best = (cost, c)
    if best is None:
        raise PrivacyParameterError(
            "k-means initialisation found no start among the released class means",
            hint="use kmeans.init: random, or check the rfm section releases enough classes",
        )
    return np.asarray(best[1], dtype=np.float64)


def lloyd_sums(scaled: FloatArray, centers: FloatArray) -> FloatArray:
    """One Lloyd iteration's true per-cluster quantities on points in [0, 1]^d (one row per
    unit): a ``(k, d + 1)`` array, column 0 the number of points nearest each centre, columns
    ``1..d`` the sums of their centred coordinates ``x - 0.5`` in integer units of the
    fixed-point grid (:func:`~privacy_profile.dp.mechanisms.to_grid`, at most 2^20 a point).
    Every entry and partial sum is an integer held exactly in a float64 (below 2^53 for fewer
    than 2^33 units), so the arrays of any split of the points into batches add up to exactly
    the array of all of them. Pure, no noise."""
    k, d = centers.shape
    step = _mech.grid_step(0.5)
    centred = _mech.to_grid(np.clip(scaled, 0.0, 1.0) - 0.5, step, 0.5)
    lab = nearest(scaled, centers)
    out = np.empty((k, d + 1), dtype=np.float64)
    out[:, 0] = np.bincount(lab, minlength=k)
    for j in range(d):
        out[:, j + 1] = np.bincount(lab, weights=centred[:, j], minlength=k)
    return out


def lloyd_step(batch: pd.DataFrame, centers: FloatArray, params: KMeansParams) -> FloatArray:
    """:func:`lloyd_sums` of a batch of rows (one per unit): its features scaled by
    :func:`scale_features` (public bounds, ``log1p``, [0, 1]; a missing value is an
    ``InputError``). Pure: the batch function of a Lloyd iteration on any engine."""
    return lloyd_sums(scale_features(batch, params), centers)


@dataclass(frozen=True, eq=False)
class _LloydBatch:
    """:func:`lloyd_step` with its centres and parameters bound (pickled to the executors
    with its state; the class by reference)."""

    centers: FloatArray
    params: KMeansParams

    def __call__(self, batch: pd.DataFrame) -> FloatArray:
        return lloyd_step(batch, self.centers, self.params)


@dataclass(frozen=True, eq=False)
class _MissingBatch:
    """The number of missing values of each k-means feature in a batch (shape ``(d,)``)."""

    params: KMeansParams

    def __call__(self, batch: pd.DataFrame) -> FloatArray:
        return _missing(batch, self.params)


@dataclass(frozen=True, eq=False)
class _AssignBatch:
    """Each row's nearest centre's segment key (the final assignment), as a ``cluster``
    column."""

    centers: FloatArray
    params: KMeansParams
    keys: tuple[str, ...]

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        lab = nearest(scale_features(batch, self.params), self.centers)
        keys = np.array(self.keys, dtype=object)[lab]
        return pd.DataFrame({_CLUSTER: pd.array(keys, dtype="string")})


@dataclass(frozen=True)
class KMeansPopulation:
    """The rows k-means clusters, a pure row-wise predicate (``UnitRows.where``, or a mask of
    a pandas frame): every feature present, and with ``paid_only`` (RFM features) only units
    with a paid order (:func:`~privacy_profile.segments.rfm.rfm_population`)."""

    features: tuple[str, ...]
    paid_only: bool

    def __call__(self, batch: pd.DataFrame) -> npt.NDArray[np.bool_]:
        b = batch.reset_index(drop=True)
        keep = np.zeros(len(b), dtype=bool)
        pop = rfm_population(b) if self.paid_only else b
        keep[pop.index.to_numpy(dtype=np.int64)] = True
        present: npt.NDArray[np.bool_] = b[list(self.features)].notna().all(axis=1).to_numpy()
        return keep & present


def _missing(values: pd.DataFrame, params: KMeansParams) -> FloatArray:
    return np.array(
        [
            np.isnan(values[f.name].to_numpy(dtype=np.float64, na_value=np.nan)).sum()
            for f in params.features
        ],
        dtype=np.float64,
    )


def _refuse_missing(missing: FloatArray, params: KMeansParams) -> None:
    for f, n in zip(params.features, missing, strict=True):
        if n > 0:
            raise InputError(
                f"k-means feature {f.name!r} has missing values",
                hint="cluster units that have the feature (e.g. RFM features need an order)",
            )


def _lloyd_fit(
    sums_of: Callable[[FloatArray], FloatArray],
    *,
    k: int,
    d: int,
    loss: PrivacyLoss,
    iterations: int,
    ctx: ReleaseContext,
    init_centers: FloatArray | None,
    count_share: float,
) -> tuple[FloatArray, tuple[MechanismRecord, ...]]:
    """The driver's part of the DP Lloyd fit, whatever holds the points: per iteration charge
    the ledger, then ``sums_of(centres)`` (the true :func:`lloyd_sums` of every point), then
    noise and the centre update."""
    if iterations < 1:
        raise PrivacyParameterError("k-means needs at least one iteration")
    if not 0.0 < count_share < 1.0:
        raise PrivacyParameterError("count_share must be in (0, 1)")
    if init_centers is None:
        centers = ctx.rng.random(k * d).reshape(k, d)
    else:
        centers = np.array(init_centers, dtype=np.float64, copy=True)
        if centers.shape != (k, d):
            raise PrivacyParameterError(f"init centres must have shape ({k}, {d})")
    per_iter = loss.epsilon / iterations
    count_loss = PrivacyLoss(epsilon=per_iter * count_share)
    sum_loss = PrivacyLoss(epsilon=per_iter * (1.0 - count_share))
    # centred coordinates in [-1/2, 1/2] on a fixed-point grid; L1 sensitivity d/2 rounded
    # up to the grid (exactly d/2: 1/2 is a grid multiple)
    step = _mech.grid_step(0.5)
    count_sens, sum_sens = 1.0, float(d * _mech.grid_units(0.5, step)) * step
    count_scale = _mech.noise_scale(
        Mechanism.DISCRETE_LAPLACE, loss=count_loss, sensitivity=count_sens
    )
    sum_scale = _mech.noise_scale(
        Mechanism.DISCRETE_LAPLACE_GRID, loss=sum_loss, sensitivity=sum_sens
    )
    records: list[MechanismRecord] = []
    for it in range(1, iterations + 1):
        label = f"kmeans/fit:iter{it}"
        ctx.ledger.charge_many(
            run_id=ctx.run_id,
            requests=[
                ChargeRequest(
                    mechanism=Mechanism.DISCRETE_LAPLACE,
                    loss=count_loss,
                    sensitivity=count_sens,
                    label=f"{label}:counts",
                ),
                ChargeRequest(
                    mechanism=Mechanism.DISCRETE_LAPLACE_GRID,
                    loss=sum_loss,
                    sensitivity=sum_sens,
                    label=f"{label}:sums",
                ),
            ],
        )
        true = sums_of(centers.copy())
        if true.shape != (k, d + 1):
            raise ValueError(f"Lloyd sums of shape {true.shape}; expected {(k, d + 1)}")
        noisy_counts = _mech.add_noise(true[:, 0], Mechanism.DISCRETE_LAPLACE, count_scale, ctx.rng)
        noisy_sums = _mech.add_noise(
            true[:, 1:].reshape(-1), Mechanism.DISCRETE_LAPLACE_GRID, sum_scale, ctx.rng, step=step
        ).reshape(k, d)
        ok = noisy_counts >= 1
        centers[ok] = np.clip(0.5 + noisy_sums[ok] / noisy_counts[ok, None], 0.0, 1.0)
        records.extend(
            [
                MechanismRecord(
                    label=f"{label}:counts",
                    mechanism=Mechanism.DISCRETE_LAPLACE.value,
                    aggregation="privacy_id_count",
                    epsilon=count_loss.epsilon,
                    delta=0.0,
                    sensitivity=count_sens,
                    scale=count_scale,
                    noise_sd=_mech.noise_sd(Mechanism.DISCRETE_LAPLACE, count_scale),
                    values=k,
                ),
                MechanismRecord(
                    label=f"{label}:sums",
                    mechanism=Mechanism.DISCRETE_LAPLACE_GRID.value,
                    aggregation="sum",
                    epsilon=sum_loss.epsilon,
                    delta=0.0,
                    sensitivity=sum_sens,
                    scale=sum_scale,
                    noise_sd=_mech.noise_sd(Mechanism.DISCRETE_LAPLACE_GRID, sum_scale, step=step),
                    values=k * d,
                    granularity=step,
                ),
            ]
        )
    return centers, tuple(records)


def fit_dp_lloyd(
    scaled: FloatArray,
    *,
    k: int,
    loss: PrivacyLoss,
    iterations: int,
    ctx: ReleaseContext,
    init_centers: FloatArray | None = None,
    count_share: float = COUNT_SHARE,
) -> tuple[FloatArray, tuple[MechanismRecord, ...]]:
    """DP Lloyd iterations on data in [0, 1]^d (one row per unit, in this process; the
    one-batch case of :func:`fit_dp_lloyd_rows`); see the module doc.

    Each iteration charges ``loss.epsilon / iterations`` on the ledger (count and sums in one
    transaction) before it draws noise; a refused charge stops the fit with nothing released.
    Starts: ``init_centers`` (public or released values) or uniform draws in the cube.
    """
    return _lloyd_fit(
        lambda centers: lloyd_sums(scaled, centers),
        k=k,
        d=scaled.shape[1],
        loss=loss,
        iterations=iterations,
        ctx=ctx,
        init_centers=init_centers,
        count_share=count_share,
    )


def fit_dp_lloyd_rows(
    rows: UnitRows,
    params: KMeansParams,
    *,
    loss: PrivacyLoss,
    ctx: ReleaseContext,
    init_centers: FloatArray | None = None,
    count_share: float = COUNT_SHARE,
) -> tuple[FloatArray, tuple[MechanismRecord, ...]]:
    """:func:`fit_dp_lloyd` on rows kept by their engine (one row per unit, the features of
    ``params`` unscaled): each of the ``params.iterations`` iterations is one
    :meth:`~privacy_profile.segments.units.UnitRows.fold` of :func:`lloyd_step` (``k`` x
    ``(d + 1)`` numbers back per batch on the engine, summed); charges, noise and the centre
    update run here, in the same order as :func:`fit_dp_lloyd`, so a seeded fit releases the
    same centres on every engine. A missing feature value is refused (``InputError``) before
    anything is charged."""
    d = len(params.features)
    _refuse_missing(rows.fold(_MissingBatch(params), (d,)), params)
    return _lloyd_fit(
        lambda centers: rows.fold(_LloydBatch(centers, params), (params.k, d + 1)),
        k=params.k,
        d=d,
        loss=loss,
        iterations=params.iterations,
        ctx=ctx,
        init_centers=init_centers,
        count_share=count_share,
    )


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


def require_runnable(method: KMeansMethod, population: pd.DataFrame | UnitRows) -> None:
    """Refuse, with a ``PolicyError`` naming ``segmentation.kmeans.method``, a fit the engine
    keeping ``population`` cannot run: ``diffprivlib`` needs every unit's point in this
    process, so on rows kept by an engine (:class:`~privacy_profile.segments.units.UnitRows`)
    only ``lloyd`` runs. Charges nothing: :func:`release_kmeans` calls it first, and a caller
    releasing several families may call it before the first of them charges."""
    if method is KMeansMethod.DIFFPRIVLIB and not isinstance(population, pd.DataFrame):
        raise PolicyError(
            PolicyIssue(
                file="<policy>",
                line=None,
                field="segmentation.kmeans.method",
                message=(
                    "method diffprivlib needs every unit's point in this process; the "
                    f"{population.engine} engine keeps the per-unit rows (nothing was charged)"
                ),
                hint="set segmentation.kmeans.method: lloyd (its iterations run on the engine)",
            )
        )


def release_kmeans(
    population: pd.DataFrame | UnitRows,
    params: KMeansParams,
    *,
    loss: PrivacyLoss,
    ctx: ReleaseContext,
    init_centers: FloatArray | None = None,
) -> KMeansRelease:
    """Charge, fit DP k-means, then DP sizes of the clusters (see the module doc).

    ``population``: one row per unit to cluster, a pandas frame or rows kept by an engine
    (:class:`~privacy_profile.segments.units.UnitRows`: the Lloyd iterations are folds, the
    final assignment a column of the rows, returned as
    :class:`~privacy_profile.segments.units.UnitLabels`). ``method: diffprivlib`` needs the
    points in this process: on engine rows it is refused (:func:`require_runnable`) before
    any charge.
    """
    require_runnable(params.method, population)
    fit_loss = PrivacyLoss(epsilon=loss.epsilon * (1.0 - params.size_share))
    size_loss = PrivacyLoss(epsilon=loss.epsilon * params.size_share)
    segs = [SegmentDef(f"cluster_{i}", f"聚类{i}", f"cluster {i}") for i in range(params.k)]
    records: list[MechanismRecord] = []
    units: pd.DataFrame | UnitRows
    assignment: pd.Series | UnitLabels
    if isinstance(population, pd.DataFrame):
        scaled = scale_features(population, params)
        if params.method is KMeansMethod.LLOYD:
            centers, fit_records = fit_dp_lloyd(
                scaled,
                k=params.k,
                loss=fit_loss,
                iterations=params.iterations,
                ctx=ctx,
                init_centers=init_centers,
            )
            records.extend(fit_records)
        else:
            centers = _diffprivlib_fit(scaled, params, fit_loss, ctx, init_centers, records)
        keys = np.array([s.key for s in segs], dtype=object)[nearest(scaled, centers)]
        units = pd.DataFrame(
            {ctx.unit_column: population[ctx.unit_column].to_numpy(), _CLUSTER: keys}
        )
        assignment = pd.Series(keys, index=units[ctx.unit_column].to_numpy())
    else:
        centers, fit_records = fit_dp_lloyd_rows(
            population, params, loss=fit_loss, ctx=ctx, init_centers=init_centers
        )
        records.extend(fit_records)
        units = population.with_columns(
            _AssignBatch(centers, params, tuple(s.key for s in segs)), {_CLUSTER: "string"}
        ).select([ctx.unit_column, _CLUSTER])
        assignment = UnitLabels(units, ctx.unit_column, _CLUSTER)
    table, recs = dp_segment_table(
        units,
        family="kmeans",
        segments=segs,
        segment_column=_CLUSTER,
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
        assignment=assignment,
        records=tuple(records),
    )


def _diffprivlib_fit(
    scaled: FloatArray,
    params: KMeansParams,
    fit_loss: PrivacyLoss,
    ctx: ReleaseContext,
    init_centers: FloatArray | None,
    records: list[MechanismRecord],
) -> FloatArray:
    """Charge, then diffprivlib's fit (points in this process); appends its record."""
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
    records.append(
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
    )
    return centers
