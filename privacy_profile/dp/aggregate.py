"""DP aggregations on pandas: contribution bounding, then discrete/continuous noise per group.

:func:`dp_aggregate` is the one entry point for grouped counts, sums and means; histograms and
top-k are built on it (:mod:`privacy_profile.dp.histogram`).

How the budget is split (basic composition, recorded per part):

* ``privacy_id_count`` — distinct units per group, discrete Laplace, L1 sensitivity
  ``max_groups``. With private selection the same noisy count also decides which groups are
  released (Laplace thresholding), so selection costs no extra epsilon, only the delta.
* ``count`` — rows per group after bounding, discrete Laplace, sensitivity
  ``max_groups * max_rows`` (only when a COUNT, SUM or MEAN is asked and ``max_rows > 1``;
  with one row per unit and group the distinct-unit count is reused, for free).
* ``sum:<column>`` — the sum of values clamped to the policy bounds and *centred* on the middle
  of the bounds, rounded to a fixed-point grid (step 2^-20 of the half-range, a power of two),
  discrete Laplace on the grid (float-safe), sensitivity
  ``max_groups * max_rows * (upper - lower) / 2`` rounded up to the grid.
  SUM = centred sum + midpoint * count; MEAN = midpoint + centred sum / count (clamped).

Under zCDP (``loss`` a :class:`~privacy_profile.dp.model.ZcdpLoss`) rho is split over the same
parts by the same weights (rhos add up) and each part draws the exact discrete Gaussian
(``discrete_gaussian``, on the grid for sums) with sigma = L2 sensitivity / sqrt(2 rho_part).
A unit touches at most ``k = max_groups`` groups with at most ``m = max_rows`` rows each, so
the L2 sensitivities are ``sqrt(k)`` (distinct units), ``sqrt(k) * m`` (rows) and
``sqrt(k) * m * grid_units`` (sums, in grid units). Private selection is refused under zCDP:
its threshold is calibrated for discrete Laplace noise.

Everything is charged to the ledger in one transaction (:func:`charge_parts`) after every
refusal (parameters, missing units or values: nothing spent) and before any noise; the plan
(parts, losses, sensitivities, scales) is made without data by
:func:`~privacy_profile.dp.aggregate_plan.plan_budget`, re-exported here.

Private selection takes its candidates only from the (unit, group) pairs that survive
contribution bounding: a group that only a dropped contribution touched is not a candidate (its
count is not "0 plus noise", it does not exist), so each unit makes at most
``max_groups_contributed`` candidates and the selection threshold's delta holds.

Released groups come out in a data-independent order: public groups in their declared order,
privately selected groups sorted by key (never in order of first appearance in the input).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy_profile.dp import mechanisms as _mech
from privacy_profile.dp.aggregate_plan import (
    COUNT_PART,
    ROWS_PART,
    BudgetPlan,
    NoisePart,
    charge_parts,
    plan_budget,
)
from privacy_profile.dp.bounding import bound_contributions
from privacy_profile.dp.ledger import BudgetLedger, Charge
from privacy_profile.dp.mechanisms import MechanismRecord
from privacy_profile.dp.model import (
    Aggregation,
    MetricSpec,
    PrivacyLoss,
    PrivacyUnit,
    PrivateSelection,
    PublicGroups,
    ZcdpLoss,
)
from privacy_profile.dp.rng import DPRandom
from privacy_profile.errors import InputError, PrivacyParameterError

__all__ = [
    "COUNT_PART",
    "ROWS_PART",
    "AggregateResult",
    "BudgetPlan",
    "charge_parts",
    "dp_aggregate",
    "plan_budget",
    "release_aggregates",
]


@dataclass(frozen=True, kw_only=True)
class AggregateResult:
    """Released groups and what ran.

    ``table``: one row per released group: the ``by`` columns, then for each metric ``<name>``,
    ``<name>_noise_sd``, ``<name>_low``, ``<name>_high`` (95% interval, see docs/dp.md).
    ``records``: one :class:`MechanismRecord` per mechanism; ``charges``: the ledger rows.
    ``selection_threshold``: the noisy distinct-unit count a group needed to be released.
    """

    table: pd.DataFrame
    records: tuple[MechanismRecord, ...]
    charges: tuple[Charge, ...]
    selection_threshold: int | None


# -- group and unit codes -------------------------------------------------------------------


def _factorize(col: pd.Series[Any]) -> tuple[npt.NDArray[np.int64], list[Hashable]]:
    """Codes in sorted order of the values (never in order of first appearance, which would
    tie outputs and random choices to the input's row order); mixed types sort by text.

    Factorizes unsorted, sorts only the uniques and remaps the codes with one lookup (cheaper
    than pandas' ``sort=True`` on millions of rows)."""
    codes, uniques = pd.factorize(col, sort=False, use_na_sentinel=True)
    index = pd.Index(uniques)
    try:
        order = np.asarray(index.argsort(), dtype=np.int64)
    except TypeError:
        order = np.asarray(
            sorted(range(len(index)), key=lambda i: (type(index[i]).__name__, str(index[i]))),
            dtype=np.int64,
        )
    rank = np.empty(len(order) + 1, dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    rank[-1] = -1  # the missing-value sentinel -1 maps to itself
    out = rank[np.asarray(codes, dtype=np.int64)]
    return out, list(index.take(order).tolist())


def _group_codes(
    df: pd.DataFrame, by: Sequence[str]
) -> tuple[npt.NDArray[np.int64], list[tuple[Hashable, ...]]]:
    """Dense group codes per row (-1 when a key is missing) and the key of each code; codes
    follow the lexicographic order of the keys (each column sorted, see :func:`_factorize`)."""
    code = np.zeros(len(df), dtype=np.int64)
    missing = np.zeros(len(df), dtype=bool)
    uniques_per_col: list[list[Hashable]] = []
    radix = 1
    for col in by:
        c, u = _factorize(df[col])
        missing |= c < 0
        code = code * len(u) + np.maximum(c, 0) if u else code
        uniques_per_col.append(u)
        radix *= max(len(u), 1)
    code[missing] = -1
    if radix > 1 << 40:
        raise InputError("too many group combinations", hint="group by fewer columns")
    if radix <= 1 << 24:  # a lookup table beats a sort
        seen = np.bincount(code[~missing], minlength=radix) > 0
        present = np.flatnonzero(seen)
        lookup = np.full(radix, -1, dtype=np.int64)
        lookup[present] = np.arange(present.shape[0], dtype=np.int64)
        out = np.where(missing, -1, lookup[np.maximum(code, 0)])
    else:
        dense, uniq = pd.factorize(code[~missing], sort=True)
        present = np.asarray(uniq, dtype=np.int64)
        out = np.full(len(df), -1, dtype=np.int64)
        out[~missing] = dense
    keys: list[tuple[Hashable, ...]] = []
    sizes = [len(u) for u in uniques_per_col]
    for code_value in present.tolist():
        parts: list[Hashable] = []
        rest = int(code_value)
        for u, size in zip(reversed(uniques_per_col), reversed(sizes), strict=True):
            rest, r = divmod(rest, size)
            parts.append(u[r])
        keys.append(tuple(reversed(parts)))
    return out, keys


def check_request(
    columns: Collection[str],
    *,
    unit: PrivacyUnit,
    by: Sequence[str],
    metrics: Sequence[MetricSpec],
    groups: PublicGroups | PrivateSelection,
    threshold: int,
) -> list[str]:
    """Check an aggregation's parameters against the data's ``columns`` before anything is
    charged (both engines); return the value columns the metrics read."""
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
        raise PrivacyParameterError("threshold must be a non-negative integer")
    names = [s.output_name for s in metrics]
    if len(set(names)) != len(names):
        raise PrivacyParameterError(f"metric names must be unique, got {names}")
    value_cols = sorted({s.column for s in metrics if s.column is not None})
    missing = [c for c in [unit.column, *by, *value_cols] if c not in columns]
    if missing:
        raise InputError(f"columns not in the data: {missing}", hint="check the policy columns")
    if isinstance(groups, PublicGroups) and any(len(k) != len(by) for k in groups.keys):
        raise PrivacyParameterError("each public group key needs one value per `by` column")
    return value_cols


def missing_unit_error(unit: PrivacyUnit) -> InputError:
    """The error for rows without a privacy unit (raised before any charge)."""
    return InputError(
        f"privacy unit column {unit.column!r} has missing values",
        hint="drop or reject rows without a privacy unit before aggregating",
    )


def missing_value_error(column: str) -> InputError:
    """The error for a missing value in a column a metric reads, in a row of an aggregated
    group (raised before any charge)."""
    return InputError(
        f"column {column!r} has missing values", hint="impute or drop them in the policy"
    )


# -- the aggregation ------------------------------------------------------------------------


def dp_aggregate(
    df: pd.DataFrame,
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
    """Grouped DP aggregation of ``df`` (see the module doc and docs/dp.md).

    ``threshold`` (required: no default) is the minimum noisy distinct-unit count of a
    released group (applied on noisy counts, after selection; 0 releases every public group).
    ``weights`` reweights the budget parts (``privacy_id_count``, ``count``, ``sum:<column>``);
    default equal. The distinct-unit count is always released. ``loss`` is a pure
    :class:`PrivacyLoss` (discrete Laplace) or a :class:`ZcdpLoss` (discrete Gaussian).
    """
    by = list(by)
    value_cols = check_request(
        df.columns, unit=unit, by=by, metrics=metrics, groups=groups, threshold=threshold
    )
    rng = rng if rng is not None else DPRandom()
    # rows without a privacy unit are refused before the charge (nothing spent)
    unit_codes, unit_uniques = _factorize(df[unit.column])
    if (unit_codes < 0).any():
        raise missing_unit_error(unit)

    # 1. plan (pure), codes and values: every refusal comes before the charge
    plan = plan_budget(unit=unit, metrics=metrics, loss=loss, groups=groups, weights=weights)
    row_groups, data_keys = _group_codes(df, by)
    if isinstance(groups, PublicGroups):
        index = {key: i for i, key in enumerate(groups.keys)}
        data_to_out = np.array([index.get(k, -1) for k in data_keys], dtype=np.int64)
        keys_out: list[tuple[Hashable, ...]] = list(groups.keys)
    else:
        data_to_out = np.arange(len(data_keys), dtype=np.int64)
        keys_out = data_keys
    n_out = len(keys_out)
    out_codes = np.where(row_groups >= 0, data_to_out[np.maximum(row_groups, 0)], -1)
    keep = out_codes >= 0
    rows_in = np.flatnonzero(keep)

    values: dict[str, npt.NDArray[np.float64]] = {}
    for col in value_cols:
        v = df[col].to_numpy(dtype=np.float64, na_value=np.nan)[rows_in]
        if np.isnan(v).any():
            raise missing_value_error(col)
        values[col] = v

    # 2. charge: nothing below runs if the budget refuses
    charges = charge_parts(ledger, plan.parts, run_id=run_id, label=label)

    # 3. bounding
    bounded = bound_contributions(
        unit_codes[rows_in],
        out_codes[rows_in],
        len(unit_uniques),
        max(n_out, 1),
        unit=unit,
        rng=rng,
    )

    # 4. true bounded statistics per output group
    true_stats: dict[str, npt.NDArray[Any]] = {}
    for p in plan.parts:
        if p.name == COUNT_PART:
            true: npt.NDArray[Any] = np.bincount(bounded.pair_group, minlength=n_out)
        elif p.name == ROWS_PART:
            true = np.bincount(bounded.pair_group, weights=bounded.pair_rows, minlength=n_out)
        else:
            if p.bounds is None or p.column is None or p.step is None:
                raise PrivacyParameterError(f"budget part {p.name!r} has no column or bounds")
            v = np.clip(values[p.column][bounded.rows], p.bounds.lower, p.bounds.upper)
            v -= p.bounds.midpoint
            units = _mech.to_grid(v, p.step, p.bounds.half_width)
            # integer grid units: float64 sums are exact below 2^53
            true = np.bincount(bounded.row_group, weights=units, minlength=n_out)
        true_stats[p.name] = true
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


def release_aggregates(
    plan: BudgetPlan,
    metrics: Sequence[MetricSpec],
    true_stats: Mapping[str, npt.NDArray[Any]],
    keys_out: Sequence[tuple[Hashable, ...]],
    by: Sequence[str],
    *,
    public: bool,
    threshold: int,
    rng: DPRandom,
    label: str,
    charges: Sequence[Charge],
) -> AggregateResult:
    """The last steps of :func:`dp_aggregate` on true bounded statistics (per budget part, one
    entry per output group; sums in integer grid units), whichever backend computed them:
    candidates, noise, then selection and the threshold on noisy counts. The budget must
    already be charged (``charges``)."""
    n_out = len(keys_out)
    # candidates: public groups, or the groups of (unit, group) pairs kept by bounding
    if public:
        cand = np.arange(n_out, dtype=np.int64)
    else:
        cand = np.flatnonzero(np.asarray(true_stats[COUNT_PART]) > 0)
    keys_cand = [keys_out[i] for i in cand.tolist()] if len(cand) != n_out else list(keys_out)

    # 5. noise
    records: list[MechanismRecord] = []
    noisy: dict[str, npt.NDArray[Any]] = {}
    values_noised = n_out if public else None
    for p in plan.parts:
        true = np.asarray(true_stats[p.name])
        if len(cand) != n_out:
            true = true[cand]
        noisy[p.name] = _mech.add_noise(true, p.mechanism, p.scale, rng, step=p.step)
        records.append(
            MechanismRecord(
                label=f"{label}/{p.name}",
                mechanism=p.mechanism.value,
                aggregation=p.aggregation.value,
                epsilon=p.epsilon,
                delta=p.delta,
                sensitivity=p.sensitivity,
                scale=p.scale,
                noise_sd=p.noise_sd,
                values=values_noised,
                granularity=p.step,
                rho=p.rho,
            )
        )

    # 6. selection (private) and the aggregation threshold, both on noisy counts
    ids = noisy[COUNT_PART]
    cut = max(plan.threshold or 0, threshold)
    released = ids >= cut if (cut > 0) else np.ones(len(cand), dtype=bool)
    table = _table(plan, metrics, noisy, released, keys_cand, by)
    return AggregateResult(
        table=table,
        records=tuple(records),
        charges=tuple(charges),
        selection_threshold=plan.threshold,
    )


def _count_columns(
    name: str, part: NoisePart, value: npt.NDArray[Any]
) -> dict[str, npt.NDArray[Any] | float]:
    h = part.halfwidth()
    return {
        name: value,
        f"{name}_noise_sd": part.noise_sd,
        f"{name}_low": value - h,
        f"{name}_high": value + h,
    }


def _table(
    plan: BudgetPlan,
    metrics: Sequence[MetricSpec],
    noisy: Mapping[str, npt.NDArray[Any]],
    released: npt.NDArray[np.bool_],
    keys: Sequence[tuple[Hashable, ...]],
    by: Sequence[str],
) -> pd.DataFrame:
    idx = np.flatnonzero(released)
    cols: dict[str, Any] = {}
    for j, col in enumerate(by):
        cols[col] = [keys[i][j] for i in idx.tolist()]
    count_part = plan.part(COUNT_PART)
    cols.update(_count_columns(COUNT_PART, count_part, noisy[COUNT_PART][idx]))
    # union bound: each of the two noises inside its 97.5% interval => 95% for the combination
    half_level = 1.0 - (1.0 - _mech.INTERVAL_LEVEL) / 2.0
    for spec in metrics:
        name = spec.output_name
        if spec.aggregation is Aggregation.PRIVACY_ID_COUNT:
            if name != COUNT_PART:
                cols.update(_count_columns(name, count_part, noisy[COUNT_PART][idx]))
            continue
        rows_name = ROWS_PART if ROWS_PART in noisy else COUNT_PART
        rows_part = plan.part(rows_name)
        c = noisy[rows_name][idx]
        if spec.aggregation is Aggregation.COUNT:
            cols.update(_count_columns(name, rows_part, c))
            continue
        if spec.bounds is None or spec.column is None:
            raise PrivacyParameterError(f"metric {name!r} needs a column and public bounds")
        sum_part = plan.part(f"sum:{spec.column}")
        s = noisy[sum_part.name][idx]
        mid, lo, hi = spec.bounds.midpoint, spec.bounds.lower, spec.bounds.upper
        sd_s, sd_c = sum_part.noise_sd, rows_part.noise_sd
        hs, hc = sum_part.halfwidth(half_level), rows_part.halfwidth(half_level)
        if spec.aggregation is Aggregation.SUM:
            total = s + mid * c
            h = hs + abs(mid) * hc
            cols.update(
                {
                    name: total,
                    f"{name}_noise_sd": math.sqrt(sd_s**2 + (mid * sd_c) ** 2),
                    f"{name}_low": total - h,
                    f"{name}_high": total + h,
                }
            )
            continue
        # MEAN = mid + s / c, clamped to the bounds
        c_pos = np.maximum(c, 1).astype(np.float64)
        mean = np.clip(mid + s / c_pos, lo, hi)
        ratio = s / c_pos
        sd = np.sqrt(sd_s**2 + (ratio * sd_c) ** 2) / c_pos  # delta method
        c_lo = (c - hc).astype(np.float64)
        c_hi = (c + hc).astype(np.float64)
        s_lo, s_hi = s - hs, s + hs
        with np.errstate(divide="ignore", invalid="ignore"):
            corners = np.stack([s_lo / c_lo, s_lo / c_hi, s_hi / c_lo, s_hi / c_hi])
        ok = c_lo >= 1
        low = np.where(ok, np.clip(mid + corners.min(axis=0), lo, hi), lo)
        high = np.where(ok, np.clip(mid + corners.max(axis=0), lo, hi), hi)
        cols.update({name: mean, f"{name}_noise_sd": sd, f"{name}_low": low, f"{name}_high": high})
    return pd.DataFrame(cols, index=pd.RangeIndex(len(idx)))
