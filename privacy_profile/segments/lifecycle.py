"""Lifecycle stages from activity windows (days before the run date, from the policy).

Precedence, first match wins, for every unit with any activity:

1. ``new``       first seen fewer than ``new_within_days`` days ago;
2. ``returning`` last seen fewer than ``active_within_days`` days ago, with no activity in the
   ``returning_gap_days`` before that window but activity earlier;
3. ``active``    last seen fewer than ``active_within_days`` days ago;
4. ``dormant``   last seen fewer than ``churned_after_days`` days ago;
5. ``churned``   otherwise.

The rule is written once, :func:`lifecycle_stage`: a pure row-wise function of ``first_seen``,
``last_seen`` and :data:`~privacy_profile.segments.features.PREVIOUS_ACTIVE_DAY` (each unit's
last active day at least ``active_within_days`` before the run date). On a pandas table that
day comes from the ``activity`` rows (:func:`previous_active_day`); on rows kept by an engine
(:class:`~privacy_profile.segments.units.UnitRows`) it is a column of the rows, and the stage
is computed batch by batch where the rows are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy_profile.dp import MechanismRecord, PrivacyLoss, ZcdpLoss
from privacy_profile.errors import InputError
from privacy_profile.segments._common import ReleaseContext, SegmentDef, dp_segment_table
from privacy_profile.segments.features import PREVIOUS_ACTIVE_DAY
from privacy_profile.segments.units import LocalUnitRows, UnitLabels, UnitRows

__all__ = [
    "LIFECYCLE_STAGES",
    "LifecycleParams",
    "assign_lifecycle",
    "lifecycle_stage",
    "previous_active_day",
    "release_lifecycle",
]

LIFECYCLE_STAGES: tuple[SegmentDef, ...] = (
    SegmentDef("new", "新客", "new"),
    SegmentDef("active", "活跃", "active"),
    SegmentDef("returning", "回流", "returning"),
    SegmentDef("dormant", "沉睡", "dormant"),
    SegmentDef("churned", "流失", "churned"),
)

#: The stage column a release adds to the per-unit rows.
STAGE_COLUMN = "lifecycle"


@dataclass(frozen=True, kw_only=True)
class LifecycleParams:
    new_within_days: int
    active_within_days: int
    returning_gap_days: int
    churned_after_days: int


def _days_ago(run_day: pd.Timestamp, days: pd.Series) -> npt.NDArray[np.float64]:
    ago: npt.NDArray[np.float64] = (run_day - pd.to_datetime(days)).dt.days.to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    return ago


def lifecycle_stage(
    units: pd.DataFrame, params: LifecycleParams, *, now: dt.datetime
) -> npt.NDArray[np.object_]:
    """Stage key per row of ``units`` (pure, row-wise): reads ``first_seen``, ``last_seen``
    and :data:`PREVIOUS_ACTIVE_DAY` (days; NaT where the unit has no such day), nothing
    else, so it runs on any batch of the per-unit rows."""
    run_day = pd.Timestamp(now.date())
    since_first = _days_ago(run_day, units["first_seen"])
    since_last = _days_ago(run_day, units["last_seen"])
    prev_ago = _days_ago(run_day, units[PREVIOUS_ACTIVE_DAY])
    with np.errstate(invalid="ignore"):
        active = since_last < params.active_within_days
        gap_edge = params.active_within_days + params.returning_gap_days
        returning = active & ~np.isnan(prev_ago) & (prev_ago >= gap_edge)
        stage: npt.NDArray[np.object_] = np.select(
            [
                since_first < params.new_within_days,
                returning,
                active,
                since_last < params.churned_after_days,
            ],
            ["new", "returning", "active", "dormant"],
            default="churned",
        ).astype(object)
    return stage


def previous_active_day(
    features: pd.DataFrame,
    activity: pd.DataFrame,
    params: LifecycleParams,
    *,
    unit_column: str,
    now: dt.datetime,
) -> pd.Series:
    """Per row of ``features``: the unit's last active day (``activity``: one row per (unit,
    ``_day``), all of them or the reduced rows of
    :func:`~privacy_profile.segments.features.reduce_activity`) at least
    ``active_within_days`` before the run date; NaT when there is none."""
    run_day = pd.Timestamp(now.date())
    days_ago = (run_day - activity["_day"]).dt.days
    before = activity.loc[(days_ago >= params.active_within_days).to_numpy()]
    last = before.groupby(unit_column)["_day"].max()
    return pd.Series(
        last.reindex(features[unit_column].to_numpy()).to_numpy(),
        index=features.index,
        name=PREVIOUS_ACTIVE_DAY,
    )


def assign_lifecycle(
    features: pd.DataFrame,
    activity: pd.DataFrame,
    params: LifecycleParams,
    *,
    unit_column: str,
    now: dt.datetime,
) -> pd.Series:
    """Stage key per row of ``features`` (pure). ``activity``: one row per (unit, day)."""
    prev = previous_active_day(features, activity, params, unit_column=unit_column, now=now)
    stage = lifecycle_stage(
        pd.DataFrame(
            {
                "first_seen": features["first_seen"].to_numpy(),
                "last_seen": features["last_seen"].to_numpy(),
                PREVIOUS_ACTIVE_DAY: prev.to_numpy(),
            }
        ),
        params,
        now=now,
    )
    return pd.Series(stage, index=features.index, dtype="string", name="lifecycle")


def _stage_columns(
    batch: pd.DataFrame, *, params: LifecycleParams, now: dt.datetime
) -> pd.DataFrame:
    """The stage column of a batch of per-unit rows (runs where the rows are)."""
    return pd.DataFrame({STAGE_COLUMN: lifecycle_stage(batch, params, now=now)})


def release_lifecycle(
    features: pd.DataFrame | UnitRows,
    activity: pd.DataFrame | None,
    params: LifecycleParams,
    *,
    now: dt.datetime,
    loss: PrivacyLoss | ZcdpLoss,
    ctx: ReleaseContext,
) -> tuple[pd.DataFrame, pd.Series | UnitLabels, tuple[MechanismRecord, ...]]:
    """DP size per stage; returns (segments rows, stage per unit (internal), records).

    A pandas ``features`` table reads the previous active day from ``activity`` and gives
    the stages as a Series (stage by unit). Rows kept by an engine (:class:`UnitRows`) must
    carry :data:`PREVIOUS_ACTIVE_DAY` (``activity`` is not read): the stage is a column
    computed batch by batch where the rows are, the sizes are aggregated there, and the
    stages come back as :class:`UnitLabels`."""
    u = ctx.unit_column
    rows: UnitRows
    if isinstance(features, pd.DataFrame):
        if activity is None:
            raise InputError(
                "the lifecycle stage of a pandas features table needs the activity rows",
                hint="pass UnitFeatures.activity",
            )
        prev = previous_active_day(features, activity, params, unit_column=u, now=now)
        rows = LocalUnitRows(features.assign(**{PREVIOUS_ACTIVE_DAY: prev.to_numpy()}))
    else:
        if PREVIOUS_ACTIVE_DAY not in features.columns:
            raise InputError(
                f"the per-unit rows lack the column {PREVIOUS_ACTIVE_DAY!r} the lifecycle "
                "stage reads",
                hint="compute the features with FeatureParams.activity_before_days set to "
                "the lifecycle's active_within_days",
            )
        rows = features
    labelled = rows.with_columns(
        partial(_stage_columns, params=params, now=now), {STAGE_COLUMN: "string"}
    )
    staged = labelled.select([u, STAGE_COLUMN])
    table, records = dp_segment_table(
        staged,
        family="lifecycle",
        segments=LIFECYCLE_STAGES,
        segment_column=STAGE_COLUMN,
        loss=loss,
        ctx=ctx,
        label="lifecycle/stages",
    )
    if isinstance(features, pd.DataFrame):
        got = staged.to_pandas()
        return table, pd.Series(got[STAGE_COLUMN].to_numpy(), index=got[u].to_numpy()), records
    # every unit's row with its stage (the tag columns too: personas aggregate them)
    return table, UnitLabels(labelled, u, STAGE_COLUMN), records
