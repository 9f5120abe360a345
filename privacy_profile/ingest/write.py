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

from privacy_profile.ingest.keys import KeyRing
from privacy_profile.ingest.sanitize import SanitizeResult, refuse_raw_identifiers, sanitize
from privacy_profile.ingest.scan import TextScanner
from privacy_profile.ingest.sources import InputsLike
from privacy_profile.ingest.suppress import Suppression
from privacy_profile.policy.loader import LoadedPolicy

__all__ = ["SanitizeOutput", "sanitize_to_dir", "write_sanitized"]


def _write_parquet(frame: pd.DataFrame, path: Path, meta: dict[str, str]) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    md = dict(table.schema.metadata or {})
    md[b"privacy_profile"] = json.dumps(meta, sort_keys=True).encode()
    pq.write_table(table.replace_schema_metadata(md), str(path))


def write_sanitized(result: SanitizeResult, out_dir: str | Path) -> list[Path]:
    """Write the tables, quarantine files, opt-out list and report atomically.

    Everything is written into a temporary sibling folder and renamed into place at the end;
    a failure (including a leak found by the guard) leaves nothing half-written. An existing
    ``out_dir`` is replaced as a whole. Returns the written paths.
    """
    out = Path(out_dir)
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
        (tmp / "quarantine").mkdir(parents=True)
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
        (tmp / "ingest_report.json").write_text(text + "\n", encoding="utf-8")
        rel.append(Path("ingest_report.json"))
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{secrets.token_hex(4)}"
            os.rename(out, old)
        os.rename(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
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
    return SanitizeOutput(result=result, files=tuple(write_sanitized(result, out)))
