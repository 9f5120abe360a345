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
import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from privacy_profile._io import atomic_write_text
from privacy_profile._paths import check_ledger_path, check_output_root
from privacy_profile.dp import BudgetLedger, BudgetUsage, BudgetWindow, DPRandom, PrivacyLoss
from privacy_profile.errors import PolicyError
from privacy_profile.ingest import KeyRing, SanitizeResult, sanitize, write_sanitized
from privacy_profile.ingest.report import IngestReport
from privacy_profile.lineage.audit import LEDGER_STATE_KIND, ledger_state_payload
from privacy_profile.lineage.facets import (
    BudgetState,
    ColumnLineage,
    DatasetInfo,
    DpMechanismRecord,
    DpReleaseValue,
    FieldInfo,
    KAnonymityResult,
    KeyInfo,
    PrivacyRunFacet,
    ProcessingRecord,
    SourceField,
    TableCounts,
    Transform,
)
from privacy_profile.lineage.guard import ReleaseGuard
from privacy_profile.lineage.recorder import LineageRecorder, new_run_id
from privacy_profile.lineage.report import render_lineage_doc
from privacy_profile.lineage.runlog import HeadSigner, RunLog
from privacy_profile.lineage.signing import PUBLIC_KEY_FILE, RunLogSigner
from privacy_profile.policy.loader import LoadedPolicy, load_policy_file
from privacy_profile.policy.model import (
    ColumnRole,
    Drop,
    Policy,
    Pseudonymize,
    Tokenize,
    WindowKind,
)
from privacy_profile.policy.rules import sensitive_columns
from privacy_profile.segments import (
    FLAGS_TABLE,
    OPT_OUT_COLUMN,
    FeatureColumns,
    SegmentRelease,
    build_segments,
)
from privacy_profile.segments.outputs import marketing_documents, write_audiences

__all__ = [
    "STAGES",
    "DemoResult",
    "ProgressCallback",
    "Release",
    "SanitizeOutput",
    "TextScanner",
    "budget_status",
    "open_ledger",
    "run_demo",
    "sanitize_then_segment",
    "sanitize_to_dir",
    "scanner_for",
]

STAGES = ("sanitize", "segment", "release", "lineage")
"""The stages of a run, in order (progress callbacks receive these names)."""

ProgressCallback = Callable[[str, str], None]
"""Called as ``progress(stage, "start" | "done")``."""

TextScanner = Any  # privacy_profile.pii.PiiScanner or anything with scan_texts/redact_series

JOB_NAMESPACE = "privacy_profile"


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


# --------------------------------------------------------------------------- lineage pieces


def _input_datasets(policy: Policy, inputs: Path) -> list[DatasetInfo]:
    sensitive = set(sensitive_columns(policy))
    ns = inputs.resolve().as_uri()
    out = []
    for tname, table in policy.tables.items():
        fields = tuple(
            FieldInfo(
                name=c,
                type=col.type.value,
                category=col.category,
                pii=col.role in (ColumnRole.DIRECT_IDENTIFIER, ColumnRole.FREE_TEXT),
                sensitive=(tname, c) in sensitive,
            )
            for c, col in table.columns.items()
        )
        out.append(DatasetInfo(namespace=ns, name=table.file_name(tname), fields=fields))
    return out


def _output_datasets(
    run_dir: Path, seg: SegmentRelease, policy: Policy, inputs: Path
) -> tuple[list[DatasetInfo], list[ColumnLineage]]:
    ns = (run_dir / "marketing").resolve().as_uri()
    in_ns = inputs.resolve().as_uri()
    unit_table, _, unit = policy.privacy.privacy_unit_column.partition(".")
    unit_file = policy.tables[unit_table].file_name(unit_table)
    datasets: list[DatasetInfo] = []
    lineage: list[ColumnLineage] = []
    metric_sources = [
        (policy.tables[b.table].file_name(b.table), b.column) for b in policy.privacy.metric_bounds
    ]
    for name, frame in seg.marketing_tables().items():
        fname = f"{name}.csv"
        fields = tuple(
            FieldInfo(
                name=str(c),
                type=str(frame[c].dtype),
                category="system.operations",
                pii=False,
                sensitive=False,
            )
            for c in frame.columns
        )
        datasets.append(DatasetInfo(namespace=ns, name=fname, fields=fields))
        numeric = [str(c) for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        for col in numeric:
            sources = [
                SourceField(
                    namespace=in_ns, name=unit_file, field=unit, transform=Transform.DP_AGGREGATE
                )
            ]
            sources += [
                SourceField(namespace=in_ns, name=f, field=c, transform=Transform.DP_AGGREGATE)
                for f, c in metric_sources
            ]
            lineage.append(ColumnLineage(output=fname, field=col, sources=tuple(sources)))
    return datasets, lineage


def _privacy_facet(
    *,
    loaded: LoadedPolicy,
    purpose: str,
    keys: KeyRing,
    result: SanitizeResult,
    seg: SegmentRelease,
    ledger: BudgetLedger,
    run_id: str,
) -> PrivacyRunFacet:
    policy = loaded.policy
    pur = policy.purpose(purpose)
    report = result.report
    key_infos = [
        KeyInfo(
            role=f"pseudonymization:{d['domain']}"
            if d["domain"] != "<custodian>"
            else "tokenization",
            key_id=str(d["key_id"]),
            fingerprint=str(d["fingerprint"]),
            development_key=bool(d.get("development", False)),
        )
        for d in keys.describe()
    ]
    tables = tuple(
        TableCounts(
            table=t.table,
            input=t.input_rows,
            accepted=t.accepted_rows,
            excluded=dict(t.excluded),
            quarantined=dict(t.quarantined),
        )
        for t in report.tables.values()
    )
    findings: dict[str, int] = {}
    for t in report.tables.values():
        for per_col in t.scan_findings.values():
            for ent, n in per_col.items():
                findings[ent] = findings.get(ent, 0) + n
    kanon = next((t.k_anonymity for t in report.tables.values() if t.k_anonymity), None)
    k_result = (
        None
        if kanon is None
        else KAnonymityResult(
            k=kanon.k,
            smallest_class=kanon.smallest_class_after,
            classes_below_k=kanon.classes_below_k,
            rows_suppressed=kanon.rows_suppressed,
            quasi_identifiers=tuple(kanon.quasi_identifiers),
        )
    )
    release_of = _release_of_label(seg)
    scale_of = {r.label: r.scale for r in seg.records}
    mechanisms = tuple(
        DpMechanismRecord(
            release=release_of(c.label),
            label=c.label,
            mechanism=c.mechanism,
            epsilon=c.epsilon,
            delta=c.delta,
            sensitivity=c.sensitivity,
            noise_scale=scale_of.get(c.label, 0.0),
        )
        for c in ledger.charges_for_run(run_id)
    )
    spent, left = ledger.spent(), ledger.remaining()
    pv = policy.privacy
    budget = BudgetState(
        dataset=pv.budget_dataset,
        window=_window_spec(policy),
        epsilon_budget=pv.epsilon_budget,
        delta_budget=pv.delta_budget,
        spent_epsilon=spent.epsilon,
        spent_delta=spent.delta,
        remaining_epsilon=left.epsilon,
        remaining_delta=left.delta,
    )
    categories = sorted(
        {
            col.category
            for t in policy.tables.values()
            for col in t.columns.values()
            if not isinstance(col.treatment, Drop)
        }
    )
    processing = ProcessingRecord(
        controller=policy.controller,
        purpose=pur.data_use,
        purpose_name=pur.name,
        legal_basis=pur.legal_basis.value,
        data_categories=tuple(categories),
        data_subjects=("customers and users of the mini-program",),
        recipients=tuple(pur.recipients),
        retention_days={n: t.retention_days for n, t in policy.tables.items()},
        assessment_id=policy.assessment.id if policy.assessment else None,
    )
    return PrivacyRunFacet(
        policy_name=policy.name,
        policy_digest=loaded.digest,
        purpose=pur.data_use,
        keys=tuple(key_infos),
        tables=tables,
        pii_findings=findings,
        k_anonymity=k_result,
        dp_mechanisms=mechanisms,
        dp_releases=_release_values(seg),
        budget=budget,
        processing=processing,
    )


def _window_spec(policy: Policy) -> str:
    w = policy.privacy.budget_window
    return f"rolling_days:{w.days}" if w.kind.value == "rolling_days" else "calendar_month"


def _release_of_label(seg: SegmentRelease) -> Callable[[str], str]:
    names = sorted(seg.epsilon, key=len, reverse=True)

    def release(label: str) -> str:
        for n in names:
            if label == n or any(label.startswith(n + sep) for sep in "/:."):
                return n
        return re.split(r"[/:.]", label, maxsplit=1)[0]

    return release


def _release_values(seg: SegmentRelease) -> tuple[DpReleaseValue, ...]:
    """Released segment sizes with their 95% intervals (group-level values only)."""
    df = seg.segments
    need = {"family", "label", "dp_size", "size_ci_low", "size_ci_high"}
    if not need <= set(df.columns):
        return ()
    rows = df.dropna(subset=["dp_size"])
    return tuple(
        DpReleaseValue(
            release=str(r["family"]),
            group=str(r["label"]),
            value=float(r["dp_size"]),
            ci_low=float(r["size_ci_low"]),
            ci_high=float(r["size_ci_high"]),
        )
        for _, r in rows.iterrows()
    )


# --------------------------------------------------------------------------- the engine


def sanitize_then_segment(
    inputs: str | Path,
    policy: LoadedPolicy | str | Path,
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
    signer: HeadSigner | None = None,
) -> Release:
    """Sanitize the raw inputs, build DP segments and personas, and release them with lineage.

    ``policy`` is a loaded policy or a policy file; ``purpose`` a data use it declares;
    ``keys`` a :class:`~privacy_profile.ingest.KeyRing`; ``ledger`` the budget ledger charged
    before any noisy value exists; ``scanner`` the PII scanner for free text (without one,
    free-text columns are dropped); ``rng`` the DP random generator (secure by default);
    ``signer`` signs the run-log head at the end (Ed25519, see lineage.signing).

    On any error the lineage records a FAIL event, nothing is released, and the error is
    re-raised (a :class:`~privacy_profile.errors.PrivacyProfileError` for user errors).
    """
    loaded = policy if isinstance(policy, LoadedPolicy) else load_policy_file(policy)
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
    inputs = Path(inputs)
    run_id = run_id or new_run_id()
    run_dir = check_output_root(out) / "runs" / run_id
    rng = rng if rng is not None else DPRandom()
    log = RunLog.for_run_dir(run_dir)
    guard = ReleaseGuard.for_run(
        scanner=scanner.scan_texts if scanner is not None else None, public_values=[run_id]
    )
    recorder = LineageRecorder(
        run_dir,
        job_namespace=JOB_NAMESPACE,
        job_name=f"{pol.name}.sanitize_then_segment",
        run_log=log,
        checker=guard,
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

    run_now = now or dt.datetime.now(dt.UTC)  # one run time for retention, ages and recency
    recorder.start(run_id, _input_datasets(pol, inputs))
    try:
        with stage("sanitize"):
            result = sanitize(inputs, pol, purpose, keys, now=run_now, scanner=scanner)
            guard.add_raw_matcher(result.guard.matches)
            guard.remember_pseudonyms(_pseudonym_values(pol, result))
        with stage("segment"):
            seg = build_segments(
                _segment_tables(pol, result),
                pol,
                spec,
                unit_column=_unit_column(pol),
                ledger=ledger,
                run_id=run_id,
                now=_naive_utc(run_now),
                rng=rng,
                purpose=purpose,
                tokenizer=_tokenizer(result),
                columns=_feature_columns(pol),
            )
        with stage("release"):
            marketing = guard.release(
                marketing_documents(seg), run_dir / "marketing", run_log=log, run_id=run_id
            )
            activation = write_audiences(seg, run_dir / "activation")
            for p in activation:  # tokens by design: hash-chained, not re-scanned for tokens
                log.record_output(run_id, p, internal=True)
            quarantine = _write_quarantine(result, run_dir / "quarantine")
            for p in quarantine:
                log.record_output(run_id, p, internal=True)
        with stage("lineage"):
            facet = _privacy_facet(
                loaded=loaded,
                purpose=purpose,
                keys=keys,
                result=result,
                seg=seg,
                ledger=ledger,
                run_id=run_id,
            )
            outputs, lineage = _output_datasets(run_dir, seg, pol, inputs)
            log.append(run_id, LEDGER_STATE_KIND, ledger_state_payload(ledger, run_id))
            recorder.complete(outputs, lineage, facet)
            md, html = render_lineage_doc(recorder.events_path, run_dir / "lineage")
            for p in sorted((run_dir / "lineage").iterdir()):  # documents and charts: hashed
                if p.is_file() and p != recorder.events_path:
                    log.record_output(run_id, p, internal=True)
            if signer is not None:  # Ed25519 over the head: truncation and re-hashing show
                log.sign_head(run_id, signer)
    except BaseException as e:
        if not recorder.finished:
            recorder.fail(e)
        raise
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
        notes=tuple(seg.notes),
    )


def _naive_utc(t: dt.datetime) -> dt.datetime:
    if t.tzinfo is None:
        return t
    return t.astimezone(dt.UTC).replace(tzinfo=None)


def _write_quarantine(result: SanitizeResult, out_dir: Path) -> list[Path]:
    """Quarantined rows (row number and reason) and the ingest report: internal evidence.

    Ingestion already masked identifiers in quarantined rows (pseudonyms or blanks); the
    ingestion guard checks again that no raw identifier is in them before anything is written.
    """
    frames = {t: q for t, q in result.quarantine.items() if len(q)}
    result.guard.check(frames)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in frames.items():
        written.append(atomic_write_text(out_dir / f"{name}.csv", frame.to_csv(index=False)))
    report = json.dumps(result.report.to_dict(), indent=2, ensure_ascii=False, sort_keys=True)
    written.append(atomic_write_text(out_dir / "ingest_report.json", report + "\n"))
    return written


# --------------------------------------------------------------------------- collaborators


def open_ledger(path: str | Path, policy: Policy) -> BudgetLedger:
    """Open (or create) the SQLite budget ledger for the policy's dataset, budget and window."""
    pv = policy.privacy
    w = pv.budget_window
    window = (
        BudgetWindow.rolling_days(w.days)
        if w.kind is WindowKind.ROLLING_DAYS and w.days is not None
        else BudgetWindow.calendar_month()
    )
    return BudgetLedger.open(
        check_ledger_path(path),
        dataset=pv.budget_dataset,
        budget=PrivacyLoss(epsilon=pv.epsilon_budget, delta=pv.delta_budget),
        window=window,
    )


def scanner_for(policy: Policy) -> TextScanner:
    """The offline PII scanner configured as the policy's ``pii_scan`` section says."""
    from privacy_profile.pii import PiiScanner, ScanConfig

    ps = policy.pii_scan
    entities = tuple(ps.entities) if ps.entities else None
    return PiiScanner(ScanConfig(entities=entities, score_threshold=ps.score_threshold))


@dataclass(frozen=True, kw_only=True)
class SanitizeOutput:
    """What ``privacy-profile sanitize`` wrote."""

    result: SanitizeResult
    files: tuple[Path, ...]


def sanitize_to_dir(
    inputs: str | Path,
    policy: LoadedPolicy,
    purpose: str,
    keys: KeyRing,
    out: str | Path,
    *,
    scanner: TextScanner | None = None,
    now: dt.datetime | None = None,
) -> SanitizeOutput:
    """Sanitize the inputs and write the pseudonymous tables atomically (Parquet) to ``out``."""
    result = sanitize(inputs, policy.policy, purpose, keys, now=now, scanner=scanner)
    return SanitizeOutput(result=result, files=tuple(write_sanitized(result, out)))


DEMO_MARKER = ".privacy-profile-demo"


@dataclass(frozen=True, kw_only=True)
class DemoResult:
    input_dir: Path
    rows: Mapping[str, int]
    release: Release


def run_demo(
    out: str | Path,
    policy_path: str | Path,
    *,
    n_users: int = 20_000,
    seed: int = 7,
    purpose: str = "marketing.advertising.profiling",
    now: dt.datetime | None = None,
    progress: ProgressCallback | None = None,
) -> DemoResult:
    """Generate a seeded synthetic mini-program data set under ``out/input`` and run the whole
    pipeline on it with in-memory development keys (marked as such in the lineage).

    ``out`` must be empty, absent, or a previous demo folder (which is replaced: the demo's
    ledger starts afresh); any other folder is refused, never deleted.
    """
    from privacy_profile.demo import generate_demo_data
    from privacy_profile.errors import InputError

    root = Path(out)
    if root.exists() and any(root.iterdir()):
        if not (root / DEMO_MARKER).is_file():
            raise InputError(
                f"{root} is not empty and is not a previous demo folder; refusing to touch it",
                hint="give a new or empty folder for the demo",
            )
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / DEMO_MARKER).write_text("generated by privacy-profile demo\n", encoding="utf-8")
    loaded = load_policy_file(policy_path)
    when = now or dt.datetime.now(dt.UTC)
    data = generate_demo_data(root, n_users=n_users, seed=seed, now=when, policy=loaded.policy)
    signer = RunLogSigner.development_key()  # marked development in the signature record
    (root / PUBLIC_KEY_FILE).write_text(signer.public_hex() + "\n", encoding="utf-8")
    with open_ledger(root / "ledger.sqlite", loaded.policy) as ledger:
        release = sanitize_then_segment(
            data.input_dir,
            loaded,
            purpose,
            KeyRing.development(loaded.policy),
            ledger,
            root,
            scanner=scanner_for(loaded.policy),
            now=when,
            progress=progress,
            signer=signer,
        )
    return DemoResult(input_dir=data.input_dir, rows=dict(data.rows), release=release)


def budget_status(path: str | Path, policy: Policy) -> str:
    """A plain-text account of the ledger: budget, spent and left in the window, per run."""
    if not Path(path).is_file():
        from privacy_profile.errors import InputError

        raise InputError(f"no budget ledger at {path}", hint="give the --ledger a run used")
    with open_ledger(path, policy) as ledger:
        spent, left = ledger.spent(), ledger.remaining()
        pv = policy.privacy
        lines = [
            f"dataset {pv.budget_dataset} ({_window_spec(policy)}): "
            f"epsilon budget {pv.epsilon_budget:g}, delta budget {pv.delta_budget:g}",
            f"spent in the window: epsilon {spent.epsilon:.4g}, delta {spent.delta:.3g}",
            f"left: epsilon {left.epsilon:.4g}, delta {left.delta:.3g}",
        ]
    return "\n".join(lines)
