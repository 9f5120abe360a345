"""Draft a policy from sample files: ``privacy-profile init``.

:func:`draft_policy` samples every CSV / Parquet / JSON Lines file of a folder, profiles and
classifies its columns (:mod:`privacy_profile.profiling.propose`), picks the subjects table,
the subject id column of every table and where consent lives, and renders a YAML policy that
the current policy model accepts, with a ``# review:`` comment on every guess. Proposals the
model cannot express yet (semantic role mappings, value maps, consent flag columns) are written
as a commented block at the end. :func:`init_policy` validates the draft and writes it
atomically.

The draft never contains a sample value: only file and column names, statistics, entity types,
and, for closed vocabularies (是/否, 已支付, 购买, ...), the built-in words of
:mod:`privacy_profile.profiling.vocabulary` the sample matched.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privacy_profile.errors import InputError
from privacy_profile.policy.loader import load_policy_file
from privacy_profile.profiling.propose import TableProposal, propose_table
from privacy_profile.profiling.render import render_draft
from privacy_profile.profiling.sample import (
    DEFAULT_SAMPLE_BYTES,
    DEFAULT_SAMPLE_ROWS,
    SUFFIX_FORMATS,
    read_sample,
)

__all__ = ["PolicyDraft", "draft_policy", "init_policy"]


@dataclass(frozen=True)
class PolicyDraft:
    """A drafted policy: the YAML text and the proposals it was rendered from."""

    text: str
    tables: tuple[TableProposal, ...]
    skipped: tuple[str, ...]  # files without a recognisable subject id column
    subjects_table: str
    consent_table: str | None  # None: a placeholder consent table was declared

    def summary(self) -> str:
        """One line per table: file, format, encoding, rows sampled, kind, subject column."""
        lines = []
        for t in self.tables:
            enc = t.sample.encoding or "binary"
            whole = "whole file" if t.sample.complete else "sample"
            lines.append(
                f"{t.sample.path.name}: {t.sample.format}, encoding {enc}, "
                f"{len(t.sample.frame)} rows read ({whole}); table {t.name!r} "
                f"({t.kind}), subject id column {t.subject_column!r}"
            )
        for s in self.skipped:
            lines.append(f"{s}: skipped (no subject id column recognised)")
        return "\n".join(lines)


def _table_name(path: Path) -> str:
    """The file name without suffix; dots become underscores (policies say ``table.column``)."""
    return path.stem.strip().replace(".", "_")


def draft_policy(
    input_dir: str | Path,
    *,
    scanner: Any | None = None,
    scan: bool = True,
    max_rows: int = DEFAULT_SAMPLE_ROWS,
    max_bytes: int = DEFAULT_SAMPLE_BYTES,
    today: dt.date | None = None,
) -> PolicyDraft:
    """Sample every supported file of ``input_dir`` and draft a policy for them.

    ``scanner`` is the PII scanner run on the samples (default: the offline
    :class:`~privacy_profile.pii.PiiScanner`; ``scan=False`` skips scanning). Raises
    :class:`InputError` for a missing folder, no supported files, or no table with a
    recognisable subject id column.
    """
    folder = Path(input_dir)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder", hint="give the folder holding the sample files")
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIX_FORMATS
    )
    if not files:
        raise InputError(
            f"{folder}: no {', '.join(sorted(SUFFIX_FORMATS))} files found",
            hint="put one file per table in the folder",
        )
    if scan and scanner is None:
        from privacy_profile.pii import PiiScanner

        scanner = PiiScanner()
    proposals: list[TableProposal] = []
    skipped: list[str] = []
    names: set[str] = set()
    for p in files:
        name = _table_name(p)
        if name in names:
            raise InputError(
                f"{folder}: two files for table {name!r}",
                hint="keep one file per table (the table name is the file name without suffix)",
            )
        names.add(name)
        sample = read_sample(p, max_rows=max_rows, max_bytes=max_bytes)
        _check_header(sample.frame.columns, p, scanner if scan else None)
        tp = propose_table(name, sample, scanner if scan else None)
        if tp.subject_column is None:
            skipped.append(p.name)
        else:
            proposals.append(tp)
    if not proposals:
        raise InputError(
            f"{folder}: no file has a column recognised as a person's id",
            hint="name the id column e.g. user_id, openid, member_id, 会员ID or 用户ID",
        )
    subjects = _pick_subjects(proposals)
    consent = next((t for t in proposals if t.kind == "consents"), None)
    text = render_draft(
        folder, proposals, skipped, subjects, consent, today or dt.datetime.now(dt.UTC).date()
    )
    return PolicyDraft(
        text=text,
        tables=tuple(proposals),
        skipped=tuple(skipped),
        subjects_table=subjects.name,
        consent_table=consent.name if consent else None,
    )


_VALUE_LIKE = re.compile(r"^[\d\s.,:/+\-]+$")
_HEADER_ENTITIES = frozenset(
    {
        "CN_MOBILE",
        "EMAIL_ADDRESS",
        "CN_RESIDENT_ID",
        "BANK_CARD",
        "WECHAT_OPENID",
        "WECHAT_UNIONID",
        "IP_ADDRESS",
        "PASSPORT",
    }
)


def _check_header(columns: Any, path: Path, scanner: Any | None) -> None:
    """Refuse a file whose column names look like values (a CSV without a header row): the
    draft writes column names, so they must not be data."""
    names = [str(c) for c in columns]
    suspicious = [i for i, n in enumerate(names) if _VALUE_LIKE.match(n) or not n.strip()]
    if scanner is not None and not suspicious:
        for i, findings in enumerate(scanner.scan_texts(names)):
            if any(f.entity_type in _HEADER_ENTITIES for f in findings):
                suspicious.append(i)
    if suspicious:
        raise InputError(
            f"{path}: column name(s) at position(s) {', '.join(str(i + 1) for i in suspicious)} "
            "look like values, not names (is the header row missing?); nothing was written",
            hint="add a header row naming the columns",
        )


def _pick_subjects(tables: list[TableProposal]) -> TableProposal:
    def score(t: TableProposal) -> tuple[int, int, int]:
        sid = next(c for c in t.columns if c.name == t.subject_column)
        demographic = sum(c.kind in ("birthdate", "age", "qi", "city") for c in t.columns)
        return (
            int(t.kind == "subjects"),
            int(sid.profile.unique_in_sample) * int(t.kind not in ("orders", "events", "consents")),
            demographic,
        )

    return max(tables, key=score)


# --------------------------------------------------------------------------- YAML


def init_policy(
    input_dir: str | Path,
    out: str | Path,
    *,
    force: bool = False,
    scanner: Any | None = None,
    scan: bool = True,
    max_rows: int = DEFAULT_SAMPLE_ROWS,
    max_bytes: int = DEFAULT_SAMPLE_BYTES,
) -> PolicyDraft:
    """Draft a policy from the files of ``input_dir``, check that it validates, and write it
    atomically to ``out`` (an existing file is refused unless ``force``)."""
    target = Path(out)
    if target.exists() and not force:
        raise InputError(f"{target} exists; refusing to overwrite it", hint="pass --force")
    draft = draft_policy(
        input_dir, scanner=scanner, scan=scan, max_rows=max_rows, max_bytes=max_bytes
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{secrets.token_hex(4)}")
    try:
        tmp.write_text(draft.text, encoding="utf-8")
        load_policy_file(tmp)  # the draft must validate; a PolicyError here is a bug
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return draft
