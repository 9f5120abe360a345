"""DP retention cohorts: users grouped by the period (day, week or month) of their first
activity, and how many of them are active again 0, 1, ..., ``max_offset`` periods later.

Privacy unit: the pseudonymous user of ``privacy.unit_column``. A user is in one cohort (and one
segment) and is counted at most once per offset, so adding or removing one user changes at most
``max_offset + 1`` cells by one: L1 sensitivity ``max_offset + 1``, discrete Laplace noise at
scale ``(max_offset + 1) / epsilon`` on every cell. Cohorts are public: ``cohorts`` periods from
the public ``start`` date (never taken from the data); users whose first activity falls outside
them are not counted. A cell whose noisy count is below ``privacy.threshold`` is suppressed (a
cohort whose size is, entirely). Retention = cell / cohort size, with an interval from both
counts' noise intervals (97.5% each, union bound): it describes this population, not sampling.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy_profile.analytics._common import (
    HALF_LEVEL,
    AnalysisPrivacy,
    add_part_noise,
    charge,
    check_columns,
    plan_parts,
    ratio_interval,
    segment_index,
    sorted_keys,
    unique_segment_keys,
)
from privacy_profile.analytics.funnel import OVERALL, _times_ns
from privacy_profile.dp import mechanisms as _mech
from privacy_profile.dp.ledger import BudgetLedger, Charge
from privacy_profile.dp.mechanisms import MechanismRecord
from privacy_profile.dp.model import Mechanism
from privacy_profile.dp.rng import DPRandom
from privacy_profile.errors import InputError, PrivacyParameterError

__all__ = [
    "RetentionParams",
    "RetentionResult",
    "dp_retention",
    "dp_retention_from_pairs",
    "retention_cells",
    "retention_cells_from_pairs",
    "retention_pairs",
]

#: The columns of :func:`retention_pairs` besides the unit column.
COHORT, OFFSET = "cohort", "offset"

Period = Literal["day", "week", "month"]


@dataclass(frozen=True, kw_only=True)
class RetentionParams:
    """Daily, weekly or monthly cohorts from ``start`` (a Monday for weeks, the 1st for
    months)."""

    time_column: str
    period: Period
    start: dt.date
    cohorts: int
    max_offset: int
    segment_column: str | None = None
    segments: tuple[Hashable, ...] | None = None

    def __post_init__(self) -> None:
        if self.period not in ("day", "week", "month"):
            raise PrivacyParameterError(f"period must be day, week or month, got {self.period!r}")
        for name in ("cohorts", "max_offset"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (1 if name == "cohorts" else 0):
                raise PrivacyParameterError(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(self.start, dt.date) or isinstance(self.start, dt.datetime):
            raise PrivacyParameterError("start must be a date (public, from the policy)")
        if self.period == "week" and self.start.weekday() != 0:
            raise PrivacyParameterError("weekly cohorts start on a Monday", hint="move start")
        if self.period == "month" and self.start.day != 1:
            raise PrivacyParameterError("monthly cohorts start on the 1st", hint="move start")
        if (self.segment_column is None) != (self.segments is None):
            raise PrivacyParameterError("give both segment_column and segments, or neither")
        if self.segments is not None:
            object.__setattr__(self, "segments", unique_segment_keys(self.segments))

    def cohort_labels(self) -> list[str]:
        out = []
        for i in range(self.cohorts):
            if self.period in ("day", "week"):
                step = dt.timedelta(days=i) if self.period == "day" else dt.timedelta(weeks=i)
                out.append((self.start + step).isoformat())
            else:
                m = self.start.month - 1 + i
                out.append(f"{self.start.year + m // 12:04d}-{m % 12 + 1:02d}")
        return out


@dataclass(frozen=True, kw_only=True)
class RetentionResult:
    """``table``: one row per (segment, cohort, offset) in sorted segment, cohort and offset
    order: ``users`` (noisy; NaN when suppressed), ``users_low/high``, ``cohort_size``,
    ``retention`` with ``retention_low/high``, ``suppressed``."""

    table: pd.DataFrame
    records: tuple[MechanismRecord, ...]
    charges: tuple[Charge, ...]


def _period_index(t_ns: npt.NDArray[np.int64], params: RetentionParams) -> npt.NDArray[np.int64]:
    days = t_ns // (86_400 * 10**9)
    start = (params.start - dt.date(1970, 1, 1)).days
    if params.period == "day":
        return np.asarray(days - start, dtype=np.int64)
    if params.period == "week":
        return np.asarray(np.floor_divide(days - start, 7), dtype=np.int64)
    d = days.astype("datetime64[D]")
    months = d.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    s = (params.start.year - 1970) * 12 + params.start.month - 1
    return np.asarray(months - s, dtype=np.int64)


def retention_pairs(
    activity: pd.DataFrame, params: RetentionParams, unit_column: str
) -> pd.DataFrame:
    """The distinct (unit, cohort, offset) cells each unit is active in: ``unit_column``,
    ``cohort`` (index of the unit's first active period among the public cohorts) and
    ``offset`` (periods since then, at most ``max_offset``); units whose first activity is
    outside the cohorts are left out. Not private: the true input of the DP release."""
    check_columns(activity, [unit_column, params.time_column], table="activity")
    codes, units = pd.factorize(activity[unit_column], sort=False)
    if (codes < 0).any():
        raise InputError(f"the activity table has rows without a {unit_column!r}")
    period = _period_index(
        _times_ns(activity[params.time_column], "activity", params.time_column), params
    )
    n_units = len(units)
    big = np.iinfo(np.int64).max
    first = np.full(n_units, big, dtype=np.int64)
    np.minimum.at(first, codes, period)
    cohort = first[codes]
    offset = period - cohort
    ok = (cohort >= 0) & (cohort < params.cohorts) & (offset >= 0) & (offset <= params.max_offset)
    width = params.max_offset + 1
    per_unit = params.cohorts * width
    # distinct (unit, cohort, offset): one user counts once per cell
    pair = np.unique(codes[ok].astype(np.int64) * per_unit + cohort[ok] * width + offset[ok])
    rest = pair % per_unit
    return pd.DataFrame(
        {
            unit_column: pd.Index(units).take(pair // per_unit),
            COHORT: rest // width,
            OFFSET: rest % width,
        }
    )


def retention_cells_from_pairs(
    pairs: pd.DataFrame,
    params: RetentionParams,
    unit_column: str,
    segment_of: pd.Series | None = None,
) -> npt.NDArray[np.int64]:
    """Distinct-user counts, shape (segments, cohorts, max_offset + 1), of the distinct
    (unit, cohort, offset) rows :func:`retention_pairs` gives. Not private."""
    check_columns(pairs, [unit_column, COHORT, OFFSET], table="retention pairs")
    cohort = pairs[COHORT].to_numpy(dtype=np.int64)
    offset = pairs[OFFSET].to_numpy(dtype=np.int64)
    width = params.max_offset + 1
    outside = (cohort < 0) | (cohort >= params.cohorts) | (offset < 0) | (offset >= width)
    if outside.any() or pairs.duplicated([unit_column, COHORT, OFFSET]).any():
        raise PrivacyParameterError(
            "retention pairs must be distinct (unit, cohort, offset) rows within the cohorts",
            hint="compute them with retention_pairs",
        )
    n_seg = 1 if params.segments is None else len(params.segments)
    seg = (
        np.zeros(len(pairs), dtype=np.int64)
        if segment_of is None
        else np.asarray(segment_of.reindex(pairs[unit_column]).fillna(-1).to_numpy(), np.int64)
    )
    ok = seg >= 0
    cell = (seg[ok] * params.cohorts + cohort[ok]) * width + offset[ok]
    out = np.bincount(cell, minlength=n_seg * params.cohorts * width)
    return out.astype(np.int64).reshape(n_seg, params.cohorts, width)


def retention_cells(
    activity: pd.DataFrame,
    params: RetentionParams,
    unit_column: str,
    segment_of: pd.Series | None = None,
) -> npt.NDArray[np.int64]:
    """True distinct-user counts, shape (segments, cohorts, max_offset + 1). Not private."""
    pairs = retention_pairs(activity, params, unit_column)
    return retention_cells_from_pairs(pairs, params, unit_column, segment_of)


def _segment_series(
    segments: pd.DataFrame | None, params: RetentionParams, unit: str, keys: list[Hashable]
) -> pd.Series | None:
    if params.segments is None:
        return None
    return segment_index(
        segments,
        segment_column=params.segment_column,
        unit_column=unit,
        keys=keys,
        needed_by="per-segment retention needs",
    )


def dp_retention(
    activity: pd.DataFrame,
    *,
    params: RetentionParams,
    privacy: AnalysisPrivacy,
    ledger: BudgetLedger,
    run_id: str,
    rng: DPRandom | None = None,
    segments: pd.DataFrame | None = None,
    label: str = "analytics/retention",
) -> RetentionResult:
    """Release DP retention cohorts (see the module doc). Charged before any noise."""
    unit = privacy.unit_column
    check_columns(activity, [unit, params.time_column], table="activity")
    pairs = retention_pairs(activity, params, unit)
    return dp_retention_from_pairs(
        pairs,
        params=params,
        privacy=privacy,
        ledger=ledger,
        run_id=run_id,
        rng=rng,
        segments=segments,
        label=label,
    )


def dp_retention_from_pairs(
    pairs: pd.DataFrame,
    *,
    params: RetentionParams,
    privacy: AnalysisPrivacy,
    ledger: BudgetLedger,
    run_id: str,
    rng: DPRandom | None = None,
    segments: pd.DataFrame | None = None,
    label: str = "analytics/retention",
) -> RetentionResult:
    """The DP step of :func:`dp_retention`: release the cohorts of the distinct (unit, cohort,
    offset) rows :func:`retention_pairs` gives (whichever engine computed them)."""
    unit = privacy.unit_column
    keys = sorted_keys(list(params.segments)) if params.segments is not None else [OVERALL]
    width = params.max_offset + 1
    plans = plan_parts(privacy.loss, [("cells", Mechanism.DISCRETE_LAPLACE, float(width), 1.0)])
    # the true cells first: a malformed segment table fails here, before any charge
    true = retention_cells_from_pairs(
        pairs, params, unit, _segment_series(segments, params, unit, keys)
    )
    charges = charge(ledger, run_id, label, plans)
    rng = rng if rng is not None else DPRandom()
    noisy, records = add_part_noise(plans, {"cells": true.ravel()}, rng, label)
    part = noisy["cells"]
    cells = part.values.reshape(true.shape).astype(np.float64)
    plan = part.plan
    h = _mech.interval_halfwidth(plan.mechanism, plan.scale)
    h2 = _mech.interval_halfwidth(plan.mechanism, plan.scale, HALF_LEVEL)
    labels = params.cohort_labels()
    rows = []
    for g, key in enumerate(keys):
        for c, lab in enumerate(labels):
            size = cells[g, c, 0]
            cohort_out = size < max(privacy.threshold, 1)
            for j in range(width):
                v = cells[g, c, j]
                suppressed = bool(cohort_out or v < privacy.threshold)
                ret = lo = hi = float("nan")
                if not suppressed:
                    ret = min(max(v, 0.0) / size, 1.0)
                    lo, hi = ratio_interval(v, h2, size, h2, cap=1.0)
                rows.append(
                    {
                        "segment": key,
                        "cohort": lab,
                        "offset": j,
                        "users": np.nan if suppressed else max(v, 0.0),
                        "users_low": np.nan if suppressed else max(v - h, 0.0),
                        "users_high": np.nan if suppressed else v + h,
                        "users_noise_sd": plan.noise_sd,
                        "cohort_size": np.nan if cohort_out else size,
                        "retention": ret,
                        "retention_low": lo,
                        "retention_high": hi,
                        "suppressed": suppressed,
                    }
                )
    return RetentionResult(table=pd.DataFrame(rows), records=records, charges=charges)
