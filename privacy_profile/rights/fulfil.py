"""Process a registered request end to end and complete it on the record.

:func:`process_request` looks the request's subject up in the register (pseudonyms and token
digest, never the raw id) and acts by kind:

* ``access``: collect and write the export (:mod:`privacy_profile.rights.access`);
* ``erase``: suppress the subject for every purpose first (so a run starting now already skips
  them), then remove them from stores, audiences and run quarantine on disk;
* ``opt-out``: suppress per purpose and scope, and remove the token from the purpose's
  audiences on disk at once;
* ``correct``: activate the corrections, which later runs merge before validation.

The request is completed (register and run log) only when every step succeeded: a failure
leaves it open, and processing it again is safe (each step is idempotent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privacy_profile.errors import InputError
from privacy_profile.rights.access import check_export_dir, collect_access, export_access
from privacy_profile.rights.erasure import erase_from_disk, remove_from_audiences
from privacy_profile.rights.register import RequestKind, RightsRegister, RightsRequest
from privacy_profile.rights.suppression import Scope

__all__ = ["Outcome", "process_request"]


@dataclass(frozen=True)
class Outcome:
    """A completed request, what was done (counts and file names) and where an export went."""

    request: RightsRequest
    summary: dict[str, Any]
    export_dir: Path | None = None

    def describe(self) -> str:
        r = self.request
        lines = [f"request {r.request_id} ({r.kind.value}) completed"]
        lines += [f"  {k}: {v}" for k, v in sorted(self.summary.items())]
        if self.export_dir is not None:
            lines.append(f"  export: {self.export_dir}")
        return "\n".join(lines)


def _total(counts: dict[str, int]) -> int:
    return sum(counts.values())


def process_request(
    register: RightsRegister,
    request_id: str,
    *,
    stores: Sequence[Path] = (),
    runs: Sequence[Path] = (),
    export_dir: Path | None = None,
) -> Outcome:
    """Carry out a registered request against ``stores`` (folders ``sanitize --out`` wrote)
    and ``runs`` (``out/runs`` or run folders); ``export_dir`` receives an access export.
    Raises InputError for an unknown or already completed request or a missing export dir."""
    req = register.request(request_id)
    if not req.is_open:
        raise InputError(
            f"request {request_id} was completed on {req.completed:%Y-%m-%d %H:%M}",
            hint="submit a new request",
        )
    subject = register.subject(req.subject_digest)
    summary: dict[str, Any] = {}
    out_dir = None
    if req.kind is RequestKind.ACCESS:
        if export_dir is None:
            raise InputError("an access request needs an export folder", hint="give --export DIR")
        check_export_dir(export_dir, stores=stores, runs=runs)
        doc = collect_access(
            register.policy,
            subject,
            stores=stores,
            runs=runs,
            suppressions=register.suppressions_of(req.subject_digest),
        )
        doc["request_id"] = req.request_id
        written = export_access(doc, export_dir, stores=stores, runs=runs)
        out_dir = export_dir
        summary = {
            "rows_found": written.rows_found,
            "audiences_found": len(doc["audiences"]),
            "nothing_found": doc["nothing_found"],
        }
    elif req.kind is RequestKind.ERASE:
        register.suppress(req, Scope.ERASURE, "all")
        counts = erase_from_disk(register.policy, subject, stores=stores, runs=runs)
        summary = {
            "store_rows_removed": _total(counts["store_rows_removed"]),
            "run_quarantine_rows_removed": _total(counts["run_quarantine_rows_removed"]),
            "audience_tokens_removed": _total(counts["audience_tokens_removed"]),
            "files_rewritten": sorted({f for c in counts.values() for f in c}),
            "suppressed": "all purposes",
        }
        summary["nothing_found"] = not any(
            summary[k]
            for k in (
                "store_rows_removed",
                "run_quarantine_rows_removed",
                "audience_tokens_removed",
            )
        )
    elif req.kind is RequestKind.OPT_OUT:
        scope = Scope(req.scope or Scope.ACTIVATION)
        register.suppress(req, scope, req.purpose)
        removed = remove_from_audiences(subject, runs=runs, purpose=req.purpose)
        summary = {
            "audience_tokens_removed": _total(removed),
            "files_rewritten": sorted(removed),
            "suppressed": f"{scope.value} for {req.purpose}",
        }
    else:
        summary = {"corrections_activated": register.activate_corrections(req)}
    done = register.complete(req, summary)
    return Outcome(request=done, summary=summary, export_dir=out_dir)
