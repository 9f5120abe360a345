"""One engine: sanitize, then segment, then release, with lineage from what actually ran.

:func:`sanitize_then_segment` wires pure stages (ingestion, segmentation, release) with
collaborators passed in by the caller: the key ring, the budget ledger, the PII scanner, the
random generator and, optionally, a progress callback. Nothing here reads the environment or
picks a default key, budget or bound.

A run writes under ``out/runs/<run_id>/``::

    marketing/        segments, personas, recommendations, tree rules (JSON + CSV): DP only
    activation/       one token file per segment, only when the purpose allows activation
    quarantine/       rejected input rows with row number and reason (identifiers masked)
    lineage/          events.jsonl (OpenLineage), lineage.md, lineage.html and charts

and appends to the hash-chained run log ``out/runs/runlog.jsonl``.
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
from privacy_profile.dp import BudgetLedger, BudgetUsage, DPRandom
from privacy_profile.errors import PolicyError
from privacy_profile.ingest import IdentifierIndex, KeyRing, SanitizeResult, sanitize
from privacy_profile.ingest.backend import IngestBackend
from privacy_profile.ingest.report import IngestReport
from privacy_profile.ingest.scan import TextScanner
from privacy_profile.ingest.sources import InputsLike, PolicyLike, normalize_run_args
from privacy_profile.ingest.suppress import Suppression
from privacy_profile.lineage.guard import ReleaseGuard
from privacy_profile.lineage.recorder import LineageRecorder, new_run_id
from privacy_profile.lineage.report import render_lineage_doc
from privacy_profile.lineage.run_record import input_datasets, output_datasets, privacy_facet
from privacy_profile.lineage.runlog import RunLog
from privacy_profile.lineage.transport import LineageSender
from privacy_profile.policy.model import Drop, Policy, Pseudonymize, Tokenize
from privacy_profile.segments import (
    FLAGS_TABLE,
    OPT_OUT_COLUMN,
    FeatureColumns,
    build_segments,
)
from privacy_profile.segments.outputs import marketing_documents, write_audiences

__all__ = ["STAGES", "ProgressCallback", "Release", "sanitize_then_segment"]

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
    lineage_markdown: Path
    lineage_html: Path
    run_log: Path
    ingest: IngestReport
    epsilon_spent: float
    budget_remaining: BudgetUsage
    development_keys: bool
    stage_seconds: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------- stages


def _unit_column(policy: Policy) -> str:
    return policy.privacy.privacy_unit_column.partition(".")[2]


def _segment_tables(policy: Policy, result: SanitizeResult) -> dict[str, pd.DataFrame]:
    """The pseudonymous tables the segment stage reads, plus the per-unit opt-out flags."""
    unit = _unit_column(policy)
    subjects = policy.subjects.table
    tables = {k: v for k, v in result.tables.items() if k != policy.consent_records.table}
    users = tables[subjects]
    flags = pd.DataFrame({unit: users[unit].astype("string")})
    flags[OPT_OUT_COLUMN] = flags[unit].isin(result.activation.opted_out)
    tables[FLAGS_TABLE] = flags
    return tables


def _feature_columns(policy: Policy) -> FeatureColumns:
    """Map the policy's subjects table and its generalized columns to the feature names
    segments use.

    ``age_band`` is the subjects' birthdate or age column (generalized to bands by ingestion);
    ``province`` is the column generalized ``city_to_province``, else the first kept
    ``user.location...`` column of the subjects table (e.g. a ``Country`` column), else none.
    """
    subjects = policy.subjects.table
    users = policy.tables[subjects].columns
    age = policy.subjects.birthdate_column or policy.subjects.age_column or "age_band"
    province = next(
        (
            c
            for c, col in users.items()
            if getattr(col.treatment, "method", "") == "city_to_province"
        ),
        None,
    ) or next(
        (
            c
            for c, col in users.items()
            if col.category.startswith("user.location") and not isinstance(col.treatment, Drop)
        ),
        "province",
    )
    return FeatureColumns(users=subjects, age_band=age, province=province)


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
    in the release's notes, and a failed delivery never fails the run;
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
    run_dir = Path(out) / "runs" / run_id
    rng = rng if rng is not None else DPRandom()
    log = RunLog.for_run_dir(run_dir)
    identifiers = IdentifierIndex()  # filled by sanitize, read by the guard
    guard = ReleaseGuard.for_run(
        identifiers,
        scanner=scanner.scan_texts if scanner is not None else None,
        public_values=[run_id],
    )
    recorder = LineageRecorder(
        run_dir,
        job_namespace=pol.lineage_namespace,
        job_name=f"{pol.name}.sanitize_then_segment",
        run_log=log,
        checker=guard,
        sender=lineage_sender,
    )
    seconds: dict[str, float] = {}

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
    recorder.start(
        run_id,
        input_datasets(pol, source),
        # the pandas engine's events stay as they were; another engine is named in them
        engine=backend.describe() if backend is not None and backend.name != "pandas" else None,
    )
    try:
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
            guard.remember_pseudonyms(_pseudonym_values(pol, result))
        columns = _feature_columns(pol)
        with stage("segment"):
            seg = build_segments(
                _segment_tables(pol, result),
                pol,
                spec,
                unit_column=_unit_column(pol),
                ledger=ledger,
                run_id=run_id,
                now=utc_naive(run_now),
                rng=rng,
                purpose=purpose,
                tokenizer=_tokenizer(result),
                columns=columns,
            )
        with stage("release"):
            marketing = guard.release(
                marketing_documents(seg), run_dir / "marketing", run_log=log, run_id=run_id
            )
            activation = write_audiences(seg, run_dir / "activation", guard)
            for p in activation:  # tokens by design: hash-chained, not re-scanned for tokens
                log.record_output(run_id, p, internal=True)
            quarantine = _write_quarantine(result, run_dir / "quarantine", guard)
            for p in quarantine:
                log.record_output(run_id, p, internal=True)
        with stage("lineage"):
            facet = privacy_facet(
                loaded=loaded,
                purpose=purpose,
                keys=keys,
                result=result,
                seg=seg,
                ledger=ledger,
                run_id=run_id,
            )
            outputs, lineage = output_datasets(
                seg,
                pol,
                source,
                columns=columns,
                marketing_files=marketing,
                activation_files=activation,
            )
            recorder.complete(outputs, lineage, facet)
            md, html = render_lineage_doc(recorder.events_path, run_dir / "lineage")
    except BaseException as e:
        if not recorder.finished:
            recorder.fail(e)
        if lineage_sender is not None:
            lineage_sender.close()  # the sender logs what it could not deliver
        raise
    delivery = () if lineage_sender is None else (lineage_sender.close().describe(),)
    return Release(
        run_id=run_id,
        run_dir=run_dir,
        purpose=pur.data_use,
        segments=seg.segments,
        personas=seg.personas,
        recommendations=seg.recommendations,
        tree_rules=seg.tree_rules,
        marketing_files=tuple(marketing),
        activation_files=tuple(activation),
        quarantine_files=tuple(quarantine),
        lineage_events=recorder.events_path,
        lineage_markdown=md,
        lineage_html=html,
        run_log=log.path,
        ingest=result.report,
        epsilon_spent=sum(c.epsilon for c in ledger.charges_for_run(run_id)),
        budget_remaining=ledger.remaining(),
        development_keys=keys.is_development,
        stage_seconds=dict(seconds),
        notes=(*seg.notes, *delivery),
    )


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
