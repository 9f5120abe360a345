"""DP campaign KPIs per (segment, campaign): CTR, conversion rate, average order value and ROI
against a public cost table.

Privacy unit: the pseudonymous user of ``privacy.unit_column``. For each campaign a user was
sent, the user contributes one (segment, campaign) record: sent (1), impressed (0/1), clicked
(0/1), converted (0/1), orders (clamped to ``max_orders``) and revenue (clamped to the public
``revenue_bounds``). A user keeps at most ``max_campaigns`` campaigns (chosen uniformly at
random by :func:`privacy_profile.dp.bounding.bound_contributions`), so the L1 sensitivities are
``max_campaigns`` for the four user counts, ``max_campaigns * max_orders`` for orders and
``max_campaigns * max(|lower|, |upper|)`` for revenue. Counts get discrete Laplace noise,
revenue Laplace noise; the loss is split equally over the six parts.

Every rate is a ratio of a noisy numerator and a noisy denominator, with an interval from their
noise intervals (97.5% each, union bound); ROI = (revenue - cost) / cost per campaign, with the
revenue summed over segments (post-processing) and the cost from the public table. Groups are
the public (segment, campaign) keys, released in sorted order; a group whose noisy sends fall
below the threshold is suppressed.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from privacy_profile.analytics._common import (
    HALF_LEVEL,
    AnalysisPrivacy,
    NoisyPart,
    add_part_noise,
    charge,
    check_columns,
    plan_parts,
    ratio_interval,
    segment_index,
    sorted_keys,
    unique_segment_keys,
)
from privacy_profile.analytics.funnel import OVERALL
from privacy_profile.dp.bounding import bound_contributions
from privacy_profile.dp.ledger import BudgetLedger, Charge
from privacy_profile.dp.mechanisms import MechanismRecord
from privacy_profile.dp.model import Bounds, Mechanism, PrivacyUnit
from privacy_profile.dp.rng import DPRandom
from privacy_profile.errors import InputError, PrivacyParameterError

__all__ = [
    "KpiParams",
    "KpiResult",
    "dp_campaign_kpis",
    "dp_kpis_from_pairs",
    "kpi_pairs",
    "kpi_truth",
]

#: The figure columns of :func:`kpi_pairs` (besides the unit and campaign columns).
PAIR_FIGURES = ("impressed", "clicked", "orders", "revenue")

COUNTS = ("sent", "impressed", "clicked", "converted")
PARTS = (*COUNTS, "orders", "revenue")


@dataclass(frozen=True, kw_only=True)
class KpiParams:
    """Which columns hold what, the public campaigns and costs, and the contribution bounds.

    ``campaign_column`` is in every table; ``interaction_column`` in the interactions table
    holds ``impression_value`` or ``click_value``; ``conversion_value_column`` is the order
    value of a conversion row. ``costs``: campaign -> cost (public; its keys are the released
    campaigns).
    """

    campaign_column: str
    interaction_column: str
    impression_value: str
    click_value: str
    conversion_value_column: str
    costs: Mapping[str, float]
    revenue_bounds: Bounds
    max_campaigns: int
    max_orders: int
    segment_column: str | None = None
    segments: tuple[Hashable, ...] | None = None
    campaigns: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if not self.costs:
            raise PrivacyParameterError("the public cost table lists no campaign")
        for k, v in self.costs.items():
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise PrivacyParameterError(f"campaign {k!r} needs a positive cost, got {v!r}")
        object.__setattr__(self, "costs", dict(self.costs))
        object.__setattr__(self, "campaigns", tuple(sorted_keys(list(self.costs))))
        for name in ("max_campaigns", "max_orders"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise PrivacyParameterError(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(self.revenue_bounds, Bounds):
            raise PrivacyParameterError("revenue_bounds must be public Bounds from the policy")
        if (self.segment_column is None) != (self.segments is None):
            raise PrivacyParameterError("give both segment_column and segments, or neither")
        if self.segments is not None:
            object.__setattr__(self, "segments", unique_segment_keys(self.segments))


@dataclass(frozen=True, kw_only=True)
class KpiResult:
    """``table``: one row per (segment, campaign) in sorted order with the noisy counts and
    ``ctr``, ``conversion_rate``, ``average_order_value``, ``revenue_per_send`` (each with
    ``_low/_high``). ``roi``: one row per campaign: ``revenue``, ``cost``, ``roi`` with
    ``_low/_high``."""

    table: pd.DataFrame
    roi: pd.DataFrame
    records: tuple[MechanismRecord, ...]
    charges: tuple[Charge, ...]


def kpi_pairs(
    sends: pd.DataFrame,
    interactions: pd.DataFrame,
    conversions: pd.DataFrame,
    params: KpiParams,
    unit: str,
) -> pd.DataFrame:
    """One row per (user, campaign) sent, with the user's (unclamped) figures: the unit and
    campaign columns, ``impressed`` and ``clicked`` (0/1), ``orders`` and ``revenue``
    (floats), in order of each pair's first send (the sends table's row order). Not
    private: the true input of the DP release, which bounds each user's campaigns."""
    camp = params.campaign_column
    check_columns(sends, [unit, camp], table="sends")
    check_columns(interactions, [unit, camp, params.interaction_column], table="interactions")
    check_columns(conversions, [unit, camp, params.conversion_value_column], table="conversions")
    known = set(params.campaigns)
    s = sends[[unit, camp]].drop_duplicates()
    s = s[s[camp].isin(known)]
    kind = interactions[params.interaction_column].astype("string")
    imp = interactions.loc[kind == params.impression_value, [unit, camp]].drop_duplicates()
    clk = interactions.loc[kind == params.click_value, [unit, camp]].drop_duplicates()
    imp["impressed"] = 1
    clk["clicked"] = 1
    v = conversions[params.conversion_value_column].to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isnan(v).any():
        raise InputError(f"conversion column {params.conversion_value_column!r} has missing values")
    conv = (
        conversions.assign(_v=v)
        .groupby([unit, camp], observed=True)["_v"]
        .agg(orders="size", revenue="sum")
        .reset_index()
    )
    out = s.merge(imp, how="left", on=[unit, camp]).merge(clk, how="left", on=[unit, camp])
    out = out.merge(conv, how="left", on=[unit, camp])
    return out.fillna({"impressed": 0, "clicked": 0, "orders": 0, "revenue": 0.0})


def _segment_codes(
    pairs: pd.DataFrame, segments: pd.DataFrame | None, params: KpiParams, unit: str
) -> tuple[np.ndarray, list[Hashable]]:
    if params.segments is None:
        return np.zeros(len(pairs), dtype=np.int64), [OVERALL]
    keys = sorted_keys(list(params.segments))
    seg = segment_index(
        segments,
        segment_column=params.segment_column,
        unit_column=unit,
        keys=keys,
        needed_by="per-segment KPIs need",
    )
    return np.asarray(seg.reindex(pairs[unit]).fillna(-1).to_numpy(), dtype=np.int64), keys


def kpi_truth(
    sends: pd.DataFrame,
    interactions: pd.DataFrame,
    conversions: pd.DataFrame,
    params: KpiParams,
    unit_column: str,
) -> pd.DataFrame:
    """Non-private per-campaign sums (unbounded; for tests and benchmarks, never released)."""
    p = kpi_pairs(sends, interactions, conversions, params, unit_column)
    return (
        p.assign(sent=1, converted=(p["orders"] > 0).astype(int))
        .groupby(params.campaign_column, observed=True)[list(PARTS)]
        .sum()
        .reset_index()
    )


def dp_campaign_kpis(
    sends: pd.DataFrame,
    interactions: pd.DataFrame,
    conversions: pd.DataFrame,
    *,
    params: KpiParams,
    privacy: AnalysisPrivacy,
    ledger: BudgetLedger,
    run_id: str,
    rng: DPRandom | None = None,
    segments: pd.DataFrame | None = None,
    label: str = "analytics/kpi",
) -> KpiResult:
    """Release DP campaign KPIs (see the module doc). Charged before any noise."""
    unit = privacy.unit_column
    check_columns(sends, [unit, params.campaign_column], table="sends")
    pairs = kpi_pairs(sends, interactions, conversions, params, unit)
    return dp_kpis_from_pairs(
        pairs,
        params=params,
        privacy=privacy,
        ledger=ledger,
        run_id=run_id,
        rng=rng,
        segments=segments,
        label=label,
    )


def dp_kpis_from_pairs(
    pairs: pd.DataFrame,
    *,
    params: KpiParams,
    privacy: AnalysisPrivacy,
    ledger: BudgetLedger,
    run_id: str,
    rng: DPRandom | None = None,
    segments: pd.DataFrame | None = None,
    label: str = "analytics/kpi",
) -> KpiResult:
    """The DP step of :func:`dp_campaign_kpis`: bound each user's campaigns (a secure random
    choice) and release the KPIs of the (user, campaign) rows :func:`kpi_pairs` gives
    (whichever engine computed them; the choice follows the rows' order, as the seeded
    random source does)."""
    unit = privacy.unit_column
    k, m = params.max_campaigns, params.max_orders
    b = params.revenue_bounds
    spec = [(name, Mechanism.DISCRETE_LAPLACE, float(k), 1.0) for name in COUNTS]
    spec.append(("orders", Mechanism.DISCRETE_LAPLACE, float(k * m), 1.0))
    hw = max(abs(b.lower), abs(b.upper))
    spec.append(("revenue", Mechanism.DISCRETE_LAPLACE_GRID, k * hw, 1.0))
    plans = plan_parts(privacy.loss, spec, grids={"revenue": hw})
    check_columns(pairs, [unit, params.campaign_column, *PAIR_FIGURES], table="KPI pairs")
    if (~pairs[params.campaign_column].isin(params.campaigns)).any() or pairs.duplicated(
        [unit, params.campaign_column]
    ).any():
        raise PrivacyParameterError(
            "KPI pairs must be distinct (user, campaign) rows of the public campaigns",
            hint="compute them with kpi_pairs",
        )
    # the (user, campaign) pairs' segments first: a malformed segment table fails here,
    # before any charge
    seg, seg_keys = _segment_codes(pairs, segments, params, unit)
    charges = charge(ledger, run_id, label, plans)
    rng = rng if rng is not None else DPRandom()
    camp_index = {c: i for i, c in enumerate(params.campaigns)}
    camp = pairs[params.campaign_column].map(camp_index).to_numpy(dtype=np.int64)
    n_groups = len(seg_keys) * len(params.campaigns)
    ok = seg >= 0
    pairs, group = pairs[ok].reset_index(drop=True), (seg * len(params.campaigns) + camp)[ok]
    ucodes, uniques = pd.factorize(pairs[unit], sort=False)
    bounded = bound_contributions(
        np.asarray(ucodes, dtype=np.int64),
        group,
        len(uniques),
        max(n_groups, 1),
        unit=PrivacyUnit(column=unit, max_groups_contributed=k, max_rows_per_group=1),
        rng=rng,
    )
    kept = pairs.iloc[bounded.rows]
    g = bounded.row_group
    values = {
        "sent": np.ones(len(kept)),
        "impressed": kept["impressed"].to_numpy(dtype=np.float64),
        "clicked": kept["clicked"].to_numpy(dtype=np.float64),
        "converted": (kept["orders"].to_numpy(dtype=np.float64) > 0).astype(np.float64),
        "orders": np.minimum(kept["orders"].to_numpy(dtype=np.float64), m),
        "revenue": np.clip(kept["revenue"].to_numpy(dtype=np.float64), b.lower, b.upper),
    }
    by_name = {p.name: p for p in plans}
    truths = {
        name: np.bincount(g, weights=by_name[name].units(v), minlength=n_groups)
        for name, v in values.items()
    }
    noisy, records = add_part_noise(plans, truths, rng, label)
    table = _table(noisy, seg_keys, params, privacy)
    return KpiResult(
        table=table, roi=_roi(noisy, seg_keys, params), records=records, charges=charges
    )


def _half(part: NoisyPart, level: float = HALF_LEVEL) -> float:
    return part.plan.halfwidth(level)


def _table(
    noisy: dict[str, NoisyPart],
    seg_keys: list[Hashable],
    params: KpiParams,
    privacy: AnalysisPrivacy,
) -> pd.DataFrame:
    rows = []
    val = {k: v.values.astype(np.float64) for k, v in noisy.items()}
    half = {k: _half(v) for k, v in noisy.items()}
    ratios = {
        "ctr": ("clicked", "impressed", 1.0),
        "conversion_rate": ("converted", "sent", 1.0),
        "average_order_value": ("revenue", "orders", None),
        "revenue_per_send": ("revenue", "sent", None),
    }
    i = 0
    for seg in seg_keys:
        for camp in params.campaigns:
            row: dict[str, object] = {"segment": seg, "campaign": camp}
            suppressed = bool(val["sent"][i] < max(privacy.threshold, 1))
            for name in PARTS:
                row[name] = np.nan if suppressed else max(val[name][i], 0.0)
            for name, (num, den, cap) in ratios.items():
                n, d = max(val[num][i], 0.0), val[den][i]
                if suppressed or d < 1:
                    row[name] = row[f"{name}_low"] = row[f"{name}_high"] = np.nan
                    continue
                r = n / d
                row[name] = min(r, cap) if cap is not None else r
                lo, hi = ratio_interval(n, half[num], d, half[den], cap=cap)
                row[f"{name}_low"], row[f"{name}_high"] = lo, hi
            row["suppressed"] = suppressed
            rows.append(row)
            i += 1
    return pd.DataFrame(rows)


def _roi(noisy: dict[str, NoisyPart], seg_keys: list[Hashable], params: KpiParams) -> pd.DataFrame:
    rev = noisy["revenue"]
    n_c = len(params.campaigns)
    per_seg = rev.values.astype(np.float64).reshape(len(seg_keys), n_c)
    total = per_seg.sum(axis=0)
    terms = len(seg_keys)
    sd = rev.plan.noise_sd * math.sqrt(terms)
    # one segment: the exact Laplace interval; several: a normal approximation of their sum
    h = rev.plan.halfwidth() if terms == 1 else 1.959964 * sd
    rows = []
    for j, camp in enumerate(params.campaigns):
        cost = float(params.costs[camp])
        r = float(total[j])
        rows.append(
            {
                "campaign": camp,
                "revenue": r,
                "revenue_low": r - h,
                "revenue_high": r + h,
                "cost": cost,
                "roi": (r - cost) / cost,
                "roi_low": (r - h - cost) / cost,
                "roi_high": (r + h - cost) / cost,
            }
        )
    return pd.DataFrame(rows)
