"""``sanitize``: read, validate, consent-gate, pseudonymize, generalize and guard (the
per-table stages are in :mod:`privacy_profile.ingest.table_stage`; writing the result is
:mod:`privacy_profile.ingest.write`).

Stage order per table: read (chunks) -> column checks -> type validation (quarantine) ->
consent gate -> retention -> sensitive columns -> free-text scan -> pseudonymize / tokenize /
drop / generalize -> (after the last chunk) k-anonymity suppression. The consent-records table
is read first (it feeds the gate, it is not an output), then the subjects table (it feeds the
minors rule). Every raw direct-identifier value read goes into the run's
:class:`~privacy_profile.ingest.identifiers.IdentifierIndex` (keyed digests only), which the
release guard uses later; finally no string cell of any output may hold an indexed value.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from privacy_profile._clock import utc_naive
from privacy_profile.errors import ConsentError, LeakDetectedError
from privacy_profile.ingest.backend import IngestBackend, PandasBackend
from privacy_profile.ingest.consent import (
    ConsentState,
    GateParams,
    build_consent_state,
    prepare_gate,
    subject_ages,
)
from privacy_profile.ingest.identifiers import IdentifierIndex
from privacy_profile.ingest.keys import KeyRing
from privacy_profile.ingest.links import link_identities
from privacy_profile.ingest.normalize import normalizer_for
from privacy_profile.ingest.pseudonymize import Pseudonymizer
from privacy_profile.ingest.readers import DEFAULT_BLOCK_BYTES, DEFAULT_CHUNK_ROWS
from privacy_profile.ingest.report import IngestReport, TableReportBuilder
from privacy_profile.ingest.row_checks import check_rows, exclude_subjects
from privacy_profile.ingest.scan import TextScanner
from privacy_profile.ingest.sources import InputsLike, PolicyLike, normalize_run_args
from privacy_profile.ingest.suppress import Suppression, prepare_subject_filter
from privacy_profile.ingest.table_stage import (
    IngestRun,
    TableProcessor,
    mask_quarantine,
    read_chunks,
)
from privacy_profile.ingest.tables import RemoteTable, TableMap
from privacy_profile.ingest.validate import Validated
from privacy_profile.policy.model import ConsentRecordsSpec, DuplicateSubjects

__all__ = [
    "ActivationInfo",
    "SanitizeResult",
    "refuse_raw_identifiers",
    "sanitize",
    "string_leaks",
]

BAD_STATUS = "bad_consent_status"
DUPLICATE_SUBJECT = "duplicate_subject"


@dataclass(frozen=True)
class ActivationInfo:
    """What the segments layer needs for activation.

    ``opted_out``: pseudonyms (in the purpose's domain) of users who opted out of personalised
    marketing: never target them. ``tokens``: (``pseudonym``, ``token``) pairs of admitted,
    not opted-out subjects, when the purpose allows activation and the custodian key is loaded.
    """

    allowed: bool
    opt_out_effect: str
    opted_out: frozenset[str]
    tokens: pd.DataFrame | None = None


@dataclass(frozen=True)
class SanitizeResult:
    """What ``sanitize`` produced. ``tables`` maps each table to its pseudonymous rows: pandas
    frames, or rows an engine kept (:class:`~privacy_profile.ingest.tables.TableMap`: read
    ``tables.remote(name)`` to work where they are; ``tables[name]`` collects them here)."""

    tables: TableMap
    quarantine: dict[str, pd.DataFrame]
    report: IngestReport
    activation: ActivationInfo
    identifiers: IdentifierIndex = field(repr=False)


def _load_consents(run: IngestRun) -> tuple[ConsentState, TableReportBuilder, pd.DataFrame]:
    cr = run.policy.consent_records
    spec = run.policy.tables[cr.table]
    rb = TableReportBuilder(
        table=cr.table, file=run.inputs.dataset_name(cr.table, spec), role="consent_records"
    )
    if not run.inputs.has(cr.table, spec):
        raise ConsentError(
            f"consent records file {run.inputs.location(cr.table, spec)} not found",
            hint="every run needs the consent records table the policy declares "
            f"(consent_records.table: {cr.table})",
        )
    frames, quarantines = [], []
    for v in read_chunks(run, cr.table, spec, rb):
        status = v.frame[cr.status_column].str.strip().str.lower()
        bad = ~status.isin(["granted", "withdrawn"]).fillna(False)
        if bad.any():
            rb.quarantine(BAD_STATUS, int(bad.sum()))
            q = v.frame.loc[bad.to_numpy(dtype=bool)].astype("string")
            q["_reason"] = BAD_STATUS
            q["_column"] = cr.status_column
            quarantines.append(q)
        frames.append(v.frame[~bad.to_numpy(dtype=bool)])
        if len(v.quarantine):
            quarantines.append(v.quarantine)
    records = pd.concat(frames) if frames else pd.DataFrame(columns=list(spec.columns))
    user_col = spec.columns[cr.user_column]
    state, unused = build_consent_state(
        records,
        cr,
        purpose=run.purpose.data_use,
        rule=run.purpose.consent,
        now=run.now,
        normalizer=normalizer_for(user_col.category),
    )
    for reason, n in Counter(unused.dropna().tolist()).items():
        rb.exclude(reason, n)
    q = pd.concat(quarantines) if quarantines else records.iloc[:0].astype("string")
    if "_reason" not in q.columns:
        q["_reason"] = pd.Series(dtype="string")
        q["_column"] = pd.Series(dtype="string")
    return state, rb, mask_quarantine(run, spec, q)


def _resolve_duplicate_subjects(
    chunks: list[Validated],
    id_column: str,
    normalizer: Callable[[pd.Series], pd.Series],
    rule: DuplicateSubjects,
    rb: TableReportBuilder,
) -> list[Validated]:
    """Subject ids listed more than once go to quarantine (``duplicate_subject``) as the
    policy's ``subjects.duplicate_ids`` rule says; counted in the ingest report."""
    ids = [normalizer(v.frame[id_column]) for v in chunks]
    if not ids:
        return chunks
    allids = pd.concat(ids, ignore_index=True)
    if rule is DuplicateSubjects.KEEP_FIRST:
        dup_all = allids.duplicated(keep="first") & allids.notna()
    else:
        dup_all = allids.duplicated(keep=False) & allids.notna()
    if not dup_all.any():
        return chunks
    out, start = [], 0
    for v, norm in zip(chunks, ids, strict=True):
        dup = dup_all.iloc[start : start + len(norm)].to_numpy(dtype=bool)
        start += len(norm)
        if not dup.any():
            out.append(v)
            continue
        q = v.frame[dup].astype("string")
        q["_reason"] = pd.array([DUPLICATE_SUBJECT] * len(q), dtype="string")
        q["_column"] = pd.array([id_column] * len(q), dtype="string")
        rb.quarantine(DUPLICATE_SUBJECT, len(q))
        reasons = Counter(v.reasons)
        reasons[DUPLICATE_SUBJECT] += len(q)
        quarantine = pd.concat([v.quarantine, q]) if len(v.quarantine) else q
        out.append(Validated(v.frame[~dup], quarantine, reasons))
    return out


_FLAG_RECORDS = ConsentRecordsSpec(
    table="_flags",
    user_column="user",
    purpose_column="purpose",
    status_column="status",
    timestamp_column="recorded_at",
    notice_version_column="notice_version",
    guardian_consent_column="guardian",
    sensitive_consent_column="sensitive",
    opt_out_column="opt_out",
)


def _flag_status(values: pd.Series) -> pd.Series:
    """A flag cell as a consent status: true / granted -> granted, false / withdrawn ->
    withdrawn, anything else (missing, unknown) -> missing (no consent: fail closed)."""
    text = values.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="string")
    out[text.isin(["true", "granted"]).fillna(False).to_numpy(dtype=bool)] = "granted"
    out[text.isin(["false", "withdrawn"]).fillna(False).to_numpy(dtype=bool)] = "withdrawn"
    return out


def _flag_consents(run: IngestRun, subjects: pd.DataFrame | None) -> ConsentState:
    """The consent state of per-purpose flag columns in the subjects table (one decision per
    subject; a subject without a flag value has no consent)."""
    cr = run.policy.consent_records
    flags = cr.purpose_flags or {}
    spec = run.policy.tables[cr.table]
    empty = pd.DataFrame(columns=["user", "purpose", "status", "recorded_at", "notice_version"])
    column = flags.get(run.purpose.data_use)
    if subjects is None or column is None:
        records = empty
    else:
        n = len(subjects)

        def optional(name: str | None) -> pd.Series:
            if name is None:
                return pd.Series(pd.NA, index=subjects.index, dtype="boolean")
            return subjects[name]

        records = pd.DataFrame(
            {
                "user": subjects[cr.user_column].astype("string"),
                "purpose": pd.Series([run.purpose.data_use] * n, index=subjects.index),
                "status": _flag_status(subjects[column]),
                "recorded_at": (
                    subjects[cr.timestamp_column]
                    if cr.timestamp_column is not None
                    else pd.Series(pd.Timestamp(run.now), index=subjects.index)
                ),
                "notice_version": (
                    subjects[cr.notice_version_column].astype("string")
                    if cr.notice_version_column is not None
                    else pd.Series([cr.notice_version] * n, index=subjects.index, dtype="string")
                ),
                "guardian": optional(cr.guardian_consent_column),
                "sensitive": optional(cr.sensitive_consent_column),
                "opt_out": optional(cr.opt_out_column),
            }
        )
        records = records.loc[records["status"].notna().to_numpy(dtype=bool)]
    if not len(records) and column is None:
        raise ConsentError(
            f"consent_records.purpose_flags names no column for purpose {run.purpose.data_use!r}",
            hint="add the purpose's flag column under consent_records.purpose_flags",
        )
    state, _unused = build_consent_state(
        records,
        _FLAG_RECORDS,
        purpose=run.purpose.data_use,
        rule=run.purpose.consent,
        now=run.now,
        normalizer=normalizer_for(spec.columns[cr.user_column].category),
    )
    return state


def sanitize(
    inputs: InputsLike,
    policy: PolicyLike,
    purpose: str,
    keys: KeyRing,
    *,
    now: dt.datetime | None = None,
    scanner: TextScanner | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    identifiers: IdentifierIndex | None = None,
    suppression: Suppression | None = None,
    backend: IngestBackend | None = None,
) -> SanitizeResult:
    """Turn the raw input tables into pseudonymous tables and a report.

    ``inputs`` is a folder (one file per declared table), a mapping of table name to file path,
    or a mapping of table name to pandas DataFrame (see :mod:`privacy_profile.ingest.sources`).
    ``policy`` is a :class:`LoadedPolicy`, a :class:`Policy` or a policy file; ``purpose`` a
    declared data use (e.g. ``marketing.advertising.profiling``); ``keys`` from
    :meth:`KeyRing.from_policy` (or :meth:`KeyRing.development` for the demo). ``now`` fixes
    the run time (retention, ages); ``scanner`` redacts free text (without one, ``scan``
    columns are dropped).
    ``identifiers`` is the run's identifier index to fill (the engine passes the one its
    release guard reads; a new one by default; e.g. ``IdentifierIndex(min_numeric_length=8)``
    to index only longer numeric ids); ``chunk_rows`` and ``block_bytes`` set the reading
    chunk sizes. Inputs and policy are checked before anything is read (InputError /
    PolicyError). ``suppression`` (a rights register snapshot,
    :meth:`privacy_profile.rights.RightsRegister.suppression`) drops erased and opted-out
    subjects' rows before anything else (counted per reason), keeps activation opt-outs out of
    audiences and merges corrections before validation. ``backend`` runs the data tables'
    per-chunk stages (pandas in this process by default;
    :class:`privacy_profile.spark.SparkBackend` on a Spark cluster); the consent records and
    the subjects table are always read here first.
    Raises InputError, ConsentError, KeyMaterialError or LeakDetectedError.
    """
    tables_in, loaded = normalize_run_args(inputs, policy)
    pol = loaded.policy
    pur = pol.purpose(purpose)
    run = IngestRun(
        policy=pol,
        purpose=pur,
        domain=pur.pseudonymization_domain,
        keys=keys,
        now=utc_naive(now),
        scanner=scanner,
        inputs=tables_in,
        chunk_rows=chunk_rows,
        block_bytes=block_bytes,
        identifiers=identifiers if identifiers is not None else IdentifierIndex(),
        pseudonymizer=Pseudonymizer(keys),
    )
    if suppression is not None:
        run = replace(
            run,
            subject_filter=prepare_subject_filter(
                suppression,
                domain=run.domain,
                purpose=pur.data_use,
                tables=pol.tables,
                pseudonymizer=run.pseudonymizer,
            ),
        )
    keys.domain(run.domain)  # fail early when the purpose's key is missing
    consent_table = pol.consent_table()
    builders: dict[str, TableReportBuilder] = {}
    quarantine: dict[str, pd.DataFrame] = {}
    if consent_table is not None:
        state, consent_rb, consent_q = _load_consents(run)
        builders[consent_table] = consent_rb
        quarantine[consent_table] = consent_q
    tables: dict[str, pd.DataFrame] = {}
    kreports: dict[str, Any] = {}

    sj = pol.subjects
    sj_spec = pol.tables[sj.table]
    sj_rb = TableReportBuilder(table=sj.table, file=run.inputs.dataset_name(sj.table, sj_spec))
    sj_chunks = list(read_chunks(run, sj.table, sj_spec, sj_rb))
    id_norm = normalizer_for(sj_spec.columns[sj.id_column].category)
    sj_chunks = _resolve_duplicate_subjects(
        sj_chunks, sj.id_column, id_norm, sj.duplicate_ids, sj_rb
    )
    sj_frames = [v.frame for v in sj_chunks if len(v.frame)]
    sj_all = pd.concat(sj_frames) if sj_frames else None
    if sj_all is None:
        ages = pd.Series(dtype="Float64")
    else:
        ages = subject_ages(sj_all, sj, now=run.now, normalizer=id_norm)
    if consent_table is None:  # per-purpose flag columns in the subjects table
        state = _flag_consents(run, sj_all)
    sj_all, sj_frames = None, []  # the raw subject rows are not needed past this point

    gate = prepare_gate(state, ages, GateParams(rule=pur.consent))  # decided once per user
    order = [sj.table] + [t for t in pol.tables if t not in (sj.table, consent_table)]
    tokens: list[pd.DataFrame] = []
    procs: list[TableProcessor] = []
    engine = backend if backend is not None else PandasBackend()
    for name in order:
        spec = pol.tables[name]
        file = run.inputs.dataset_name(name, spec)
        if name == sj.table:  # always here: it feeds the minors rule and is small
            proc = TableProcessor(run, name, spec, gate, sj_rb)
            for v in sj_chunks:
                proc.process(v)
            sj_chunks = []  # raw rows: released before the data tables are read
        else:
            proc = engine.run_table(run, name, spec, gate, TableReportBuilder(name, file))
        procs.append(proc)
        builders[name] = proc.rb
        tokens.extend(proc.tokens)
    # every identifier of every table is indexed now: per-row checks, then k-anonymity, the
    # subjects table first so that its suppressed subjects leave the other tables too
    suppressed: frozenset[str] = frozenset()
    remote: dict[str, RemoteTable] = {}
    leaks: list[str] = []  # raw identifiers the engine found in the rows it kept
    for proc in procs:
        name, spec, rb = proc.name, proc.spec, proc.rb
        if proc.staged is not None:  # rows the engine kept: checked there, left there
            empty, _ = proc.collect()  # (no row here: the table's columns and report entries)
            done = engine.finish_table(run, proc, suppressed)
            leaks.extend(done.leaks)
            quarantine[name], kreports[name] = done.quarantine, None
            if done.table is not None:
                remote[name] = done.table
            else:  # no row left: an empty table with the table's columns
                tables[name] = empty.reset_index(drop=True)
            continue
        frame, q = proc.collect()
        frame, checked = check_rows(run, name, spec, frame, rb)
        if len(checked):
            q = pd.concat([q, checked], ignore_index=True) if len(q) else checked
        if name != sj.table:
            frame = exclude_subjects(frame, spec.subject_column, suppressed, rb)
        before = frame[sj.id_column] if name == sj.table else None
        frame, kr = proc.anonymize(frame)
        if before is not None and kr is not None and kr.rows_suppressed:
            kept = set(frame[sj.id_column].dropna().astype(str))
            suppressed = frozenset(str(v) for v in before.dropna() if str(v) not in kept)
        tables[name], quarantine[name], kreports[name] = frame, q, kr

    reports = {}
    for name, rb in builders.items():
        if name == consent_table:
            accepted = state.records_used
        else:
            accepted = remote[name].rows if name in remote else len(tables[name])
        reports[name] = rb.build(accepted, kreports.get(name))

    subj_cat = pol.tables[pol.consent_records.table].columns[pol.consent_records.user_column]
    # (flags layout: the consent table is the subjects table, the user column its id column)
    opted = state.latest.index[state.latest["opt_out"].to_numpy(dtype=bool)]
    opted_ps = run.pseudonymizer.pseudonymize(
        pd.Series(opted, dtype="string"),
        domain=run.domain,
        normalizer=normalizer_for(subj_cat.category),
    )
    opted_set = frozenset(str(v) for v in opted_ps.dropna())
    rights: dict[str, int] = {}
    if suppression is not None:
        by_request = suppression.activation_excluded(run.domain, pur.data_use)
        opted_set = opted_set | by_request
        rights = {
            **{f"subjects_{r}": len(v) for r, v in sorted(run.rights_seen.items())},
            "activation_suppressed_by_request": len(by_request),
            "cells_corrected": sum(run.rights_cells.values()),
        }
    token_frame = None
    if tokens:
        tf = pd.concat(tokens, ignore_index=True).drop_duplicates("pseudonym")
        token_frame = tf[~tf["pseudonym"].isin(opted_set)].reset_index(drop=True)
    # identity links: after pseudonymization, before any bounding (one person, one unit)
    ordered = [p.name for p in procs]
    linked = link_identities(pol, TableMap(tables, remote, order=ordered), opted_set, token_frame)
    table_map, opted_set, token_frame = linked.tables, linked.opted_out, linked.tokens
    activation = ActivationInfo(
        allowed=pur.activation.allowed,
        opt_out_effect=pur.consent.opt_out.value,
        opted_out=opted_set,
        tokens=token_frame,
    )
    notes = []
    if scanner is None and pol.pii_scan.column_scan:
        notes.append("column-level PII scan of `keep` string columns skipped: no scanner given")
    if engine.name != "pandas":
        notes.append(
            "engine: " + ", ".join(f"{k} {v}" for k, v in sorted(engine.describe().items()))
        )
        if remote:
            notes.append(f"tables kept on {engine.name}: {', '.join(sorted(remote))}")
    if keys.is_development:
        notes.append("DEVELOPMENT KEYS: pseudonyms are not protected; never use on real data")
    if linked.counts:
        notes.append(
            f"identity links: {linked.counts['accounts_linked']} account(s) linked to "
            f"{linked.counts['persons_linked']} person(s); unlinked accounts are separate units"
        )
    if state.ties:
        notes.append(f"{state.ties} consent record tie(s) resolved as withdrawal")
    report = IngestReport(
        policy=pol.name,
        purpose=pur.data_use,
        pseudonymization_domain=run.domain,
        run_time=run.now.isoformat(timespec="seconds"),
        tables=reports,
        keys=tuple(keys.describe()),
        development_keys=keys.is_development,
        consent={
            "records_used": state.records_used,
            "users": len(state.latest),
            "users_granted": int((state.latest["status"] == "granted").sum()),
            "users_opted_out": len(opted_set),
            "ties_resolved_as_withdrawal": state.ties,
        },
        activation={
            "allowed": pur.activation.allowed,
            "opt_out_effect": pur.consent.opt_out.value,
            "tokens": 0 if token_frame is None else len(token_frame),
        },
        notes=tuple(notes),
        rights=rights,
        identity_links=linked.counts,
    )
    refuse_raw_identifiers(  # the kept rows were searched where they are (``leaks``)
        run.identifiers,
        {
            **dict(table_map.local_items()),
            **{f"quarantine/{k}": v for k, v in quarantine.items()},
        },
        found=leaks,
    )
    return SanitizeResult(
        tables=table_map,
        quarantine=quarantine,
        report=report,
        activation=activation,
        identifiers=run.identifiers,
    )


def string_leaks(index: IdentifierIndex, frame: pd.DataFrame) -> dict[str, int]:
    """Per string column and identifier category, how many distinct values of ``frame`` hold a
    raw identifier of ``index`` (``"column (LABEL"`` -> count; empty when clean)."""
    found: dict[str, int] = {}
    for col in frame.columns:
        s = frame[col]
        if not (pd.api.types.is_string_dtype(s) or s.dtype == object):
            continue
        texts = [str(v) for v in pd.unique(s.dropna())]
        for label, mask in sorted(index.find(texts).items()):
            found[f"{col} ({label}"] = int(mask.sum())
    return found


def refuse_raw_identifiers(
    index: IdentifierIndex, tables: Mapping[str, pd.DataFrame], *, found: Sequence[str] = ()
) -> None:
    """Raise :class:`LeakDetectedError` if a string cell of a sanitized table holds a raw
    identifier value of the input (e.g. an undeclared identifier in a ``keep`` column). The
    same index search as the release guard's; this one runs on the pseudonymous tables, which
    hold pseudonyms by design. ``found`` adds what an engine's own search found in the rows it
    kept (same wording)."""
    found = list(found)
    for name, frame in tables.items():
        for where, n in string_leaks(index, frame).items():
            found.append(f"{name}.{where}, {n} distinct value{'s' if n != 1 else ''})")
    if found:
        raise LeakDetectedError(
            "raw direct-identifier values appear in the output: " + ", ".join(found),
            hint="declare the column as a direct identifier with pseudonymize/tokenize/drop, "
            "or fix the input; nothing was written",
        )
