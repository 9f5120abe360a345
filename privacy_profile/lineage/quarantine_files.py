"""Writing a run's quarantine evidence (quarantined rows with row number and reason, and the
ingest report) after the release guard checked it holds no raw identifier."""

from __future__ import annotations

import json
from pathlib import Path

from privacy_profile._io import atomic_write_text
from privacy_profile.ingest import SanitizeResult
from privacy_profile.lineage.guard import ReleaseGuard

__all__ = ["write_quarantine"]


def write_quarantine(result: SanitizeResult, out_dir: Path, guard: ReleaseGuard) -> list[Path]:
    """Quarantined rows (row number and reason) and the ingest report: internal evidence.

    Ingestion already masked identifiers in quarantined rows (pseudonyms, digests or blanks);
    the release guard checks again that no raw identifier is in them before anything is
    written.
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
