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
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from privacy_profile._clock import utc_naive, utcnow
from privacy_profile._io import atomic_write_text
from privacy_profile._paths import check_output_root
from privacy_profile.analytics.from_policy import (
    check_run_budget,
    run_analytics,
    runnable_analyses,
)
from privacy_profile.analytics.report import REPORT_FILE, ReportContext, render_marketer_report
from privacy_profile.dp import BudgetLedger, BudgetUsage, DPRandom
from privacy_profile.dp.ledger import Reservation
from privacy_profile.dp.policy_ledger import run_reservation
from privacy_profile.errors import InputError, PolicyError
from privacy_profile.ingest import IdentifierIndex, KeyRing, SanitizeResult, sanitize
from privacy_profile.ingest.report import IngestReport
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
)
from privacy_profile.lineage.recorder import LineageRecorder, new_run_id
from privacy_profile.lineage.run_record import input_datasets, output_datasets, privacy_facet
from privacy_profile.lineage.runlog import HeadSigner, RunLog
from privacy_profile.lineage.transport import LineageSender
from privacy_profile.policy.model import Policy, Pseudonymize, Tokenize
from privacy_profile.segments import (
    FLAGS_TABLE,
    OPT_OUT_COLUMN,
    build_segments,
)
from privacy_profile.segments.columns import feature_columns, unit_column, with_unit_column
from privacy_profile.segments.outputs import marketing_documents, write_audiences
from privacy_profile.segments.preflight import PreflightResult, preflight, require_preflight

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

ProgressCallback = Callable[[str, str], None]
"""Called as ``progress(stage, "start" | "done")``."""


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


# --------------------------------------------------------------------------- stages


def _segment_tables(policy: Policy, result: SanitizeResult) -> dict[str, pd.DataFrame]:
    """The pseudonymous tables the segment stage reads (each table's subject column named as
    the unit column), plus the per-unit opt-out flags."""
    unit = unit_column(policy)
    subjects = policy.subjects.table
    consent = policy.consent_table()
    tables = with_unit_column(policy, {k: v for k, v in result.tables.items() if k != consent})
    users = tables[subjects]
    flags = pd.DataFrame({unit: users[unit].astype("string")})
    flags[OPT_OUT_COLUMN] = flags[unit].isin(result.activation.opted_out)
    tables[FLAGS_TABLE] = flags
    return tables


def _tokenizer(result: SanitizeResult) -> Callable[[pd.Series], pd.Series] | None:
    tokens = result.activation.tokens
    if tokens is None or not result.activation.allowed:
        return None
    mapping = pd.Series(tokens["token"].to_numpy(), index=tokens["pseudonym"].to_numpy())

    def tokenize(pseudonyms: pd.Series) -> pd.Series:
        return pseudonyms.map(mapping)

    return tokenize


def _pseudonym_values(policy: Policy, result: SanitizeResult) -> Iterator[str]:
    """Each distinct pseudonym and token of the run, once (the same pseudonym is in every
    table of a domain; de-duplicating before ``str`` keeps this linear in distinct values)."""
    columns = [
        frame[cname]
        for tname, frame in result.tables.items()
        if (spec := policy.tables.get(tname)) is not None
        for cname, col in spec.columns.items()
        if isinstance(col.treatment, Pseudonymize | Tokenize) and cname in frame.columns
    ]
    tokens = result.activation.tokens
    if tokens is not None:
        columns.append(tokens["token"])
    seen: set[str] = set()
    for values in columns:
        for v in values.dropna().unique():
            s = str(v)
            if s not in seen:
                seen.add(s)
                yield s


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
    by ingestion before anything else.

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
    runs_dir = check_output_root(out) / "runs"
    run_dir = runs_dir / run_id
    staging = runs_dir / f"{STAGING_PREFIX}{run_id}"
    for taken in (run_dir, staging):
        if taken.exists():
            raise InputError(
                f"run folder {taken} already exists", hint="give a new run id, or none"
            )
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
    seconds: dict[str, float] = {}
    notes: list[str] = []

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        if progress is not None:
            progress(name, "start")
        t0 = time.perf_counter()
        yield
        seconds[name] = time.perf_counter() - t0
        if progress is not None:
            progress(name, "done")

    run_now = now or utcnow()  # one run time for retention, ages and recency
    recorder.start(run_id, input_datasets(pol, source))
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
            )
            guard.remember_pseudonyms(_pseudonym_values(pol, result))
        planned: list[str] = []
        analytics_notes: list[str] = []
        if pol.analytics is not None:  # segmentation + analytics, refused before any charge
            planned, analytics_notes = runnable_analyses(pol, source.folder)
            check_run_budget(pol, ledger, analyses=planned)
        columns = feature_columns(pol)
        seg_tables = _segment_tables(pol, result)
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
                tokenizer=_tokenizer(result),
                columns=columns,
            )
            analytics = None
            if pol.analytics is not None:
                analytics = run_analytics(
                    result.tables, pol, ledger=ledger, run_id=run_id,
                    now=utc_naive(run_now), cost_dir=source.folder, rng=rng, only=planned,
                )  # fmt: skip
        with stage("release"):  # into the staging folder: nothing is visible until published
            marketing = guard.release(
                marketing_documents(seg), staging / "marketing", run_log=staged_log, run_id=run_id
            )
            analytics_files: list[Path] = []
            report: Path | None = None
            if analytics is not None:
                analytics_files = guard.release(
                    analytics.documents(), staging / "analytics", run_log=staged_log, run_id=run_id
                )
                if pol.analytics is not None and pol.analytics.report:
                    page = render_marketer_report(
                        ReportContext(
                            policy_name=pol.name,
                            run_date=run_now.date().isoformat(),
                            epsilon_spent=sum(c.epsilon for c in ledger.charges_for_run(run_id)),
                            epsilon_budget=pol.privacy.epsilon_budget,
                            rho_spent=sum(c.rho for c in ledger.charges_for_run(run_id)),
                        ),
                        segments=seg.segments, personas=seg.personas,
                        recommendations=seg.recommendations, analytics=analytics,
                    )  # fmt: skip
                    (report,) = guard.release(
                        {REPORT_FILE: page}, staging / "report", run_log=staged_log, run_id=run_id
                    )
            activation = write_audiences(seg, staging / "activation", guard)
            for p in activation:  # tokens by design: hash-chained, not re-scanned for tokens
                staged_log.record_output(run_id, p, internal=True)
            quarantine = _write_quarantine(result, staging / "quarantine", guard)
            for p in quarantine:
                staged_log.record_output(run_id, p, internal=True)
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
                    marketing_files=marketing,
                    activation_files=activation,
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
            publish(staging, run_dir)
            published = True
            reservation.mark_released()
    except BaseException as e:
        if recorder.finished and not published:  # COMPLETE is durable: finish the one rename
            publish(staging, run_dir)
            published = True
            if reservation is not None:
                reservation.mark_released()
        elif not recorder.finished:
            fail_unpublished(recorder, e, ledger, run_id, reservation, staging, run_dir)
        if lineage_sender is not None:
            lineage_sender.close()  # the sender logs what it could not deliver
        raise
    finally:
        if reservation is not None:
            reservation.close(cancelled=not published)
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
        marketing_files=tuple(final(p) for p in marketing),
        activation_files=tuple(final(p) for p in activation),
        quarantine_files=tuple(final(p) for p in quarantine),
        lineage_events=final(recorder.events_path),
        lineage_markdown=None if docs is None else final(docs[0]),
        lineage_html=None if docs is None else final(docs[1]),
        run_log=log.path,
        ingest=result.report,
        # what the run added to the window's epsilon (the zCDP conversion of its rho included)
        epsilon_spent=reservation.spent().epsilon,
        budget_remaining=ledger.remaining(),
        development_keys=keys.is_development,
        stage_seconds=dict(seconds),
        notes=(*seg.notes, *notes, *delivery, *analytics_notes),
        analytics_files=tuple(final(p) for p in analytics_files),
        report=None if report is None else final(report),
    )


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
        _segment_tables(pol, result),
        feature_columns(pol),
        unit_column(pol),
    )
    return DryRun(ingest=result.report, preflight=check)


def _write_quarantine(result: SanitizeResult, out_dir: Path, guard: ReleaseGuard) -> list[Path]:
    """Quarantined rows (row number and reason) and the ingest report: internal evidence.

    Ingestion already masked identifiers in quarantined rows (pseudonyms or blanks); the
    release guard checks again that no raw identifier is in them before anything is written.
    """
    frames = {t: q for t, q in result.quarantine.items() if len(q)}
    guard.check_identifiers(
        {f"{name}.csv": frame for name, frame in frames.items()}, what="quarantine evidence"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in frames.items():
        written.append(atomic_write_text(out_dir / f"{name}.csv", frame.to_csv(index=False)))
    report = json.dumps(result.report.to_dict(), indent=2, ensure_ascii=False, sort_keys=True)
    written.append(atomic_write_text(out_dir / "ingest_report.json", report + "\n"))
    return written
