"""The dry run: sanitize and pre-flight only, with no ledger, no DP release and nothing
written (``run --dry-run``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from privacy_profile._clock import utcnow
from privacy_profile.ingest import KeyRing, sanitize
from privacy_profile.ingest.report import IngestReport
from privacy_profile.ingest.scan import TextScanner
from privacy_profile.ingest.sources import InputsLike, PolicyLike, normalize_run_args
from privacy_profile.segments.columns import feature_columns, unit_column
from privacy_profile.segments.preflight import PreflightResult, preflight
from privacy_profile.segments.stage_inputs import segment_tables

__all__ = ["DryRun", "dry_run"]


@dataclass(frozen=True, kw_only=True)
class DryRun:
    """What ``run --dry-run`` found: the ingest report (counts stay inside the trust boundary
    with the operator) and the pre-flight result (reasons and fixes only)."""

    ingest: IngestReport
    preflight: PreflightResult

    @property
    def ok(self) -> bool:
        return self.preflight.ok


def dry_run(
    inputs: InputsLike,
    policy: PolicyLike,
    purpose: str,
    keys: KeyRing,
    *,
    scanner: TextScanner | None = None,
    now: dt.datetime | None = None,
) -> DryRun:
    """Sanitize and pre-flight only: no ledger, no DP release, nothing written."""
    source, loaded = normalize_run_args(inputs, policy)
    pol = loaded.policy
    pol.purpose(purpose)
    result = sanitize(source, pol, purpose, keys, now=now or utcnow(), scanner=scanner)
    check = preflight(
        pol,
        result.report,
        result.quarantine,
        segment_tables(pol, result),
        feature_columns(pol),
        unit_column(pol),
    )
    return DryRun(ingest=result.report, preflight=check)
