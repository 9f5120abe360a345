"""Render a draft policy as commented YAML (ruamel): the tables with a ``# review:`` comment
on every guess, placeholders the reviewer must replace, and the commented block of proposals
(role mappings, value maps, consent flags, custom tags) for what the model cannot express."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from privacy_profile.errors import InputError
from privacy_profile.profiling.propose import ColumnProposal, TableProposal

__all__ = ["DOMAIN", "KEY_ENV", "PURPOSE", "R", "render_draft"]

PURPOSE = "marketing.advertising.profiling"
DOMAIN = "marketing_analytics"
KEY_ENV = "PRIVACY_PROFILE_KEY_MARKETING"
R = "review: "


def _policy_name(folder: Path) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", folder.resolve().name).strip("-._")
    return f"{base}-draft" if base else "shop-draft"


def _flow(d: dict[str, Any]) -> CommentedMap:
    m = CommentedMap(d)
    for k, v in d.items():
        if isinstance(v, list):
            s = CommentedSeq(v)
            s.fa.set_flow_style()
            m[k] = s
    m.fa.set_flow_style()
    return m


def _fseq(items: list[str]) -> CommentedSeq:
    s = CommentedSeq(items)
    s.fa.set_flow_style()
    return s


def _stats(c: ColumnProposal) -> str:
    p = c.profile
    if p.distinct_estimate is None:
        distinct = "all distinct in sample"
    elif p.distinct == p.distinct_estimate:
        distinct = f"{p.distinct} distinct"
    else:
        distinct = f"~{p.distinct_estimate} distinct"
    return f"{p.type.value} in sample, {distinct}, {p.null_share:.0%} empty"


def _column_map(c: ColumnProposal, subject: bool) -> CommentedMap:
    m = CommentedMap()
    m["category"] = c.category
    m["role"] = c.role.value
    if c.type.value != "string":
        m["type"] = c.type.value
    if c.format is not None:
        m["format"] = c.format
    if subject:
        m["nullable"] = False
    m["treatment"] = _flow(c.treatment) if isinstance(c.treatment, dict) else c.treatment
    why = "; ".join(c.reasons)
    m.yaml_add_eol_comment(f"{R}{why} ({_stats(c)})", "category")
    return m


def _table_map(t: TableProposal, kind_retention: int) -> CommentedMap:
    m = CommentedMap()
    m["file"] = t.sample.path.name
    m["format"] = t.sample.format
    if t.sample.encoding is not None:
        m["encoding"] = t.sample.encoding
        m.yaml_add_eol_comment(
            "detected: the first of utf-8-sig, utf-8, gbk, gb18030 that decodes the sample",
            "encoding",
        )
    m["retention_days"] = kind_retention
    m.yaml_add_eol_comment(f"{R}how long rows of this table may be used", "retention_days")
    times = [c for c in t.columns if c.kind == "time"]
    if times and t.kind != "consents":
        m["retention_column"] = times[0].name
        m.yaml_add_eol_comment(f"{R}the time retention is measured on", "retention_column")
    m["subject_column"] = t.subject_column
    m.yaml_add_eol_comment(f"{R}the column holding the person's id in this table", "subject_column")
    m["undeclared_columns"] = "drop"
    cols = CommentedMap()
    for c in t.columns:
        cols[c.name] = _column_map(c, subject=c.name == t.subject_column)
    m["columns"] = cols
    return m


_RETENTION = {"events": 365, "consents": 1825}


def _placeholder_consents(subject_id: ColumnProposal) -> CommentedMap:
    m = CommentedMap()
    m["file"] = "consents.csv"
    m["format"] = "csv"
    m["retention_days"] = 1825
    m["subject_column"] = subject_id.name
    m["undeclared_columns"] = "refuse"
    cols = CommentedMap()
    cols[subject_id.name] = CommentedMap(
        {
            "category": subject_id.category,
            "role": "direct_identifier",
            "nullable": False,
            "treatment": "pseudonymize",
        }
    )
    for name, typ in (
        ("purpose", "string"),
        ("status", "string"),
        ("recorded_at", "timestamp"),
        ("notice_version", "string"),
    ):
        spec: dict[str, Any] = {"category": "user.privacy_preferences", "role": "attribute"}
        if typ != "string":
            spec["role"] = "timestamp"
            spec["type"] = typ
        spec["nullable"] = False
        spec["treatment"] = "keep"
        cols[name] = CommentedMap(spec)
    m["columns"] = cols
    return m


def render_draft(
    folder: Path,
    tables: list[TableProposal],
    skipped: list[str],
    subjects: TableProposal,
    consent: TableProposal | None,
    today: dt.date,
) -> str:
    sid_name = subjects.subject_column
    if sid_name is None:
        raise InputError(
            f"no subject id column was found in {subjects.name!r}",
            hint="give the subjects table an id column (e.g. openid, user_id, 会员ID)",
        )
    sid = next(c for c in subjects.columns if c.name == sid_name)
    doc = CommentedMap()
    doc["policy_version"] = 1
    doc["name"] = _policy_name(folder)
    doc["description"] = "Drafted by `privacy-profile init` from sample files: review every guess."
    doc["controller"] = "REVIEW: the personal-information handler (your company)"
    doc.yaml_add_eol_comment(f"{R}your company's legal name", "controller")
    doc["assessment"] = _flow({"id": "PIPIA-REVIEW", "completed_on": today})
    doc.yaml_add_eol_comment(
        f"{R}profiling needs an impact assessment (PIPL art. 55): put yours here", "assessment"
    )
    doc["pseudonymization_domains"] = [
        CommentedMap(
            {
                "name": DOMAIN,
                "key": _flow({"env": KEY_ENV}),
                "key_id": "REVIEW-key-id",
                "description": "Pseudonyms used inside the profiling pipeline.",
            }
        )
    ]
    doc.yaml_add_eol_comment(
        f"{R}the key is read from this environment variable; record its version in key_id",
        "pseudonymization_domains",
    )
    purpose = CommentedMap()
    purpose["data_use"] = PURPOSE
    purpose["name"] = "Segment-based campaigns"
    purpose["legal_basis"] = "consent"
    purpose["recipients"] = _fseq(["Marketing department (DP aggregates only)"])
    purpose["pseudonymization_domain"] = DOMAIN
    rule = CommentedMap()
    rule["accepted_notice_versions"] = _fseq(["REVIEW-notice-version"])
    rule.yaml_add_eol_comment(
        f"{R}the privacy-notice versions whose consent counts (never copied from the data)",
        "accepted_notice_versions",
    )
    rule["separate_consent_for_sensitive"] = True
    rule["minors"] = _flow(
        {"minimum_age": 14, "unknown_age": "exclude", "guardian_consent_admits": True}
    )
    rule["opt_out"] = "exclude_from_activation"
    purpose["consent"] = rule
    doc["purposes"] = [purpose]
    doc.yaml_add_eol_comment(f"{R}the purpose(s) of the runs", "purposes")

    cr = CommentedMap()
    table_maps = CommentedMap()
    for t in tables:
        table_maps[t.name] = _table_map(t, _RETENTION.get(t.kind, 1095))
    if consent is not None:
        if consent.subject_column is None:
            raise InputError(
                f"the consent table {consent.name!r} has no subject id column",
                hint="give the consent records the subjects' id column",
            )
        cr["table"] = consent.name
        cr["user_column"] = consent.subject_column
        needed = {
            "purpose_column": ("consent_purpose", "purpose", "string"),
            "status_column": ("status", "status", "string"),
            "timestamp_column": ("time", "recorded_at", "timestamp"),
            "notice_version_column": ("notice_version", "notice_version", "string"),
        }
        cols = table_maps[consent.name]["columns"]
        for field, (semantic, placeholder, typ) in needed.items():
            found = consent.column(semantic)
            if found is not None:
                cr[field] = found.name
                cr.yaml_add_eol_comment(f"{R}guessed from the column name", field)
            else:
                cr[field] = placeholder
                spec: dict[str, Any] = {
                    "category": "user.privacy_preferences",
                    "role": "timestamp" if typ == "timestamp" else "attribute",
                }
                if typ != "string":
                    spec["type"] = typ
                spec["treatment"] = "keep"
                cols[placeholder] = CommentedMap(spec)
                cols.yaml_add_eol_comment(
                    f"{R}NOT FOUND in {consent.sample.path.name}: add this column", placeholder
                )
                cr.yaml_add_eol_comment(f"{R}no such column found: a placeholder", field)
    else:
        cr["table"] = "consents"
        cr["user_column"] = sid.name
        cr["purpose_column"] = "purpose"
        cr["status_column"] = "status"
        cr["timestamp_column"] = "recorded_at"
        cr["notice_version_column"] = "notice_version"
        table_maps["consents"] = _placeholder_consents(sid)
        table_maps.yaml_add_eol_comment(
            f"{R}PLACEHOLDER: no consent table in the samples; a run refuses to start without "
            "consents.csv (status granted|withdrawn). Consent flag columns, if any, are listed "
            "in the proposed mappings at the end (round two)",
            "consents",
        )
    doc["consent_records"] = cr
    doc.yaml_add_eol_comment(f"{R}where consent records are", "consent_records")

    sj = CommentedMap()
    sj["table"] = subjects.name
    sj["id_column"] = sid.name
    birth = next((c for c in subjects.columns if c.kind == "birthdate"), None)
    age = next((c for c in subjects.columns if c.kind == "age"), None)
    if birth is not None:
        sj["birthdate_column"] = birth.name
    elif age is not None:
        sj["age_column"] = age.name
    else:
        sj["age_column"] = "age"
        sub_cols = table_maps[subjects.name]["columns"]
        sub_cols["age"] = CommentedMap(
            {
                "category": "user.demographic.age_range",
                "role": "quasi_identifier",
                "type": "integer",
                "treatment": _flow(
                    {"action": "generalize", "method": "age_band", "bands": [0, 14, 18]}
                ),
            }
        )
        sub_cols.yaml_add_eol_comment(
            f"{R}NOT FOUND: no age or birthdate column; the minors rule needs one", "age"
        )
    doc["subjects"] = sj
    doc.yaml_add_eol_comment(
        f"{R}the table with one row per person ({subjects.kind}), and its id column", "subjects"
    )
    doc["tables"] = table_maps

    unit = f"{subjects.name}.{sid.name}"
    pv = CommentedMap()
    pv["privacy_unit_column"] = unit
    pv["max_groups_contributed"] = 3
    pv["max_rows_per_group"] = 3
    pv["epsilon_budget"] = 10.0
    pv["delta_budget"] = 1.0e-5
    pv["max_epsilon_per_query"] = 2.0
    pv["delta_per_query"] = 1.0e-6
    pv["budget_dataset"] = _policy_name(folder).removesuffix("-draft") + "-users"
    pv["budget_window"] = _flow({"kind": "rolling_days", "days": 30})
    pv["aggregation_threshold"] = _flow({"threshold": 50, "privacy_unit_column": unit})
    pv["k_anonymity"] = _flow({"k": 10})
    doc["privacy"] = pv
    doc.yaml_add_eol_comment(
        f"{R}starting values of the example policy (never derived from the data); "
        "declare public metric_bounds for amounts before segmenting",
        "privacy",
    )
    doc["pii_scan"] = _flow(
        {
            "replacement": "entity_tag",
            "column_scan": True,
            "undeclared_identifier_columns": "refuse",
        }
    )

    header = (
        "Drafted by `privacy-profile init` from samples of the files in the input folder.\n"
        "Every guess carries a `# review:` comment; nothing here was copied from the data\n"
        "except built-in vocabulary words (是/否, 已支付, ...) named in the PROPOSED MAPPINGS\n"
        "block at the end. Check it, then `privacy-profile policy validate` it."
    )
    doc.yaml_set_start_comment(header)
    yaml = YAML()
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    buf = io.StringIO()
    yaml.dump(doc, buf)
    return buf.getvalue() + _mapping_block(tables, subjects, consent)


def _meanings(c: ColumnProposal) -> str:
    parts = [f"{k}: [{', '.join(v)}]" for k, v in sorted(c.meanings.items())]
    text = "{" + ", ".join(parts) + "}"
    if c.unknown_values:
        text += f"  # {c.unknown_values} other value(s) not in the built-in vocabulary: review"
    return text


def _mapping_block(
    tables: list[TableProposal], subjects: TableProposal, consent: TableProposal | None
) -> str:
    """The proposals the current model cannot express (round two), as commented YAML."""
    lines = [
        "",
        "# " + "=" * 78,
        "# PROPOSED MAPPINGS (review; not policy fields yet: they become fields in round two)",
        "# " + "=" * 78,
        "# roles:",
        f"#   subjects: {{table: {subjects.name}, id: {subjects.subject_column}}}",
        "#   subject_id:  # per table (names may differ)",
    ]
    for t in tables:
        lines.append(f"#     {t.name}: {t.subject_column}")
    for kind, roles in (
        ("orders", ("order_id", "amount", "time", "status", "category", "coupon_flag")),
        ("events", ("event_type", "time", "category")),
    ):
        for t in (t for t in tables if t.kind == kind):
            found = [(r, t.column(r)) for r in roles]
            body = ", ".join(f"{r}: {c.name}" for r, c in found if c is not None)
            lines.append(f"#   {kind}: {{table: {t.name}, {body}}}")
    lines.append("# value_maps:  # only built-in vocabulary words are named")
    for t in tables:
        for c in t.columns:
            closed = c.semantic in ("status", "event_type") or c.kind in ("boolean", "consent")
            if closed and (c.meanings or c.unknown_values):
                lines.append(f"#   {t.name}.{c.name}: {_meanings(c)}")
    lines.append("# consent:")
    if consent is not None:
        lines.append(f"#   table: {consent.name}")
    flags = [c for c in subjects.columns if c.semantic == "consent_flag"]
    if flags:
        lines.append(f"#   flags_in: {subjects.name}  # per-purpose flag columns")
        for c in flags:
            lines.append(f"#     {c.name}: {{purpose: REVIEW, values: {_meanings(c)}}}")
    if consent is None and not flags:
        lines.append("#   none found: add a consent table or flag columns")
    tags = [
        f"{t.name}.{c.name}"
        for t in tables
        for c in t.columns
        if c.semantic in ("member_level", "channel", "occupation") or c.kind == "qi"
    ]
    if tags:
        lines.append(f"# custom_tags:  # candidate persona dimensions: {', '.join(tags)}")
    return "\n".join(lines) + "\n"
