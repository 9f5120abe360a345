"""The release stage: a run's outputs written into its staging folder through the release
guard (marketing, analytics and the marketer report are checked for every identifier, pseudonym
and PII; activation audiences and quarantine evidence for raw identifiers) and hashed into the
run log at the paths they will have once published."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from privacy_profile.analytics import AnalyticsRelease
from privacy_profile.analytics.report import REPORT_FILE, ReportContext, render_marketer_report
from privacy_profile.dp import BudgetLedger
from privacy_profile.ingest import SanitizeResult
from privacy_profile.lineage.dev_marking import mark_development
from privacy_profile.lineage.guard import ReleaseGuard
from privacy_profile.lineage.output_files import Output
from privacy_profile.lineage.quarantine_files import write_quarantine
from privacy_profile.lineage.runlog import RunLog
from privacy_profile.policy.model import Policy
from privacy_profile.segments import SegmentRelease
from privacy_profile.segments.outputs import marketing_documents, write_audiences

__all__ = ["StagedOutputs", "stage_outputs"]


@dataclass(frozen=True, kw_only=True)
class StagedOutputs:
    """The files the release stage wrote, at their staging paths."""

    marketing: tuple[Path, ...]
    analytics: tuple[Path, ...]
    report: Path | None
    activation: tuple[Path, ...]
    quarantine: tuple[Path, ...]


def stage_outputs(
    *,
    policy: Policy,
    result: SanitizeResult,
    seg: SegmentRelease,
    analytics: AnalyticsRelease | None,
    guard: ReleaseGuard,
    ledger: BudgetLedger,
    run_id: str,
    run_date: dt.date,
    staging: Path,
    staged_log: RunLog,
    development_keys: bool = False,
) -> StagedOutputs:
    """Write every output of the run into ``staging`` (nothing is visible until published);
    with ``development_keys`` every released file says so in its own metadata."""

    def marked(docs: Mapping[str, Output]) -> Mapping[str, Output]:
        return mark_development(docs) if development_keys else docs

    marketing = guard.release(
        marked(marketing_documents(seg)), staging / "marketing", run_log=staged_log, run_id=run_id
    )
    analytics_files: list[Path] = []
    report: Path | None = None
    if analytics is not None:
        analytics_files = guard.release(
            marked(analytics.documents()), staging / "analytics", run_log=staged_log, run_id=run_id
        )
        if policy.analytics is not None and policy.analytics.report:
            page = render_marketer_report(
                ReportContext(
                    policy_name=policy.name,
                    run_date=run_date.isoformat(),
                    epsilon_spent=sum(c.epsilon for c in ledger.charges_for_run(run_id)),
                    epsilon_budget=policy.privacy.epsilon_budget,
                    rho_spent=sum(c.rho for c in ledger.charges_for_run(run_id)),
                ),
                segments=seg.segments, personas=seg.personas,
                recommendations=seg.recommendations, analytics=analytics,
            )  # fmt: skip
            (report,) = guard.release(
                marked({REPORT_FILE: page}), staging / "report", run_log=staged_log, run_id=run_id
            )
    activation = write_audiences(
        seg, staging / "activation", guard, development_keys=development_keys
    )
    for p in activation:  # tokens by design: hash-chained, not re-scanned for tokens
        staged_log.record_output(run_id, p, internal=True)
    quarantine = write_quarantine(result, staging / "quarantine", guard)
    for p in quarantine:
        staged_log.record_output(run_id, p, internal=True)
    return StagedOutputs(
        marketing=tuple(marketing),
        analytics=tuple(analytics_files),
        report=report,
        activation=tuple(activation),
        quarantine=tuple(quarantine),
    )
