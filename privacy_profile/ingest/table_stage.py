"""The per-table stages of ingestion: read validated chunks (feeding the identifier index), mask
quarantined rows, and run consent gate, retention, sensitive columns, free-text scan,
pseudonymize / tokenize / drop / generalize and k-anonymity on one data table.

:func:`~privacy_profile.ingest.sanitize.sanitize` drives these over every table of the policy.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from privacy_profile.errors import InputError, KeyMaterialError, PolicyError
from privacy_profile.ingest.codes import factorize
from privacy_profile.ingest.consent import PreparedGate, gate_factorized
from privacy_profile.ingest.generalize import Generalization, GeneralizeParams, generalize_column
from privacy_profile.ingest.identifiers import IdentifierIndex
from privacy_profile.ingest.kanon import enforce_k_anonymity
from privacy_profile.ingest.keys import KeyRing
from privacy_profile.ingest.normalize import normalizer_for
from privacy_profile.ingest.pseudonymize import Pseudonymizer, Tokenizer
from privacy_profile.ingest.report import TableReportBuilder
from privacy_profile.ingest.retention import RetentionParams, retention_exclusions
from privacy_profile.ingest.scan import TextScanner, column_scan_cells, scan_text_column
from privacy_profile.ingest.sources import InputTables
from privacy_profile.ingest.suppress import SubjectFilter
from privacy_profile.ingest.validate import TableSchema, Validated, check_columns, validate_chunk
from privacy_profile.policy.model import (
    ColumnRole,
    ColumnType,
    Drop,
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

__all__ = [
    "INPUT_IDENTIFIER",
    "K_SUBJECT_SUPPRESSED",
    "K_SUPPRESSED",
    "IngestRun",
    "TableProcessor",
    "blank_indexed",
    "mask_quarantine",
    "quarantine_digest",
    "quasi_identifiers",
    "read_chunks",
]

INPUT_IDENTIFIER = "INPUT_IDENTIFIER"  # a free-text cell held a raw identifier the scanner missed

K_SUPPRESSED = "k_anonymity_suppressed"
# a row of another table whose subject k-anonymity suppressed in the subjects table
K_SUBJECT_SUPPRESSED = "k_anonymity_subject_suppressed"


@dataclass(frozen=True)
class IngestRun:
    """What every table stage of one ``sanitize`` call shares."""

    policy: Policy
    purpose: Purpose
    domain: str
    keys: KeyRing
    now: dt.datetime
    scanner: TextScanner | None
    inputs: InputTables
    chunk_rows: int
    block_bytes: int
    identifiers: IdentifierIndex
    pseudonymizer: Pseudonymizer
    subject_filter: SubjectFilter | None = None
    # rights requests applied: pseudonyms excluded per reason, cells corrected (mutable tallies)
    rights_seen: dict[str, set[str]] = field(default_factory=dict)
    rights_cells: Counter[str] = field(default_factory=Counter)


def read_chunks(
    run: IngestRun, name: str, spec: Table, rb: TableReportBuilder
) -> Iterator[Validated]:
    """Validated chunks of one table; feeds the identifier index with raw identifier values."""
    path = run.inputs.location(name, spec)
    schema = TableSchema(name=name, spec=spec, path=path, now=run.now)
    ids = [
        (c, col.category)
        for c, col in spec.columns.items()
        if col.role is ColumnRole.DIRECT_IDENTIFIER
    ]
    checked = False
    for chunk in run.inputs.read(
        name, spec, chunk_rows=run.chunk_rows, block_bytes=run.block_bytes
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
        for c, category in ids:
            run.identifiers.add(chunk.frame[c], category)
        if run.subject_filter is not None:  # rights requests: before anything else
            frame, why, seen, cells = run.subject_filter.apply(chunk.frame, name, spec)
            for reason, n in why.items():
                rb.exclude(reason, n)
                run.rights_seen.setdefault(reason, set()).update(seen)
            run.rights_cells[name] += cells
            chunk = replace(chunk, frame=frame)
        v = validate_chunk(chunk, schema)
        for reason, n in v.reasons.items():
            rb.quarantine(reason, n)
        rb.unknown_values.update(v.unknown_values)
        yield v


def quarantine_digest(run: IngestRun, s: pd.Series) -> pd.Series:
    """``hmac:`` + 16 hex digits of a keyed digest per cell (equal values, equal digests;
    separated from pseudonyms by a prefix), so quarantine evidence holds no raw value."""
    out = pd.Series(pd.NA, index=s.index, dtype="string")
    present = s.notna().to_numpy(dtype=bool)
    if present.any():
        values = ["\x00quarantine\x00" + str(v) for v in s[present]]
        hashed = run.pseudonymizer.hash_values(values, domain=run.domain)
        out[present] = ["hmac:" + h[:16] for h in hashed]
    return out


def mask_quarantine(run: IngestRun, spec: Table, q: pd.DataFrame) -> pd.DataFrame:
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
            q[c] = quarantine_digest(run, q[c])
    q = q.reset_index()
    q["_row"] = q["_row"].astype("int64")
    return q


class TableProcessor:
    """Runs the per-chunk stages of one data table and collects its output."""

    def __init__(
        self,
        run: IngestRun,
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
        # rows an engine kept where it computed them (its handle, finished by the backend's
        # ``finish_table``); ``outputs`` is then empty
        self.staged: Any = None

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

    def _replace(self, scan: Scan | None = None) -> Callable[[Any, str], str] | None:
        ps = self.run.policy.pii_scan
        if scan is not None and scan.operator is not None:
            from privacy_profile.pii.operators import replacer

            op = scan.operator
            if op == "hash" and ps.pseudonym_domain is None:
                raise PolicyError(
                    f"table {self.name}: a scan column's operator is hash but "
                    "pii_scan.pseudonym_domain is not set",
                    hint="set pii_scan.pseudonym_domain to a declared domain (its key is used)",
                )
            return replacer(
                op,
                hash_secret=(
                    self.run.keys.domain(ps.pseudonym_domain).secret()
                    if op == "hash" and ps.pseudonym_domain is not None
                    else None
                ),
                encrypt_secret=(
                    self.run.keys.require_custodian().secret() if op == "encrypt" else None
                ),
            )
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
            self.quarantines.append(mask_quarantine(run, spec, v.quarantine))
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
                res = scan_text_column(s, run.scanner, replace=self._replace(t))
                found = rb.scan_findings.setdefault(c, Counter())
                found.update(res.counts)
                rb.scan_cells_blanked[c] += res.blanked
                text, missed = blank_indexed(run.identifiers, res.series)
                if missed:
                    found[INPUT_IDENTIFIER] += missed
                    rb.scan_cells_blanked[c] += missed
                out[c] = text
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

    def collect(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The table's rows after the per-chunk stages, and its quarantine so far (the row
        checks and k-anonymity come after every table is read: see ``sanitize``)."""
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
        quarantine = (
            pd.concat(self.quarantines, ignore_index=True)
            if self.quarantines
            else pd.DataFrame({"_row": pd.Series(dtype="int64")})
        )
        return frame, quarantine

    def anonymize(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, Any]:
        """k-anonymity over the table's quasi-identifiers (rows of classes below k are
        excluded and counted); the kept rows re-indexed, and the k-anonymity report."""
        kreport = None
        qis = quasi_identifiers(self.run.policy, self.name, self.spec)
        qis = [q for q in qis if q in frame.columns]
        if qis:
            frame, kreport = enforce_k_anonymity(
                frame, qis, self.run.policy.privacy.k_anonymity.k, table=self.name
            )
            self.rb.exclude(K_SUPPRESSED, kreport.rows_suppressed)
        return frame.reset_index(drop=True), kreport


def quasi_identifiers(policy: Policy, table: str, spec: Table) -> list[str]:
    declared = policy.privacy.k_anonymity.quasi_identifiers
    if declared:
        return [qi.partition(".")[2] for qi in declared if qi.partition(".")[0] == table]
    return [
        c
        for c, col in spec.columns.items()
        if col.role is ColumnRole.QUASI_IDENTIFIER and not isinstance(col.treatment, Drop)
    ]


def blank_indexed(index: IdentifierIndex, text: pd.Series) -> tuple[pd.Series, int]:
    """Blank the scanned free-text cells that still hold a raw identifier value read so far
    (e.g. a nickname of another user the scanner did not recognise); returns the series and
    the number of cells blanked."""
    distinct = [str(v) for v in pd.unique(text.dropna())]
    found = index.find(distinct)
    if not found:
        return text, 0
    hit = np.logical_or.reduce(list(found.values()))
    bad = text.isin([v for v, h in zip(distinct, hit, strict=True) if h]).to_numpy(dtype=bool)
    return text.mask(bad), int(bad.sum())
