"""DP funnels: how many privacy units reach each ordered step within a time window.

Privacy unit: the pseudonymous user of ``privacy.unit_column``. Each user contributes one path:
it starts at the user's first event of step 1, then takes the earliest event of each next step
at or after the previous one, all within ``window`` of the start. The path's *depth* (the last
step reached) is the only thing a user contributes, to one (segment, depth) cell, so the depth
histogram has L1 sensitivity 1 under adding or removing one user; it gets discrete Laplace
noise at scale 1 / epsilon, or under zCDP (a :class:`~privacy_profile.dp.model.ZcdpLoss`)
exact discrete Gaussian noise with sigma = 1 / sqrt(2 rho) (its L2 sensitivity is 1 too).
Step counts are suffix sums of the noisy depth histogram
(``users(step k) = sum of depth cells >= k``), made non-increasing by isotonic regression
(post-processing, free) and clipped at zero.

Intervals (95%): step counts: exact for the sum of the discrete Laplace terms a count holds
(under zCDP: the sub-Gaussian bound of the sum of discrete Gaussians, conservative); conversion
from the previous step: from the noise intervals of the two counts it is built from (97.5%
each, union bound). Intervals describe the DP noise around the users observed (not sampling
error: the funnel describes this population).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy_profile.analytics._common import (
    HALF_LEVEL,
    AnalysisPrivacy,
    PartPlan,
    add_part_noise,
    charge,
    check_columns,
    plan_parts,
    segment_index,
    sorted_keys,
    unique_segment_keys,
)
from privacy_profile.dp.ledger import BudgetLedger, Charge
from privacy_profile.dp.mechanisms import MechanismRecord
from privacy_profile.dp.model import Mechanism, ZcdpLoss
from privacy_profile.dp.rng import DPRandom
from privacy_profile.errors import InputError, PrivacyParameterError

__all__ = [
    "FunnelParams",
    "FunnelResult",
    "dp_funnel",
    "dp_funnel_from_depths",
    "funnel_depths",
    "monotone_non_increasing",
]

OVERALL = "all"


@dataclass(frozen=True, kw_only=True)
class FunnelParams:
    """An ordered funnel over an events table.

    ``steps``: the event values of the steps, in order (at least two, distinct);
    ``event_column`` / ``time_column``: where the event value and its time are;
    ``window``: the longest time from the first step to the last;
    ``segments``: public segment keys (listed in the policy) when the funnel is per segment,
    with ``segment_column`` the column of the per-user segment table that holds them.
    """

    steps: tuple[str, ...]
    event_column: str
    time_column: str
    window: dt.timedelta
    segment_column: str | None = None
    segments: tuple[Hashable, ...] | None = None

    def __post_init__(self) -> None:
        steps = tuple(self.steps)
        if len(steps) < 2 or len(set(steps)) != len(steps):
            raise PrivacyParameterError(
                f"a funnel needs at least two distinct steps, got {list(steps)}",
                hint="list the step event values in order, e.g. [view, cart, buy]",
            )
        object.__setattr__(self, "steps", steps)
        if not isinstance(self.window, dt.timedelta) or self.window <= dt.timedelta(0):
            raise PrivacyParameterError("the funnel window must be a positive duration")
        if (self.segment_column is None) != (self.segments is None):
            raise PrivacyParameterError(
                "a per-segment funnel needs both segment_column and the public segment keys"
            )
        if self.segments is not None:
            object.__setattr__(self, "segments", unique_segment_keys(self.segments))


@dataclass(frozen=True, kw_only=True)
class FunnelResult:
    """``table``: one row per (segment, step), segments in sorted key order, steps in order:
    ``segment``, ``step``, ``event``, ``users`` (noisy, monotone), ``users_low/high``,
    ``users_noise_sd``, ``conversion`` (from the previous step; NaN for step 1),
    ``conversion_low/high``, ``overall_conversion`` (from step 1), ``suppressed`` (noisy count
    below the threshold: the count and rates are blanked)."""

    table: pd.DataFrame
    records: tuple[MechanismRecord, ...]
    charges: tuple[Charge, ...]
    users_in: int


def monotone_non_increasing(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Least-squares non-increasing fit (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, weight]
    for v in values.tolist():
        blocks.append([float(v), 1.0])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            m2, w2 = blocks.pop()
            m1, w1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2])
    out: list[float] = []
    for m, w in blocks:
        out.extend([m] * int(w))
    return np.asarray(out, dtype=np.float64)


def _times_ns(series: pd.Series, table: str, column: str) -> npt.NDArray[np.int64]:
    try:
        t = pd.to_datetime(series, utc=True, format="mixed")
    except (ValueError, TypeError) as e:
        raise InputError(
            f"the {table} table's {column!r} column is not a time: {type(e).__name__}",
            hint="declare it as a timestamp column in the policy",
        ) from None
    if t.isna().any():
        raise InputError(f"the {table} table's {column!r} column has missing times")
    return np.asarray(t.dt.as_unit("ns").astype("int64").to_numpy(), dtype=np.int64)


def funnel_depths(
    events: pd.DataFrame, params: FunnelParams, unit_column: str
) -> tuple[npt.NDArray[np.int64], pd.Index]:
    """Each unit's funnel depth (0 .. len(steps)) and the unit values, in factorized order.
    Not private: the true input of the DP release (and of the benchmarks' truth)."""
    check_columns(events, [unit_column, params.event_column, params.time_column], table="events")
    ev = events[events[params.event_column].astype("string").isin(params.steps)]
    step_of = {s: i for i, s in enumerate(params.steps)}
    codes, units = pd.factorize(ev[unit_column], sort=False)
    if (codes < 0).any():
        raise InputError(f"the events table has rows without a {unit_column!r}")
    step = ev[params.event_column].astype("string").map(step_of).to_numpy(dtype=np.int64)
    t = _times_ns(ev[params.time_column], "events", params.time_column)
    n_units = len(units)
    window = int(params.window.total_seconds() * 1e9)
    big = np.iinfo(np.int64).max
    depth = np.zeros(n_units, dtype=np.int64)
    first = step == 0
    start = np.full(n_units, big, dtype=np.int64)
    np.minimum.at(start, codes[first], t[first])
    reached = start < big
    depth[reached] = 1
    prev = start.copy()
    deadline = np.where(reached, start + window, big)
    for k in range(1, len(params.steps)):
        rows = np.flatnonzero(step == k)
        c, tt = codes[rows], t[rows]
        ok = (depth[c] == k) & (tt >= prev[c]) & (tt <= deadline[c])
        nxt = np.full(n_units, big, dtype=np.int64)
        np.minimum.at(nxt, c[ok], tt[ok])
        hit = nxt < big
        depth[hit] = k + 1
        prev = np.where(hit, nxt, prev)
    return depth, pd.Index(units)


def _segment_of_units(
    units: pd.Index,
    segments: pd.DataFrame | None,
    params: FunnelParams,
    unit_column: str,
    keys: list[Hashable],
) -> npt.NDArray[np.int64]:
    if params.segments is None:
        return np.zeros(len(units), dtype=np.int64)
    seg = segment_index(
        segments,
        segment_column=params.segment_column,
        unit_column=unit_column,
        keys=keys,
        needed_by="a per-segment funnel needs",
    )
    return np.asarray(seg.reindex(units).fillna(-1).to_numpy(), dtype=np.int64)


_LAPLACE = Mechanism.DISCRETE_LAPLACE


def dp_funnel(
    events: pd.DataFrame,
    *,
    params: FunnelParams,
    privacy: AnalysisPrivacy,
    ledger: BudgetLedger,
    run_id: str,
    rng: DPRandom | None = None,
    segments: pd.DataFrame | None = None,
    label: str = "analytics/funnel",
) -> FunnelResult:
    """Release a DP funnel of ``events`` (see the module doc). Charged before any noise."""
    unit = privacy.unit_column
    check_columns(events, [unit, params.event_column, params.time_column], table="events")
    depth, units = funnel_depths(events, params, unit)
    return dp_funnel_from_depths(
        depth,
        units,
        params=params,
        privacy=privacy,
        ledger=ledger,
        run_id=run_id,
        rng=rng,
        segments=segments,
        label=label,
    )


def dp_funnel_from_depths(
    depth: npt.NDArray[np.int64],
    units: pd.Index,
    *,
    params: FunnelParams,
    privacy: AnalysisPrivacy,
    ledger: BudgetLedger,
    run_id: str,
    rng: DPRandom | None = None,
    segments: pd.DataFrame | None = None,
    label: str = "analytics/funnel",
) -> FunnelResult:
    """The DP step of :func:`dp_funnel`: release the funnel of each unit's depth (one value
    per unit, as :func:`funnel_depths` gives them, whichever engine computed them)."""
    unit = privacy.unit_column
    keys: list[Hashable] = (
        sorted_keys(list(params.segments)) if params.segments is not None else [OVERALL]
    )
    n_steps = len(params.steps)
    depth = np.asarray(depth, dtype=np.int64)
    if depth.shape != (len(units),) or ((depth < 0) | (depth > n_steps)).any():
        raise PrivacyParameterError(
            f"funnel depths must be one value in 0..{n_steps} per unit",
            hint="compute them with funnel_depths",
        )
    # one path per user: a user is in one cell, so L1 = L2 = 1 (discrete Gaussian under zCDP)
    mech = Mechanism.DISCRETE_GAUSSIAN if isinstance(privacy.loss, ZcdpLoss) else _LAPLACE
    plans = plan_parts(privacy.loss, [("depth_histogram", mech, 1.0, 1.0)])
    # the true histogram first: a malformed segment table fails here, before any charge
    seg = _segment_of_units(units, segments, params, unit, keys)
    keep = (depth > 0) & (seg >= 0)
    cell = seg[keep] * n_steps + (depth[keep] - 1)
    true = np.bincount(cell, minlength=len(keys) * n_steps).astype(np.int64)
    charges = charge(ledger, run_id, label, plans)  # nothing below runs if refused
    rng = rng if rng is not None else DPRandom()
    noisy, records = add_part_noise(plans, {"depth_histogram": true}, rng, label)
    part = noisy["depth_histogram"]
    table = _table(part.plan, part.values.reshape(len(keys), n_steps), keys, params, privacy)
    return FunnelResult(table=table, records=records, charges=charges, users_in=int(keep.sum()))


def _table(
    plan: PartPlan,
    hist: npt.NDArray[np.int64],
    keys: Sequence[Hashable],
    params: FunnelParams,
    privacy: AnalysisPrivacy,
) -> pd.DataFrame:
    n_steps = len(params.steps)
    v = plan.variance
    rows = []
    for g, key in enumerate(keys):
        h = hist[g].astype(np.float64)
        raw = np.cumsum(h[::-1])[::-1]  # users reaching step k = depth >= k
        users = np.maximum(monotone_non_increasing(raw), 0.0)
        for k in range(n_steps):
            terms = n_steps - k
            half = plan.sum_halfwidth(terms)
            conv = low = high = float("nan")
            if k > 0 and users[k - 1] > 0:
                c, d = users[k], users[k - 1]
                conv = min(max(c / d, 0.0), 1.0)
                # conversion = c / (lost + c): interval from the noise of c and of lost
                lost = max(d - c, 0.0)
                hc = plan.sum_halfwidth(terms, HALF_LEVEL)
                hl = plan.sum_halfwidth(1, HALF_LEVEL)
                c_lo, c_hi = max(c - hc, 0.0), c + hc
                l_lo, l_hi = max(lost - hl, 0.0), lost + hl
                low = c_lo / (c_lo + l_hi) if c_lo + l_hi > 0 else 0.0
                high = c_hi / (c_hi + l_lo) if c_hi + l_lo > 0 else 1.0
            suppressed = bool(users[k] < privacy.threshold)
            rows.append(
                {
                    "segment": key,
                    "step": k + 1,
                    "event": params.steps[k],
                    "users": float(np.round(users[k])),
                    "users_noise_sd": float(np.sqrt(terms * v)),
                    "users_low": float(max(np.round(users[k]) - half, 0.0)),
                    "users_high": float(np.round(users[k]) + half),
                    "conversion": conv,
                    "conversion_low": low,
                    "conversion_high": high,
                    "overall_conversion": float(users[k] / users[0]) if users[0] > 0 else np.nan,
                    "suppressed": suppressed,
                }
            )
    table = pd.DataFrame(rows)
    blank = table["suppressed"].to_numpy()
    for col in table.columns:
        if col not in ("segment", "step", "event", "suppressed", "users_noise_sd"):
            table.loc[blank, col] = np.nan
    return table
