"""Where a subject can be on disk: sanitized Parquet stores and the folders of past runs.

A sanitized store is a folder ``privacy-profile sanitize --out`` wrote: one Parquet file per
table (plus ``quarantine/`` and ``opt_out.parquet``), each carrying its pseudonymisation domain
and purpose in its metadata. A run folder (``out/runs/<run_id>``) holds activation audiences
(tokens) and quarantined rows (pseudonyms); its purpose and domain are in
``quarantine/ingest_report.json``. A subject is matched by its pseudonym in the file's domain.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from privacy_profile.errors import InputError
from privacy_profile.policy.model import Policy, Pseudonymize

__all__ = ["RunOnDisk", "runs_on_disk", "subject_columns", "table_of"]

PSEUDONYM_COLUMN = "pseudonym"  # opt_out.parquet


@dataclass(frozen=True)
class RunOnDisk:
    run_id: str
    path: Path
    purpose: str | None
    domain: str | None
    audiences: tuple[Path, ...]
    quarantine: tuple[Path, ...]


def _run(path: Path) -> RunOnDisk:
    report = path / "quarantine" / "ingest_report.json"
    purpose = domain = None
    if report.is_file():
        data = json.loads(report.read_text(encoding="utf-8"))
        purpose, domain = data.get("purpose"), data.get("pseudonymization_domain")
    qdir = path / "quarantine"
    return RunOnDisk(
        run_id=path.name,
        path=path,
        purpose=purpose,
        domain=domain,
        audiences=tuple(sorted((path / "activation").glob("audience_*.csv"))),
        quarantine=tuple(sorted(qdir.glob("*.csv"))) if qdir.is_dir() else (),
    )


def runs_on_disk(folders: Sequence[Path]) -> Iterator[RunOnDisk]:
    """Each run under ``folders`` (a run folder, or a ``runs/`` folder holding several)."""
    for f in folders:
        f = Path(f)
        if not f.is_dir():
            raise InputError(f"runs folder {f} does not exist", hint="give out/runs or a run")
        if (f / "lineage").is_dir():
            yield _run(f)
            continue
        for child in sorted(f.iterdir()):
            if child.is_dir() and (child / "lineage").is_dir():
                yield _run(child)


def table_of(path: Path) -> str:
    """The policy table a store or quarantine file belongs to (its file stem)."""
    return path.stem


def subject_columns(policy: Policy, table: str) -> list[str]:
    """Columns of ``table`` that hold pseudonyms (where a subject's pseudonym can appear)."""
    spec = policy.tables.get(table)
    cols = [PSEUDONYM_COLUMN]
    if spec is not None:
        cols += [c for c, col in spec.columns.items() if isinstance(col.treatment, Pseudonymize)]
    return cols
