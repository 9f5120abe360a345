"""Lifecycle stages from activity windows (days before the run date, from the policy).

Precedence, first match wins, for every unit with any activity:

1. ``new``       first seen fewer than ``new_within_days`` days ago;
2. ``returning`` last seen fewer than ``active_within_days`` days ago, with no activity in the
   ``returning_gap_days`` before that window but activity earlier;
3. ``active``    last seen fewer than ``active_within_days`` days ago;
4. ``dormant``   last seen fewer than ``churned_after_days`` days ago;
5. ``churned``   otherwise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from privacy_profile.dp import MechanismRecord, PrivacyLoss, ZcdpLoss
from privacy_profile.segments._common import ReleaseContext, SegmentDef, dp_segment_table

__all__ = ["LIFECYCLE_STAGES", "LifecycleParams", "assign_lifecycle", "release_lifecycle"]

LIFECYCLE_STAGES: tuple[SegmentDef, ...] = (
    SegmentDef("new", "新客", "new"),
    SegmentDef("active", "活跃", "active"),
    SegmentDef("returning", "回流", "returning"),
    SegmentDef("dormant", "沉睡", "dormant"),
    SegmentDef("churned", "流失", "churned"),
)


@dataclass(frozen=True, kw_only=True)
class LifecycleParams:
    new_within_days: int
    active_within_days: int
    returning_gap_days: int
    churned_after_days: int


def assign_lifecycle(
    features: pd.DataFrame,
    activity: pd.DataFrame,
    params: LifecycleParams,
    *,
    unit_column: str,
    now: dt.datetime,
) -> pd.Series:
    """Stage key per row of ``features`` (pure). ``activity``: one row per (unit, day)."""
    run_day = pd.Timestamp(now.date())
    since_first = (run_day - features["first_seen"]).dt.days.to_numpy()
    since_last = (run_day - features["last_seen"]).dt.days.to_numpy()
    days_ago = (run_day - activity["_day"]).dt.days
    before = activity.loc[(days_ago >= params.active_within_days).to_numpy()]
    prev = (run_day - before.groupby(unit_column)["_day"].max()).dt.days
    prev_ago = prev.reindex(features[unit_column].to_numpy()).to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    active = since_last < params.active_within_days
    gap_edge = params.active_within_days + params.returning_gap_days
    returning = active & ~np.isnan(prev_ago) & (prev_ago >= gap_edge)
    stage = np.select(
        [
            since_first < params.new_within_days,
            returning,
            active,
            since_last < params.churned_after_days,
        ],
        ["new", "returning", "active", "dormant"],
        default="churned",
    )
    return pd.Series(stage, index=features.index, dtype="string", name="lifecycle")


def release_lifecycle(
    features: pd.DataFrame,
    activity: pd.DataFrame,
    params: LifecycleParams,
    *,
    now: dt.datetime,
    loss: PrivacyLoss | ZcdpLoss,
    ctx: ReleaseContext,
) -> tuple[pd.DataFrame, pd.Series, tuple[MechanismRecord, ...]]:
    """DP size per stage; returns (segments rows, stage per unit (internal), records)."""
    stage = assign_lifecycle(features, activity, params, unit_column=ctx.unit_column, now=now)
    units = pd.DataFrame(
        {ctx.unit_column: features[ctx.unit_column].to_numpy(), "lifecycle": stage.to_numpy()}
    )
    table, records = dp_segment_table(
        units,
        family="lifecycle",
        segments=LIFECYCLE_STAGES,
        segment_column="lifecycle",
        loss=loss,
        ctx=ctx,
        label="lifecycle/stages",
    )
    return table, pd.Series(stage.to_numpy(), index=units[ctx.unit_column].to_numpy()), records
