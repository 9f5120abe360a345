"""``sanitize``: read, validate, consent-gate, pseudonymize, generalize and guard; and
``write_sanitized``: write the result atomically as Parquet.

Stage order per table: read (chunks) -> column checks -> type validation (quarantine) ->
consent gate -> retention -> sensitive columns -> free-text scan -> pseudonymize / tokenize /
drop / generalize -> (after the last chunk) k-anonymity suppression. The consent-records table
is read first (it feeds the gate, it is not an output), then the subjects table (it feeds the
minors rule). Finally the leak guard checks every string cell of every output.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from privacy_profile._io import private_opener
from privacy_profile._paths import OUTPUT_MARKER, check_replaceable_output, marker_text
from privacy_profile.errors import ConsentError, InputError, KeyMaterialError
from privacy_profile.ingest.codes import factorize
from privacy_profile.ingest.consent import (
    ConsentState,
    GateParams,
    PreparedGate,
    build_consent_state,
    gate_factorized,
    prepare_gate,
    subject_ages,
)
from privacy_profile.ingest.generalize import Generalization, GeneralizeParams, generalize_column
from privacy_profile.ingest.guard import LeakGuard
from privacy_profile.ingest.kanon import enforce_k_anonymity
from privacy_profile.ingest.keys import KeyRing
from privacy_profile.ingest.normalize import normalizer_for
from privacy_profile.ingest.pseudonymize import Pseudonymizer, Tokenizer
from privacy_profile.ingest.readers import DEFAULT_BLOCK_BYTES, DEFAULT_CHUNK_ROWS, read_table
from privacy_profile.ingest.report import IngestReport, TableReportBuilder
from privacy_profile.ingest.retention import RetentionParams, retention_exclusions
from privacy_profile.ingest.scan import TextScanner, column_scan_cells, scan_text_column
from privacy_profile.ingest.validate import TableSchema, Validated, check_columns, validate_chunk
from privacy_profile.policy.loader import load_policy
from privacy_profile.policy.model import (
    ColumnRole,
    ColumnType,
    Drop,
    DuplicateSubjects,
    Keep,
    PiiReplacement,
    Policy,
    Pseudonymize,
    Purpose,
    Scan,
    Table,
    Tokenize,
    UndeclaredIdentifierAction,
)
from privacy_profile.policy.rules import sensitive_columns

__all__ = ["ActivationInfo", "SanitizeResult", "sanitize", "write_sanitized"]

K_SUPPRESSED = "k_anonymity_suppressed"
DUPLICATE_SUBJECT = "duplicate_subject"
BAD_STATUS = "bad_consent_status"


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
    tables: dict[str, pd.DataFrame]
    quarantine: dict[str, pd.DataFrame]
    report: IngestReport
    activation: ActivationInfo
    guard: LeakGuard = field(repr=False)


@dataclass(frozen=True)
class _Run:
    policy: Policy
    purpose: Purpose
    domain: str
    keys: KeyRing
    now: dt.datetime
    scanner: TextScanner | None
    input_dir: Path
    chunk_rows: int
    block_bytes: int
    guard: LeakGuard
    pseudonymizer: Pseudonymizer


def _utc_naive(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if now.tzinfo is not None:
        return now.astimezone(dt.UTC).replace(tzinfo=None)
    return now


def _chunks(run: _Run, name: str, spec: Table, rb: TableReportBuilder) -> Iterator[Validated]:
    """Validated chunks of one table; feeds the guard with raw identifier values."""
    path = run.input_dir / spec.file_name(name)
    schema = TableSchema(name=name, spec=spec, path=path, now=run.now)
    ids = [
        (c, normalizer_for(col.category))
        for c, col in spec.columns.items()
        if col.role is ColumnRole.DIRECT_IDENTIFIER
    ]
    checked = False
    for chunk in read_table(
        path, name, spec, chunk_rows=run.chunk_rows, block_bytes=run.block_bytes
    ):
        if not checked:
            undeclared = check_columns(chunk.columns, schema)
            rb.undeclared_columns_dropped.extend(undeclared)
            checked = True
        elif len(chunk.frame.columns):
            for c in check_columns(tuple(chunk.frame.columns), schema):
                if c not in rb.undeclared_columns_dropped:
                    rb.undeclared_columns_dropped.append(c)
        rb.input_rows += len(chunk.frame) + len(chunk.malformed)
        for c, norm in ids:
            run.guard.add(chunk.frame[c], norm)
        v = validate_chunk(chunk, schema)
        for reason, n in v.reasons.items():
            rb.quarantine(reason, n)
        yield v


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


def _digest(run: _Run, s: pd.Series) -> pd.Series:
    """``hmac:`` + 16 hex digits of a keyed digest per cell (equal values, equal digests;
    separated from pseudonyms by a prefix), so quarantine evidence holds no raw value."""
    out = pd.Series(pd.NA, index=s.index, dtype="string")
    present = s.notna().to_numpy(dtype=bool)
    if present.any():
        values = ["\x00quarantine\x00" + str(v) for v in s[present]]
        hashed = run.pseudonymizer.hash_values(values, domain=run.domain)
        out[present] = ["hmac:" + h[:16] for h in hashed]
    return out


def _mask_quarantine(run: _Run, spec: Table, q: pd.DataFrame) -> pd.DataFrame:
    """Quarantine rows keep record number, reason and column, never raw identifiers or text."""
    q = q.copy()
    sensitive = {c for t, c in sensitive_columns(run.policy) if run.policy.tables.get(t) is spec}
    for c, col in spec.columns.items():
        if c not in q.columns:
            continue
        if col.role is ColumnRole.DIRECT_IDENTIFIER:
            if isinstance(col.treatment, Pseudonymize):
                q[c] = run.pseudonymizer.pseudonymize(
                    q[c], domain=run.domain, normalizer=normalizer_for(col.category)
                )
            else:
                q[c] = pd.Series(pd.NA, index=q.index, dtype="string")
        elif (
            col.role is ColumnRole.FREE_TEXT
            or c in sensitive
            or isinstance(col.treatment, Drop | Scan | Tokenize)
        ):
            q[c] = pd.Series(pd.NA, index=q.index, dtype="string")
        else:  # a typed or kept value may be anything (a phone in `amount`): keyed digest
            q[c] = _digest(run, q[c])
    q = q.reset_index()
    q["_row"] = q["_row"].astype("int64")
    return q


def _load_consents(run: _Run) -> tuple[ConsentState, TableReportBuilder, pd.DataFrame]:
    cr = run.policy.consent_records
    spec = run.policy.tables[cr.table]
    rb = TableReportBuilder(table=cr.table, file=spec.file_name(cr.table), role="consent_records")
    if not (run.input_dir / spec.file_name(cr.table)).is_file():
        raise ConsentError(
            f"consent records file {run.input_dir / spec.file_name(cr.table)} not found",
            hint="every run needs the consent records table the policy declares "
            f"(consent_records.table: {cr.table})",
        )
    frames, quarantines = [], []
    for v in _chunks(run, cr.table, spec, rb):
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
    return state, rb, _mask_quarantine(run, spec, q)


class _TableProcessor:
    """Runs the per-chunk stages of one data table and collects its output."""

    def __init__(
        self,
        run: _Run,
        name: str,
        spec: Table,
        gate: PreparedGate,
        rb: TableReportBuilder,
    ) -> None:
        self.run, self.name, self.spec, self.rb = run, name, spec, rb
        subj = spec.columns[spec.subject_column]
        self.gate = replace(gate, normalizer=normalizer_for(subj.category))
        self.retention = RetentionParams(spec.retention_days, spec.retention_column, run.now)
        self.gen = GeneralizeParams(now=run.now)
        self.sensitive = [c for t, c in sensitive_columns(run.policy) if t == name]
        self.outputs: list[pd.DataFrame] = []
        self.quarantines: list[pd.DataFrame] = []
        self.tokens: list[pd.DataFrame] = []
        self.col_scan_done = False
        self.scan_dropped: set[str] = set()
        self.tokenizer = Tokenizer(run.keys.custodian) if run.keys.custodian else None
        self.is_subjects = name == run.policy.subjects.table

    def _column_scan(self, frame: pd.DataFrame) -> None:
        ps = self.run.policy.pii_scan
        self.col_scan_done = True
        if not ps.column_scan:
            return
        for c, col in self.spec.columns.items():
            if not (isinstance(col.treatment, Keep) and col.type is ColumnType.STRING):
                continue
            if self.run.scanner is None:
                continue
            cells = column_scan_cells(frame[c])  # all distinct values, or a uniform sample
            flags = tuple(self.run.scanner.scan_column(cells).flags(ps.column_flag_share))
            if not flags:
                continue
            if ps.undeclared_identifier_columns is UndeclaredIdentifierAction.REFUSE:
                raise InputError(
                    f"{self.spec.file_name(self.name)}: column {self.name}.{c} is declared "
                    f"`keep` but holds identifiers ({', '.join(flags)}) in at least "
                    f"{ps.column_flag_share:.0%} of its cells",
                    hint=f"declare {self.name}.{c} as a direct identifier with pseudonymize or "
                    "drop, or set pii_scan.undeclared_identifier_columns: drop",
                )
            self.scan_dropped.add(c)
            self.rb.scan_columns_dropped[c] = "column scan found " + ", ".join(flags)

    def _replace(self) -> Callable[[Any, str], str] | None:
        ps = self.run.policy.pii_scan
        if ps.replacement is not PiiReplacement.PSEUDONYM or ps.pseudonym_domain is None:
            return None
        pz, dom = self.run.pseudonymizer, ps.pseudonym_domain

        def replace(finding: Any, text: str) -> str:
            kind = str(getattr(finding, "entity_type", "PII"))
            return f"<{kind}:{pz.hash_values([text.strip()], domain=dom)[0][:16]}>"

        return replace

    def process(self, v: Validated) -> None:
        run, spec, rb = self.run, self.spec, self.rb
        if len(v.quarantine):
            self.quarantines.append(_mask_quarantine(run, spec, v.quarantine))
        frame = v.frame
        if not len(frame):
            return
        if not self.col_scan_done:
            self._column_scan(frame)
        # the subject column is factorized once: the gate and its pseudonyms share the codes
        subjects = factorize(frame[spec.subject_column])
        reasons, sens_ok, _opt = gate_factorized(subjects, self.gate)
        reasons = reasons.fillna(retention_exclusions(frame, self.retention))
        for reason, n in Counter(reasons.dropna().tolist()).items():
            rb.exclude(reason, n)
        keep = reasons.isna().to_numpy(dtype=bool)
        frame = frame[keep]
        sens_ok = sens_ok[keep]
        subjects = subjects.take(keep)
        out: dict[str, pd.Series] = {}
        raw_subject = frame[spec.subject_column]
        for c, col in spec.columns.items():
            t = col.treatment
            s = frame[c]
            masked = False
            if isinstance(t, Drop) or c in self.scan_dropped:
                continue
            if c in self.sensitive and run.purpose.consent.separate_consent_for_sensitive:
                if run.policy.consent_records.sensitive_consent_column is None:
                    continue
                blank = ~sens_ok.to_numpy(dtype=bool)
                rb.sensitive_cells_blanked[c] += int(s[blank].notna().sum())
                s = s.mask(blank)
                masked = True
            if isinstance(t, Pseudonymize) and c == spec.subject_column and not masked:
                out[c] = run.pseudonymizer.pseudonymize_factorized(
                    subjects, domain=run.domain, normalizer=normalizer_for(col.category)
                )
            elif isinstance(t, Pseudonymize):
                out[c] = run.pseudonymizer.pseudonymize(
                    s, domain=run.domain, normalizer=normalizer_for(col.category)
                )
            elif isinstance(t, Tokenize):
                if self.tokenizer is None:
                    raise KeyMaterialError(
                        f"column {self.name}.{c} is to be tokenized but the custodian key is "
                        "not loaded",
                        hint="load the keys with KeyRing.from_policy(policy, custodian=True)",
                    )
                out[c] = self.tokenizer.tokenize(s, normalizer=normalizer_for(col.category))
            elif isinstance(t, Scan):
                if run.scanner is None:
                    continue
                res = scan_text_column(s, run.scanner, replace=self._replace())
                found = rb.scan_findings.setdefault(c, Counter())
                found.update(res.counts)
                rb.scan_cells_blanked[c] += res.blanked
                out[c] = res.series
            elif isinstance(t, Keep):
                out[c] = s
            else:
                gen: Generalization = t
                g, unmapped = generalize_column(s, gen, self.gen)
                if unmapped:
                    rb.generalization_unmapped[c] += unmapped
                out[c] = g
        result = pd.DataFrame(out, index=frame.index)
        self.outputs.append(result)
        if (
            self.is_subjects
            and self.tokenizer is not None
            and run.purpose.activation.allowed
            and len(frame)
        ):
            subj = spec.columns[spec.subject_column]
            pseud = run.pseudonymizer.pseudonymize(
                raw_subject, domain=run.domain, normalizer=normalizer_for(subj.category)
            )
            tok = self.tokenizer.tokenize(raw_subject, normalizer=normalizer_for(subj.category))
            self.tokens.append(pd.DataFrame({"pseudonym": pseud, "token": tok}))

    def finish(self) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
        spec, rb, run = self.spec, self.rb, self.run
        for c, col in spec.columns.items():
            if isinstance(col.treatment, Drop):
                rb.columns_dropped.append(c)
            elif isinstance(col.treatment, Pseudonymize):
                rb.pseudonymized_columns[c] = run.domain
            elif isinstance(col.treatment, Tokenize):
                rb.tokenized_columns.append(c)
            elif isinstance(col.treatment, Scan) and run.scanner is None:
                rb.scan_columns_dropped[c] = "no PII scanner was given (fail closed)"
            if (
                c in self.sensitive
                and run.purpose.consent.separate_consent_for_sensitive
                and run.policy.consent_records.sensitive_consent_column is None
            ):
                rb.sensitive_columns_dropped.append(c)
        empty = pd.DataFrame(
            {
                c: pd.Series(dtype="string")
                for c, col in spec.columns.items()
                if not isinstance(col.treatment, Drop)
                and c not in rb.scan_columns_dropped
                and c not in rb.sensitive_columns_dropped
            }
        )
        frame = pd.concat(self.outputs) if self.outputs else empty
        kreport = None
        qis = _quasi_identifiers(run.policy, self.name, spec)
        qis = [q for q in qis if q in frame.columns]
        if qis:
            frame, kreport = enforce_k_anonymity(
                frame, qis, run.policy.privacy.k_anonymity.k, table=self.name
            )
            rb.exclude(K_SUPPRESSED, kreport.rows_suppressed)
        quarantine = (
            pd.concat(self.quarantines, ignore_index=True)
            if self.quarantines
            else pd.DataFrame({"_row": pd.Series(dtype="int64")})
        )
        frame = frame.reset_index(drop=True)
        return frame, quarantine, kreport


def _quasi_identifiers(policy: Policy, table: str, spec: Table) -> list[str]:
    declared = policy.privacy.k_anonymity.quasi_identifiers
    if declared:
        return [qi.partition(".")[2] for qi in declared if qi.partition(".")[0] == table]
    return [
        c
        for c, col in spec.columns.items()
        if col.role is ColumnRole.QUASI_IDENTIFIER and not isinstance(col.treatment, Drop)
    ]


def sanitize(
    input_dir: str | Path,
    policy: Policy | str | Path,
    purpose: str,
    keys: KeyRing,
    *,
    now: dt.datetime | None = None,
    scanner: TextScanner | None = None,
    policy_dir: Path | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    guard: LeakGuard | None = None,
) -> SanitizeResult:
    """Turn the raw input tables in ``input_dir`` into pseudonymous tables and a report.

    ``policy`` is a :class:`Policy` or a policy file; ``purpose`` a declared data use (e.g.
    ``marketing.advertising.profiling``); ``keys`` from :meth:`KeyRing.from_policy` (or
    :meth:`KeyRing.development` for the demo). ``now`` fixes the run time (retention, ages);
    ``scanner`` redacts free text (without one, ``scan`` columns are dropped). ``policy_dir``
    is accepted for symmetry with key loading and is not otherwise used. ``guard`` replaces the
    default :class:`LeakGuard` (e.g. to guard shorter numeric ids); ``chunk_rows`` and
    ``block_bytes`` set the reading chunk sizes.
    Raises InputError, ConsentError, KeyMaterialError or LeakDetectedError.
    """
    del policy_dir
    pol = policy if isinstance(policy, Policy) else load_policy(policy)
    pur = pol.purpose(purpose)
    run = _Run(
        policy=pol,
        purpose=pur,
        domain=pur.pseudonymization_domain,
        keys=keys,
        now=_utc_naive(now),
        scanner=scanner,
        input_dir=Path(input_dir),
        chunk_rows=chunk_rows,
        block_bytes=block_bytes,
        guard=guard if guard is not None else LeakGuard(),
        pseudonymizer=Pseudonymizer(keys),
    )
    keys.domain(run.domain)  # fail early when the purpose's key is missing
    state, consent_rb, consent_q = _load_consents(run)
    builders: dict[str, TableReportBuilder] = {pol.consent_records.table: consent_rb}
    quarantine: dict[str, pd.DataFrame] = {pol.consent_records.table: consent_q}
    tables: dict[str, pd.DataFrame] = {}
    kreports: dict[str, Any] = {}

    sj = pol.subjects
    sj_spec = pol.tables[sj.table]
    sj_rb = TableReportBuilder(table=sj.table, file=sj_spec.file_name(sj.table))
    sj_chunks = list(_chunks(run, sj.table, sj_spec, sj_rb))
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

    gate = prepare_gate(state, ages, GateParams(rule=pur.consent))  # decided once per user
    order = [sj.table] + [t for t in pol.tables if t not in (sj.table, pol.consent_records.table)]
    tokens: list[pd.DataFrame] = []
    for name in order:
        spec = pol.tables[name]
        rb = sj_rb if name == sj.table else TableReportBuilder(name, spec.file_name(name))
        proc = _TableProcessor(run, name, spec, gate, rb)
        source = iter(sj_chunks) if name == sj.table else _chunks(run, name, spec, rb)
        for v in source:
            proc.process(v)
        frame, q, kr = proc.finish()
        tables[name], quarantine[name], kreports[name] = frame, q, kr
        builders[name] = rb
        tokens.extend(proc.tokens)

    reports = {}
    for name, rb in builders.items():
        accepted = 0 if name == pol.consent_records.table else len(tables[name])
        if name == pol.consent_records.table:
            accepted = state.records_used
        reports[name] = rb.build(accepted, kreports.get(name))

    subj_cat = pol.tables[pol.consent_records.table].columns[pol.consent_records.user_column]
    opted = state.latest.index[state.latest["opt_out"].to_numpy(dtype=bool)]
    opted_ps = run.pseudonymizer.pseudonymize(
        pd.Series(opted, dtype="string"),
        domain=run.domain,
        normalizer=normalizer_for(subj_cat.category),
    )
    opted_set = frozenset(str(v) for v in opted_ps.dropna())
    token_frame = None
    if tokens:
        tf = pd.concat(tokens, ignore_index=True).drop_duplicates("pseudonym")
        token_frame = tf[~tf["pseudonym"].isin(opted_set)].reset_index(drop=True)
    activation = ActivationInfo(
        allowed=pur.activation.allowed,
        opt_out_effect=pur.consent.opt_out.value,
        opted_out=opted_set,
        tokens=token_frame,
    )
    notes = []
    if scanner is None and pol.pii_scan.column_scan:
        notes.append("column-level PII scan of `keep` string columns skipped: no scanner given")
    if keys.is_development:
        notes.append("DEVELOPMENT KEYS: pseudonyms are not protected; never use on real data")
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
    )
    run.guard.check({**tables, **{f"quarantine/{k}": v for k, v in quarantine.items()}})
    return SanitizeResult(
        tables=tables,
        quarantine=quarantine,
        report=report,
        activation=activation,
        guard=run.guard,
    )


# --------------------------------------------------------------------------- writing


def _write_parquet(frame: pd.DataFrame, path: Path, meta: dict[str, str]) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    md = dict(table.schema.metadata or {})
    md[b"privacy_profile"] = json.dumps(meta, sort_keys=True).encode()
    with open(path, "wb", opener=private_opener) as fh:
        pq.write_table(table.replace_schema_metadata(md), fh)


def write_sanitized(result: SanitizeResult, out_dir: str | Path) -> list[Path]:
    """Write the tables, quarantine files, opt-out list and report atomically (files 0600).

    Everything is written into a temporary sibling folder and renamed into place at the end;
    a failure (including a leak found by the guard) leaves nothing half-written. ``out_dir``
    must be new, empty, or a previous output of this function (its marker file lists every
    file in it), which is then replaced as a whole; anything else raises
    :class:`~privacy_profile.errors.OutputError` before anything is written: user data is
    never deleted. Returns the written paths.
    """
    out = check_replaceable_output(out_dir)
    result.guard.check(
        {**result.tables, **{f"quarantine/{k}": v for k, v in result.quarantine.items()}}
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{secrets.token_hex(4)}"
    rep = result.report
    meta = {
        "policy": rep.policy,
        "purpose": rep.purpose,
        "pseudonymization_domain": rep.pseudonymization_domain,
        "development_keys": str(rep.development_keys).lower(),
    }
    rel: list[Path] = []
    try:
        tmp.mkdir(mode=0o700)
        (tmp / "quarantine").mkdir(mode=0o700)
        for name, frame in result.tables.items():
            _write_parquet(frame, tmp / f"{name}.parquet", meta)
            rel.append(Path(f"{name}.parquet"))
        for name, q in result.quarantine.items():
            _write_parquet(q, tmp / "quarantine" / f"{name}.parquet", meta)
            rel.append(Path("quarantine") / f"{name}.parquet")
        opt = pd.DataFrame({"pseudonym": sorted(result.activation.opted_out)}, dtype="string")
        _write_parquet(opt, tmp / "opt_out.parquet", meta)
        rel.append(Path("opt_out.parquet"))
        text = json.dumps(rep.to_dict(), indent=2, ensure_ascii=False, sort_keys=True)
        with open(tmp / "ingest_report.json", "w", encoding="utf-8", opener=private_opener) as f:
            f.write(text + "\n")
        rel.append(Path("ingest_report.json"))
        with open(tmp / OUTPUT_MARKER, "w", encoding="utf-8", opener=private_opener) as f:
            f.write(marker_text("sanitize", rel))
        old = None
        if out.exists():  # empty, or only our own previous files (checked above)
            old = out.parent / f".{out.name}.old-{secrets.token_hex(4)}"
            os.rename(out, old)
        os.rename(tmp, out)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out / p for p in rel]
