"""One engine: sanitize, then segment, then release, with lineage from what actually ran.

:func:`sanitize_then_segment` wires pure stages (ingestion, segmentation, release) with
collaborators passed in by the caller: the key ring, the budget ledger, the PII scanner, the
random generator and, optionally, a progress callback. Nothing here reads the environment or
picks a default key, budget or bound.

A run writes into ``out/runs/.staging-<run_id>/`` and is published by one rename to
``out/runs/<run_id>/`` once its COMPLETE event is durable::

    marketing/        segments, personas, recommendations, tree rules (JSON + CSV): DP only
    activation/       one token file per segment, only when the purpose allows activation
    quarantine/       rejected input rows with row number and reason (identifiers masked)
    lineage/          events.jsonl (OpenLineage), lineage.md, lineage.html and charts

and appends to the hash-chained run log ``out/runs/runlog.jsonl``. A run that fails publishes
its lineage events (START, FAIL) alone: none of its outputs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from privacy_profile._clock import utc_naive, utcnow
from privacy_profile.analytics.from_policy import (
    check_run_budget,
    run_analytics,
    runnable_analyses,
)
from privacy_profile.dp import BudgetLedger, BudgetUsage, DPRandom
from privacy_profile.dp.ledger import Reservation
from privacy_profile.dp.policy_ledger import run_reservation
from privacy_profile.errors import PolicyError
from privacy_profile.ingest import IdentifierIndex, KeyRing, sanitize
from privacy_profile.ingest.backend import IngestBackend
from privacy_profile.ingest.report import IngestReport
from privacy_profile.ingest.run_values import pseudonym_values
from privacy_profile.ingest.scan import TextScanner
from privacy_profile.ingest.sources import InputsLike, PolicyLike, normalize_run_args
from privacy_profile.ingest.suppress import Suppression
from privacy_profile.lineage.audit import LEDGER_STATE_KIND, ledger_state_payload
from privacy_profile.lineage.guard import ReleaseGuard
from privacy_profile.lineage.publish import (
    STAGING_PREFIX,
    as_published,
    fail_unpublished,
    publish,
    render_docs,
    run_folders,
)
from privacy_profile.lineage.recorder import LineageRecorder, new_run_id
from privacy_profile.lineage.run_record import input_datasets, output_datasets, privacy_facet
from privacy_profile.lineage.runlog import HeadSigner, RunLog
from privacy_profile.lineage.transport import LineageSender
from privacy_profile.segments import build_segments
from privacy_profile.segments.columns import feature_columns, unit_column
from privacy_profile.segments.preflight import require_preflight
from privacy_profile.segments.stage_inputs import segment_tables, tokenizer_for
from privacy_profile.stages.dry_run import DryRun, dry_run
from privacy_profile.stages.release import stage_outputs
from privacy_profile.stages.timing import ProgressCallback, StageTimer

__all__ = [
    "STAGES",
    "STAGING_PREFIX",
    "DryRun",
    "ProgressCallback",
    "Release",
    "dry_run",
    "sanitize_then_segment",
]

STAGES = ("sanitize", "segment", "release", "lineage")
"""The stages of a run, in order (progress callbacks receive these names)."""


@dataclass(frozen=True, kw_only=True)
class Release:
    """What one run released, and where its evidence is."""

    run_id: str
    run_dir: Path
    purpose: str
    segments: pd.DataFrame
    personas: pd.DataFrame
    recommendations: pd.DataFrame
    tree_rules: pd.DataFrame
    marketing_files: tuple[Path, ...]
    activation_files: tuple[Path, ...]
    quarantine_files: tuple[Path, ...]
    lineage_events: Path
    lineage_markdown: Path | None  # None when rendering failed after COMPLETE (see notes)
    lineage_html: Path | None
    run_log: Path
    ingest: IngestReport
    epsilon_spent: float
    budget_remaining: BudgetUsage
    development_keys: bool
    stage_seconds: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    analytics_files: tuple[Path, ...] = ()  # DP analytics tables (policy `analytics`)
    report: Path | None = None  # the marketer report (HTML), with analytics


# --------------------------------------------------------------------------- the engine


def sanitize_then_segment(
    inputs: InputsLike,
    policy: PolicyLike,
    purpose: str,
    keys: KeyRing,
    ledger: BudgetLedger,
    out: str | Path,
    *,
    scanner: TextScanner | None = None,
    rng: DPRandom | None = None,
    now: dt.datetime | None = None,
    run_id: str | None = None,
    progress: ProgressCallback | None = None,
    lineage_sender: LineageSender | None = None,
    signer: HeadSigner | None = None,
    suppression: Suppression | None = None,
    backend: IngestBackend | None = None,
) -> Release:
    """Sanitize the raw inputs, build DP segments and personas, and release them with lineage.

    ``inputs`` is a folder, a mapping of table name to file path or to pandas DataFrame;
    ``policy`` a loaded policy, a Policy or a policy file; ``purpose`` a data use it declares;
    ``keys`` a :class:`~privacy_profile.ingest.KeyRing`; ``ledger`` the budget ledger charged
    before any noisy value exists; ``scanner`` the PII scanner for free text (without one,
    free-text columns are dropped); ``rng`` the DP random generator (secure by default);
    ``lineage_sender`` also delivers each lineage event to a lineage server (see
    :func:`~privacy_profile.lineage.transport.sender_from_environment`); what it delivered is
    in the release's notes, and a failed delivery never fails the run; ``signer`` signs the
    run-log head at the end (Ed25519, see lineage.signing);
    ``suppression`` the rights register's snapshot (``RightsRegister.suppression()``), applied
    by ingestion before anything else; ``backend`` runs ingestion's per-chunk stages (pandas
    here by default; :class:`privacy_profile.spark.SparkBackend` on Spark); the lineage
    records which.

    On any error the lineage records a FAIL event, nothing is released, and the error is
    re-raised (a :class:`~privacy_profile.errors.PrivacyProfileError` for user errors).
    """
    source, loaded = normalize_run_args(inputs, policy)  # InputError/PolicyError before anything
    pol = loaded.policy
    if pol.segmentation is None:
        raise PolicyError(
            f"policy {pol.name!r} has no `segmentation` section: there is nothing to release",
            hint="add a segmentation section (see docs/segments.md), or call sanitize() only",
        )
    spec = pol.segmentation
    pur = pol.purpose(purpose)
    if ledger.dataset != pol.privacy.budget_dataset:
        raise PolicyError(
            f"the ledger is for dataset {ledger.dataset!r}, the policy budgets "
            f"{pol.privacy.budget_dataset!r}",
            hint="open the ledger with the policy's privacy.budget_dataset",
        )
    run_id = run_id or new_run_id()
    run_dir, staging = run_folders(out, run_id)
    rng = rng if rng is not None else DPRandom()
    log = RunLog.for_run_dir(run_dir)
    staged_log = log.staged(staging, run_dir)  # records outputs at their published paths
    identifiers = IdentifierIndex()  # filled by sanitize, read by the guard
    guard = ReleaseGuard.for_run(
        identifiers,
        scanner=scanner.scan_texts if scanner is not None else None,
        public_values=[run_id],
    )
    recorder = LineageRecorder(
        staging,
        job_namespace=pol.lineage_namespace,
        job_name=f"{pol.name}.sanitize_then_segment",
        run_log=log,
        checker=guard,
        sender=lineage_sender,
    )
    stage = StageTimer(progress)
    notes: list[str] = []

    run_now = now or utcnow()  # one run time for retention, ages and recency
    recorder.start(
        run_id,
        input_datasets(pol, source),
        # the pandas engine's events stay as they were; another engine is named in them
        engine=backend.describe() if backend is not None and backend.name != "pandas" else None,
    )
    reservation: Reservation | None = None
    published = False
    try:
        # reserve the run's whole loss before computing anything: of racing runs, exactly as
        # many as the budget allows get past this line; the others are refused charging nothing
        reservation = ledger.reserve(run_id, run_reservation(ledger, pol, spec))
        with stage("sanitize"):
            result = sanitize(
                source,
                pol,
                purpose,
                keys,
                now=run_now,
                scanner=scanner,
                identifiers=identifiers,
                suppression=suppression,
                backend=backend,
            )
            guard.remember_pseudonyms(pseudonym_values(pol, result))
        planned: list[str] = []
        analytics_notes: list[str] = []
        if pol.analytics is not None:  # segmentation + analytics, refused before any charge
            planned, analytics_notes = runnable_analyses(pol, source.folder)
            check_run_budget(pol, ledger, analyses=planned)
        columns = feature_columns(pol)
        seg_tables = segment_tables(pol, result)
        # before the first ledger charge: refuse a run that cannot deliver (nothing spent)
        require_preflight(
            pol,
            result.report,
            result.quarantine,
            seg_tables,
            columns,
            unit_column(pol),
        )
        with stage("segment"):
            seg = build_segments(
                seg_tables,
                pol,
                spec,
                unit_column=unit_column(pol),
                ledger=ledger,
                run_id=run_id,
                now=utc_naive(run_now),
                rng=rng,
                purpose=purpose,
                tokenizer=tokenizer_for(result),
                columns=columns,
            )
            analytics = None
            if pol.analytics is not None:
                analytics = run_analytics(
                    result.tables, pol, ledger=ledger, run_id=run_id,
                    now=utc_naive(run_now), cost_dir=source.folder, rng=rng, only=planned,
                )  # fmt: skip
        if result.tables.collected:  # a stage without a version for the engine holding them
            notes.append(
                "collected to the driver (a stage without a "
                f"{backend.name if backend is not None else 'remote'} version): "
                + ", ".join(sorted(set(result.tables.collected)))
            )
        with stage("release"):  # into the staging folder: nothing is visible until published
            staged = stage_outputs(
                policy=pol, result=result, seg=seg, analytics=analytics, guard=guard,
                ledger=ledger, run_id=run_id, run_date=run_now.date(), staging=staging,
                staged_log=staged_log, development_keys=keys.is_development,
            )  # fmt: skip
        with stage("lineage"):
            facet = privacy_facet(
                loaded=loaded,
                purpose=purpose,
                keys=keys,
                result=result,
                seg=seg,
                ledger=ledger,
                run_id=run_id,
                extra_records=analytics.records if analytics is not None else (),
            )
            outputs, lineage = as_published(
                *output_datasets(
                    seg,
                    pol,
                    source,
                    columns=columns,
                    marketing_files=list(staged.marketing),
                    activation_files=list(staged.activation),
                ),
                staging,
                run_dir,
            )
            log.append(run_id, LEDGER_STATE_KIND, ledger_state_payload(ledger, run_id))
            recorder.complete(outputs, lineage, facet)  # durable: fsynced file and run log
            docs = render_docs(recorder.events_path, staging / "lineage", run_dir, notes)
            if docs is not None:  # documents and charts: hashed, at their published paths
                for p in sorted((staging / "lineage").iterdir()):
                    if p.is_file() and p != recorder.events_path:
                        staged_log.record_output(run_id, p, internal=True)
            if signer is not None:  # Ed25519 over the head: truncation and re-hashing show
                staged_log.sign_head(run_id, signer)
            publish(staging, run_dir, pol.output_access)
            published = True
            reservation.mark_released()
    except BaseException as e:
        if recorder.finished and not published:  # COMPLETE is durable: finish the one rename
            publish(staging, run_dir, pol.output_access)
            published = True
            if reservation is not None:
                reservation.mark_released()
        elif not recorder.finished:
            fail_unpublished(
                recorder, e, ledger, run_id, reservation, staging, run_dir, pol.output_access
            )
        if lineage_sender is not None:
            lineage_sender.close()  # the sender logs what it could not deliver
        raise
    finally:
        if reservation is not None:
            reservation.close(cancelled=not published)
        if backend is not None:  # the rows it kept for this run (staged files) are deleted
            backend.cleanup()
    delivery = () if lineage_sender is None else (lineage_sender.close().describe(),)

    def final(p: Path) -> Path:
        return run_dir / p.relative_to(staging)

    return Release(
        run_id=run_id,
        run_dir=run_dir,
        purpose=pur.data_use,
        segments=seg.segments,
        personas=seg.personas,
        recommendations=seg.recommendations,
        tree_rules=seg.tree_rules,
        marketing_files=tuple(final(p) for p in staged.marketing),
        activation_files=tuple(final(p) for p in staged.activation),
        quarantine_files=tuple(final(p) for p in staged.quarantine),
        lineage_events=final(recorder.events_path),
        lineage_markdown=None if docs is None else final(docs[0]),
        lineage_html=None if docs is None else final(docs[1]),
        run_log=log.path,
        ingest=result.report,
        # what the run added to the window's epsilon (the zCDP conversion of its rho included)
        epsilon_spent=reservation.spent().epsilon,
        budget_remaining=ledger.remaining(),
        development_keys=keys.is_development,
        stage_seconds=dict(stage.seconds),
        notes=(*seg.notes, *notes, *delivery, *analytics_notes),
        analytics_files=tuple(final(p) for p in staged.analytics),
        report=None if staged.report is None else final(staged.report),
    )
