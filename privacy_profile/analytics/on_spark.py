"""The analyses' per-unit reductions for Spark DataFrames, called with the analyses' own
parameter objects: each returns what its pandas twin returns (:func:`funnel_depths`,
:func:`ab_per_user`, :func:`retention_pairs`, :func:`kpi_pairs`), ready for the same DP step.
The Spark work is :mod:`privacy_profile.spark.analytics`; only unit-scale results are collected.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy_profile.analytics.ab import ABParams, UserArms, user_arms
from privacy_profile.analytics.funnel import FunnelParams
from privacy_profile.analytics.kpi import KpiParams
from privacy_profile.analytics.retention import RetentionParams
from privacy_profile.spark import analytics as _spark

__all__ = ["ab_per_user_spark", "funnel_depths_spark", "kpi_pairs_spark", "retention_pairs_spark"]


def funnel_depths_spark(
    events: Any, params: FunnelParams, unit_column: str
) -> tuple[npt.NDArray[np.int64], pd.Index]:
    """:func:`~privacy_profile.analytics.funnel.funnel_depths` of a Spark DataFrame."""
    return _spark.spark_funnel_depths(
        events,
        unit_column=unit_column,
        event_column=params.event_column,
        time_column=params.time_column,
        steps=params.steps,
        window=params.window,
    )


def ab_per_user_spark(
    exposures: Any, outcomes: Any, params: ABParams, unit_column: str
) -> UserArms:
    """:func:`~privacy_profile.analytics.ab.ab_per_user` of Spark DataFrames."""
    got = _spark.spark_ab_per_user(
        exposures,
        outcomes,
        unit_column=unit_column,
        arm_column=params.arm_column,
        arms=sorted(params.arms),
        exposure_time_column=params.exposure_time_column,
        outcome_time_column=params.outcome_time_column,
        outcome_value_column=params.outcome_value_column,
        window=params.window,
        campaign_column=params.campaign_column,
        campaign=params.campaign,
    )
    return user_arms(
        got["arm"].to_numpy(dtype=np.int64),
        got["outcomes"].to_numpy(),
        got["total"].to_numpy(dtype=np.float64),
        params,
    )


def retention_pairs_spark(activity: Any, params: RetentionParams, unit_column: str) -> pd.DataFrame:
    """:func:`~privacy_profile.analytics.retention.retention_pairs` of a Spark DataFrame."""
    return _spark.spark_retention_pairs(
        activity,
        unit_column=unit_column,
        time_column=params.time_column,
        period=params.period,
        start=params.start,
        cohorts=params.cohorts,
        max_offset=params.max_offset,
    )


def kpi_pairs_spark(
    sends: Any, interactions: Any, conversions: Any, params: KpiParams, unit_column: str
) -> pd.DataFrame:
    """:func:`~privacy_profile.analytics.kpi.kpi_pairs` of Spark DataFrames (same order: see
    :func:`~privacy_profile.spark.analytics.spark_kpi_pairs`)."""
    return _spark.spark_kpi_pairs(
        sends,
        interactions,
        conversions,
        unit_column=unit_column,
        campaign_column=params.campaign_column,
        campaigns=params.campaigns,
        interaction_column=params.interaction_column,
        impression_value=params.impression_value,
        click_value=params.click_value,
        conversion_value_column=params.conversion_value_column,
    )
