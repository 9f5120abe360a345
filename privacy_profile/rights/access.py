"""Access requests: everything the toolkit holds about one subject, for the subject to read.

:func:`export_access` collects every sanitized row the subject's pseudonyms reach (each Parquet
store streamed batch by batch, quarantine included), the audiences of runs still on disk the
subject's token is in, the purposes with the consent state the stores show, the suppressions
the register holds and the retention date of each table, and writes them as ``access.json`` and
a bilingual page ``access.html`` (中文 / English) into a folder the caller names (never under a
marketing output). Differentially private outputs are explained, not exported: they are
group-level values that carry no person.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.compute as pc

from privacy_profile.errors import InputError
from privacy_profile.policy.model import Policy
from privacy_profile.rights._files import (
    parquet_domain,
    parquet_files,
    parquet_matches,
    read_csv_strings,
    token_digests,
)
from privacy_profile.rights.identity import SubjectIdentity
from privacy_profile.rights.locate import runs_on_disk, subject_columns, table_of

__all__ = ["DP_EXPLANATION", "AccessExport", "check_export_dir", "collect_access", "export_access"]

DP_EXPLANATION = {
    "en": "Segment sizes, personas, recommendations and other marketing outputs are "
    "differentially private group-level statistics: each is computed over many people with "
    "calibrated noise and carries no individual's data, so there is nothing of yours in them "
    "to export. Whether you were in a segment is shown above for runs whose audiences are "
    "still on disk.",
    "zh": "分群规模、用户画像、推荐等营销输出是经过差分隐私处理的群体级统计结果："
    "每个数值都基于大量用户并加入了校准噪声，不包含任何个人的数据，"
    "因此其中没有可导出的您的个人信息。"
    "您是否属于某个分群，已在上方按仍保存在磁盘上的运行列出。",
}


@dataclass(frozen=True)
class AccessExport:
    """The export as plain data (``document``) and the files written (when written)."""

    document: dict[str, Any]
    json_path: Path | None = None
    html_path: Path | None = None

    @property
    def rows_found(self) -> int:
        return int(self.document["row_count"])


def _cell(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dt.datetime | dt.date | pd.Timestamp):
        return v.isoformat()
    if hasattr(v, "item"):
        return _cell(v.item())
    return v


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _cell(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]


def _retention(policy: Policy, found: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    out = []
    for name, spec in policy.tables.items():
        entry: dict[str, Any] = {
            "table": name,
            "retention_days": spec.retention_days,
            "retention_column": spec.retention_column,
            "kept_until": None,
        }
        frame = found.get(name)
        col = spec.retention_column
        if frame is not None and col is not None and col in frame.columns and len(frame):
            ts = pd.to_datetime(frame[col], errors="coerce", utc=True).max()
            if ts is not pd.NaT and not pd.isna(ts):
                until = ts + pd.Timedelta(days=spec.retention_days)
                entry["kept_until"] = until.date().isoformat()
        out.append(entry)
    return out


def collect_access(
    policy: Policy,
    subject: SubjectIdentity,
    *,
    stores: Sequence[Path],
    runs: Sequence[Path],
    suppressions: Sequence[tuple[str, str, str]] = (),
) -> dict[str, Any]:
    """The export document (plain JSON-able data) for ``subject``; nothing is written."""
    sources: list[dict[str, Any]] = []
    found: dict[str, list[pd.DataFrame]] = {}
    admitted: set[str] = set()
    opted_out: set[str] = set()
    for path in parquet_files(stores):
        domain, purpose = parquet_domain(path)
        pseudonym = subject.pseudonyms.get(domain or "")
        if pseudonym is None:
            continue
        table = table_of(path)
        rows = parquet_matches(path, subject_columns(policy, table), pseudonym)
        if not rows.num_rows:
            continue
        frame = rows.to_pandas()
        quarantined = path.parent.name == "quarantine"
        if table == "opt_out":
            opted_out.add(purpose or "")
            kind = "opt_out_list"
        else:
            kind = "quarantined_rows" if quarantined else "rows"
            if not quarantined:
                admitted.add(purpose or "")
                found.setdefault(table, []).append(frame)
        sources.append(
            {
                "source": str(path),
                "kind": kind,
                "table": table,
                "purpose": purpose,
                "pseudonymization_domain": domain,
                "rows": _records(frame),
            }
        )
    audiences: list[dict[str, Any]] = []
    runs_checked: list[str] = []
    for run in runs_on_disk(runs):
        runs_checked.append(run.run_id)
        pseudonym = subject.pseudonyms.get(run.domain or "")
        for q in run.quarantine:
            if pseudonym is None:
                continue
            t = read_csv_strings(q)
            cols = [c for c in subject_columns(policy, q.stem) if c in t.column_names]
            mask = None
            for c in cols:
                hit = pc.fill_null(pc.equal(t[c], pseudonym), False)
                mask = hit if mask is None else pc.or_(mask, hit)
            if mask is not None and pc.any(mask).as_py():
                sources.append(
                    {
                        "source": str(q),
                        "kind": "run_quarantined_rows",
                        "table": q.stem,
                        "purpose": run.purpose,
                        "pseudonymization_domain": run.domain,
                        "run_id": run.run_id,
                        "rows": _records(t.filter(mask).to_pandas()),
                    }
                )
        if subject.token_digest is None:
            continue
        for a in run.audiences:
            t = read_csv_strings(a)
            if "token" in t.column_names and subject.token_digest in token_digests(t["token"]):
                audiences.append(
                    {
                        "run_id": run.run_id,
                        "purpose": run.purpose,
                        "audience": a.stem.removeprefix("audience_"),
                        "file": str(a),
                    }
                )
    row_count = sum(len(s["rows"]) for s in sources if s["kind"] != "opt_out_list")
    purposes = [
        {
            "data_use": p.data_use,
            "name": p.name,
            "legal_basis": p.legal_basis.value,
            "recipients": list(p.recipients),
            "activation_allowed": p.activation.allowed,
            "in_sanitized_stores": p.data_use in admitted,
            "opted_out_in_consent_records": p.data_use in opted_out,
            "requests": [
                {"purpose": pu, "scope": sc, "since": since}
                for pu, sc, since in suppressions
                if pu in ("all", p.data_use) or sc == "erasure"
            ],
        }
        for p in policy.purposes
    ]
    found_all = {t: pd.concat(fs) for t, fs in found.items()}
    nothing = row_count == 0 and not audiences
    return {
        "controller": policy.controller,
        "policy": policy.name,
        "subject_digest": subject.digest,
        "stores_checked": [str(s) for s in stores],
        "runs_checked": runs_checked,
        "row_count": row_count,
        "sources": sources,
        "audiences": audiences,
        "purposes": purposes,
        "retention": _retention(policy, found_all),
        "dp_outputs": DP_EXPLANATION,
        "nothing_found": nothing,
        "message": "nothing found for this subject in the stores and runs checked"
        if nothing
        else f"{row_count} row(s) and {len(audiences)} audience membership(s) found",
    }


def check_export_dir(out_dir: Path, *, stores: Sequence[Path], runs: Sequence[Path]) -> Path:
    """Refuse an export folder under a marketing output, a store or a run folder."""
    out = Path(out_dir).resolve()
    if "marketing" in out.parts:
        raise InputError(
            f"export folder {out_dir} is under a marketing output; refusing to write there",
            hint="give a folder only the compliance team reads",
        )
    for base in [*stores, *runs]:
        b = Path(base).resolve()
        if out == b or b in out.parents:
            raise InputError(
                f"export folder {out_dir} is inside {base}; refusing to write there",
                hint="give a folder outside the stores and run folders",
            )
    return out


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def export_access(
    document: dict[str, Any], out_dir: Path, *, stores: Sequence[Path], runs: Sequence[Path]
) -> AccessExport:
    """Write ``access.json`` and ``access.html`` (mode 0600) into ``out_dir``."""
    out = check_export_dir(out_dir, stores=stores, runs=runs)
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    jp, hp = out / "access.json", out / "access.html"
    _write_private(jp, json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    _write_private(hp, render_html(document))
    return AccessExport(document=document, json_path=jp, html_path=hp)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in r)
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(doc: dict[str, Any]) -> str:
    """The export as a bilingual page (Chinese first, then English)."""
    parts = [
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>",
        "<title>个人信息查阅答复 / Access request response</title>",
        "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;"
        "padding:.2em .5em;font-size:90%}</style></head><body>",
        "<h1>个人信息查阅答复 / Access request response</h1>",
        f"<p>个人信息处理者 / Controller: {html.escape(str(doc['controller']))}</p>",
        f"<p>结果 / Result: {html.escape(str(doc['message']))}</p>",
        "<h2>处理目的与同意状态 / Purposes and consent</h2>",
        _table(
            [
                "目的 / Purpose",
                "名称 / Name",
                "法律依据 / Legal basis",
                "接收方 / Recipients",
                "在数据中 / In the data",
                "已退出个性化营销 / Opted out",
            ],
            [
                [
                    p["data_use"],
                    p["name"],
                    p["legal_basis"],
                    "; ".join(p["recipients"]),
                    "是 / yes" if p["in_sanitized_stores"] else "否 / no",
                    "是 / yes" if p["opted_out_in_consent_records"] or p["requests"] else "否 / no",
                ]
                for p in doc["purposes"]
            ],
        ),
        "<h2>保存期限 / Retention</h2>",
        _table(
            ["表 / Table", "保存天数 / Days kept", "删除日期 / Kept until"],
            [[r["table"], r["retention_days"], r["kept_until"] or "-"] for r in doc["retention"]],
        ),
        "<h2>所属人群包 / Audiences you were in</h2>",
        _table(
            ["运行 / Run", "目的 / Purpose", "人群包 / Audience"],
            [[a["run_id"], a["purpose"], a["audience"]] for a in doc["audiences"]],
        )
        if doc["audiences"]
        else "<p>无 / none</p>",
        "<h2>我们保存的您的数据（假名化）/ Your data we hold (pseudonymised)</h2>",
    ]
    for s in doc["sources"]:
        rows = s["rows"]
        cols = list(rows[0]) if rows else []
        parts.append(f"<h3>{html.escape(s['table'])} ({html.escape(s['kind'])})</h3>")
        parts.append(_table(cols, [[r.get(c) for c in cols] for r in rows]))
    if not doc["sources"]:
        parts.append("<p>未找到 / nothing found</p>")
    parts += [
        "<h2>群体统计结果 / Group-level statistics</h2>",
        f"<p>{html.escape(doc['dp_outputs']['zh'])}</p>",
        f"<p>{html.escape(doc['dp_outputs']['en'])}</p>",
        "</body></html>\n",
    ]
    return "\n".join(parts)
