"""Erasure (and the audience part of opt-out): remove a subject from what the toolkit wrote.

:func:`erase_from_disk` removes the subject's rows from every sanitized Parquet store (each
file streamed into a temporary file and renamed over the original: never half-written), their
token from the activation audiences of runs still on disk and their rows from those runs'
quarantine files. Every rewritten run file is recorded again in the run's hash-chained log, so
``audit verify`` checks the new file. :func:`remove_from_audiences` is the opt-out's part.

What is not touched, by design: released DP outputs (group-level, already private: recomputing
them would spend budget and leak the difference) and the budget ledger (spent budget is never
refunded). The register keeps the subject's pseudonyms so later runs suppress them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from privacy_profile.lineage.runlog import RunLog
from privacy_profile.policy.model import Policy
from privacy_profile.rights._files import (
    parquet_domain,
    parquet_files,
    read_csv_strings,
    rewrite_csv_without,
    rewrite_parquet_without,
    token_digests,
)
from privacy_profile.rights.identity import SubjectIdentity
from privacy_profile.rights.locate import RunOnDisk, runs_on_disk, subject_columns, table_of

__all__ = ["erase_from_disk", "remove_from_audiences"]


def _record(run: RunOnDisk, path: Path) -> None:
    RunLog.for_run_dir(run.path).record_output(run.run_id, path, internal=True)


def _audiences(run: RunOnDisk, token_digest: str) -> dict[str, int]:
    removed = {}
    for a in run.audiences:
        t = read_csv_strings(a)
        if "token" not in t.column_names:
            continue
        keep = pa.array([d != token_digest for d in token_digests(t["token"])], type=pa.bool_())
        n = rewrite_csv_without(a, keep)
        if n:
            _record(run, a)
            removed[str(a)] = n
    return removed


def remove_from_audiences(
    subject: SubjectIdentity, *, runs: Sequence[Path], purpose: str = "all"
) -> dict[str, int]:
    """Remove the subject's token from the audiences on disk of runs for ``purpose`` (or all);
    returns tokens removed per file."""
    if subject.token_digest is None:
        return {}
    out: dict[str, int] = {}
    for run in runs_on_disk(runs):
        if purpose == "all" or run.purpose in (None, purpose):
            out.update(_audiences(run, subject.token_digest))
    return out


def erase_from_disk(
    policy: Policy, subject: SubjectIdentity, *, stores: Sequence[Path], runs: Sequence[Path]
) -> dict[str, dict[str, int]]:
    """Remove the subject from every store and run on disk; return counts per file."""
    store_rows: dict[str, int] = {}
    for path in parquet_files(stores):
        domain, _ = parquet_domain(path)
        pseudonym = subject.pseudonyms.get(domain or "")
        if pseudonym is None:
            continue
        n = rewrite_parquet_without(path, subject_columns(policy, table_of(path)), pseudonym)
        if n:
            store_rows[str(path)] = n
    quarantine_rows: dict[str, int] = {}
    tokens: dict[str, int] = {}
    for run in runs_on_disk(runs):
        pseudonym = subject.pseudonyms.get(run.domain or "")
        for q in run.quarantine if pseudonym is not None else ():
            t = read_csv_strings(q)
            cols = [c for c in subject_columns(policy, q.stem) if c in t.column_names]
            if not cols:
                continue
            hit = pa.array([False] * t.num_rows, type=pa.bool_())
            for c in cols:
                hit = pc.or_(hit, pc.fill_null(pc.equal(t[c], pseudonym), False))
            n = rewrite_csv_without(q, pc.invert(hit))
            if n:
                _record(run, q)
                quarantine_rows[str(q)] = n
        if subject.token_digest is not None:
            tokens.update(_audiences(run, subject.token_digest))
    return {
        "store_rows_removed": store_rows,
        "run_quarantine_rows_removed": quarantine_rows,
        "audience_tokens_removed": tokens,
    }
