"""Writing a sanitize result: the pseudonymous tables, quarantine, opt-out list and report,
atomically as Parquet (``write_sanitized``), and the one-call ``sanitize_to_dir`` the CLI uses.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from privacy_profile._io import apply_modes, private_opener
from privacy_profile._paths import OUTPUT_MARKER, check_replaceable_output, marker_text
from privacy_profile.ingest.keys import KeyRing
from privacy_profile.ingest.sanitize import SanitizeResult, refuse_raw_identifiers, sanitize
from privacy_profile.ingest.scan import TextScanner
from privacy_profile.ingest.sources import InputsLike
from privacy_profile.ingest.suppress import Suppression
from privacy_profile.policy.enums import OutputAccess
from privacy_profile.policy.loader import LoadedPolicy

__all__ = ["SanitizeOutput", "sanitize_to_dir", "write_sanitized"]


def _write_parquet(frame: pd.DataFrame, path: Path, meta: dict[str, str]) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    md = dict(table.schema.metadata or {})
    md[b"privacy_profile"] = json.dumps(meta, sort_keys=True).encode()
    with open(path, "wb", opener=private_opener) as fh:
        pq.write_table(table.replace_schema_metadata(md), fh)


def write_sanitized(
    result: SanitizeResult, out_dir: str | Path, *, access: OutputAccess = OutputAccess.OWNER
) -> list[Path]:
    """Write the tables, quarantine files, opt-out list and report atomically, with the modes
    of ``access`` (the policy's ``output_access``: files 0600 and folders 0700 by default,
    0640 and 0750 for ``group``).

    Everything is written into a temporary sibling folder and renamed into place at the end;
    a failure (including a leak found by the guard) leaves nothing half-written. ``out_dir``
    must be new, empty, or a previous output of this function (its marker file lists every
    file in it), which is then replaced as a whole; anything else raises
    :class:`~privacy_profile.errors.OutputError` before anything is written: user data is
    never deleted. Returns the written paths.
    """
    out = check_replaceable_output(out_dir)
    refuse_raw_identifiers(
        result.identifiers,
        {**result.tables, **{f"quarantine/{k}": v for k, v in result.quarantine.items()}},
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
        apply_modes(tmp, file_mode=access.file_mode, dir_mode=access.dir_mode)
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


@dataclass(frozen=True, kw_only=True)
class SanitizeOutput:
    """What ``privacy-profile sanitize`` wrote."""

    result: SanitizeResult
    files: tuple[Path, ...]


def sanitize_to_dir(
    inputs: InputsLike,
    policy: LoadedPolicy,
    purpose: str,
    keys: KeyRing,
    out: str | Path,
    *,
    scanner: TextScanner | None = None,
    now: dt.datetime | None = None,
    suppression: Suppression | None = None,
) -> SanitizeOutput:
    """Sanitize the inputs and write the pseudonymous tables atomically (Parquet) to ``out``;
    ``suppression`` as for :func:`~privacy_profile.ingest.sanitize.sanitize`."""
    result = sanitize(
        inputs, policy.policy, purpose, keys, now=now, scanner=scanner, suppression=suppression
    )
    files = write_sanitized(result, out, access=policy.policy.output_access)
    return SanitizeOutput(result=result, files=tuple(files))
