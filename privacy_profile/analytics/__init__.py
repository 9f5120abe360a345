"""Private marketing analytics: DP funnels, A/B read-outs, retention cohorts and campaign KPIs.

Each analysis is a pure function over pseudonymous pandas tables with an explicit parameter
object, the privacy unit and loss (:class:`AnalysisPrivacy`), a budget ledger charged before any
noise and a DP random generator. See docs/analytics.md.
"""

from privacy_profile.analytics._common import AnalysisPrivacy
from privacy_profile.analytics.ab import (
    ABParams,
    ABResult,
    MinimumDetectableEffect,
    dp_ab_readout,
    minimum_detectable_effect,
)
from privacy_profile.analytics.from_policy import (
    AnalyticsRelease,
    analyze_sanitized,
    run_analytics,
)
from privacy_profile.analytics.funnel import FunnelParams, FunnelResult, dp_funnel
from privacy_profile.analytics.kpi import KpiParams, KpiResult, dp_campaign_kpis
from privacy_profile.analytics.report import ReportContext, render_marketer_report
from privacy_profile.analytics.retention import RetentionParams, RetentionResult, dp_retention

__all__ = [
    "ABParams",
    "ABResult",
    "AnalysisPrivacy",
    "AnalyticsRelease",
    "FunnelParams",
    "FunnelResult",
    "KpiParams",
    "KpiResult",
    "MinimumDetectableEffect",
    "ReportContext",
    "RetentionParams",
    "RetentionResult",
    "analyze_sanitized",
    "dp_ab_readout",
    "dp_campaign_kpis",
    "dp_funnel",
    "dp_retention",
    "minimum_detectable_effect",
    "render_marketer_report",
    "run_analytics",
]
