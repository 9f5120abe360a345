"""Propose, for each sampled column, a data category, a privacy role, a type and a treatment.

Column names (the bilingual vocabulary) and the PII scanner's findings on the sample decide;
identifiers are pseudonymized, contact data and other identifying data dropped, free text
scanned, anything unrecognised dropped until a reviewer says what it is (fail closed). A
proposal records why, as statistics and entity types: never a value, except the built-in
vocabulary words of :mod:`privacy_profile.profiling.vocabulary`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from privacy_profile.policy.model import ColumnRole, ColumnType
from privacy_profile.profiling.columns import ColumnProfile, profile_column
from privacy_profile.profiling.sample import SampledTable
from privacy_profile.profiling.vocabulary import (
    BOOLEAN_WORDS,
    CONSENT_WORDS,
    EVENT_WORDS,
    STATUS_WORDS,
    hint_for,
    normalize_name,
    value_meanings,
)

__all__ = [
    "AGE_BANDS",
    "ENTITY_CATEGORIES",
    "ColumnProposal",
    "TableProposal",
    "propose_table",
]

AGE_BANDS = [0, 14, 18, 25, 35, 45, 55, 65]

# PII entity -> (category, kind): "id" is pseudonymized, "contact" dropped.
ENTITY_CATEGORIES: dict[str, tuple[str, str]] = {
    "WECHAT_OPENID": ("user.unique_id.wechat_openid", "id"),
    "WECHAT_UNIONID": ("user.unique_id.wechat_unionid", "id"),
    "CN_MOBILE": ("user.contact.phone_number", "contact"),
    "CN_LANDLINE": ("user.contact.phone_number", "contact"),
    "EMAIL_ADDRESS": ("user.contact.email", "contact"),
    "CN_RESIDENT_ID": ("user.government_id.resident_id", "contact"),
    "PASSPORT": ("user.government_id.passport_number", "contact"),
    "CN_LICENSE_PLATE": ("user.government_id.vehicle_registration", "contact"),
    "CN_ADDRESS": ("user.contact.address", "contact"),
    "CN_PERSON": ("user.name", "contact"),
    "PERSON": ("user.name", "contact"),
    "BANK_CARD": ("user.financial.bank_account", "contact"),
    "IP_ADDRESS": ("user.device.ip_address", "contact"),
    "QQ_NUMBER": ("user.contact", "contact"),
    "WECHAT_ID": ("user.contact", "contact"),
}

FLAG_SHARE = 0.3
"""A column whose sampled cells hold one identifier type this often is that identifier."""
TEXT_LENGTH = 25.0
"""Mean length above which an unrecognised string column is treated as free text."""
SCAN_CELLS = 100
"""Sampled cells per column given to the PII scanner."""
CLOSED_VOCABULARY = 50
"""A column with at most this many distinct sampled values may get value meanings."""

_TABLE_WORDS = {
    "subjects": ("user", "member", "customer", "会员", "用户", "客户", "buyer"),
    "orders": ("order", "订单", "交易", "purchase"),
    "events": ("event", "behavior", "behaviour", "log", "行为", "日志", "埋点", "action"),
    "consents": ("consent", "授权", "同意", "隐私"),
}


@dataclass(frozen=True)
class ColumnProposal:
    """A guess for one column, with the reasons a reviewer reads."""

    name: str
    profile: ColumnProfile
    category: str
    role: ColumnRole
    type: ColumnType
    treatment: Any  # the YAML form: "keep" or {"action": "generalize", ...}
    kind: str
    semantic: str | None = None
    format: str | None = None
    reasons: tuple[str, ...] = ()
    meanings: dict[str, list[str]] = field(default_factory=dict)
    unknown_values: int = 0


@dataclass(frozen=True)
class TableProposal:
    """A guess for one table: what it is, its subject id column and its columns."""

    name: str
    sample: SampledTable
    kind: str  # subjects | orders | events | consents | other
    subject_column: str | None
    columns: tuple[ColumnProposal, ...]

    def column(self, semantic: str) -> ColumnProposal | None:
        return next((c for c in self.columns if c.semantic == semantic), None)

    def columns_with(self, semantic: str) -> list[ColumnProposal]:
        return [c for c in self.columns if c.semantic == semantic]


def _scan(scanner: Any, sample: SampledTable, name: str) -> dict[str, float]:
    if scanner is None:
        return {}
    report = scanner.scan_column(sample.frame[name], max_cells=SCAN_CELLS)
    return {str(k): float(v) for k, v in report.shares.items()}


def _time_type(p: ColumnProfile) -> tuple[ColumnType, str | None, str | None]:
    if p.type in (ColumnType.TIMESTAMP, ColumnType.DATE):
        return p.type, p.format, None
    if p.type is ColumnType.INTEGER:
        return ColumnType.UNIX_SECONDS, None, "integer times read as unix seconds"
    return ColumnType.TIMESTAMP, None, "values did not parse as times in the sample"


def _classify(
    name: str, profile: ColumnProfile, shares: dict[str, float]
) -> tuple[str, str, str | None, list[str]]:
    """(category, kind, semantic, reasons) from the name and the scanner's findings."""
    hint = hint_for(name)
    reasons: list[str] = []
    flagged = [e for e, s in sorted(shares.items(), key=lambda x: -x[1]) if s >= FLAG_SHARE]
    entity = next((e for e in flagged if e in ENTITY_CATEGORIES), None)
    if hint is not None:
        reasons.append(f"name matches the {hint.semantic or hint.kind} vocabulary")
        category, kind, semantic = hint.category, hint.kind, hint.semantic
        if kind in ("attribute", "qi", "boolean") and entity is not None:
            category, kind = ENTITY_CATEGORIES[entity]
            semantic = "subject_id" if kind == "id" else None
            reasons.append(f"but {shares[entity]:.0%} of sampled cells hold {entity}")
        elif kind in ("attribute", "qi") and shares and profile.mean_length > TEXT_LENGTH:
            category, kind, semantic = "user.content.private", "text", None
            reasons.append(f"long text with PII findings ({', '.join(sorted(shares))})")
        return category, kind, semantic, reasons
    if entity is not None:
        category, kind = ENTITY_CATEGORIES[entity]
        reasons.append(f"{shares[entity]:.0%} of sampled cells hold {entity}")
        return category, kind, "subject_id" if kind == "id" else None, reasons
    if profile.type is ColumnType.STRING and profile.mean_length > TEXT_LENGTH:
        found = f" with PII findings ({', '.join(sorted(shares))})" if shares else ""
        reasons.append(f"long text (mean {profile.mean_length:.0f} characters){found}")
        return "user.content.private", "text", None, reasons
    reasons.append("not recognised: dropped until you declare what it is")
    return "user.behavior", "unknown", None, reasons


def _meanings(
    semantic: str | None, kind: str, table_kind: str, sample: SampledTable, name: str
) -> tuple[dict[str, list[str]], int]:
    vocab = None
    if semantic == "status":
        vocab = CONSENT_WORDS if table_kind == "consents" else STATUS_WORDS
    elif semantic == "event_type":
        vocab = EVENT_WORDS
    elif kind in ("consent", "boolean"):
        vocab = CONSENT_WORDS if kind == "consent" else BOOLEAN_WORDS
    if vocab is None:
        return {}, 0
    distinct = sample.frame[name].dropna().astype(str).str.strip().unique().tolist()
    if len(distinct) > CLOSED_VOCABULARY:
        return {}, len(distinct)
    return value_meanings([str(v) for v in distinct], vocab)


def table_kind(name: str, semantics: set[str]) -> str:
    """subjects | orders | events | consents | other, from the table name and column roles."""
    norm = normalize_name(name)
    if "consent_purpose" in semantics or any(w in norm for w in _TABLE_WORDS["consents"]):
        return "consents"
    if "order_id" in semantics or "amount" in semantics:
        return "orders"
    if "event_type" in semantics:
        return "events"
    for kind in ("orders", "events", "subjects"):
        if any(w in norm for w in _TABLE_WORDS[kind]):
            return kind
    return "other"


_CATEGORY_BY_TABLE = {
    "orders": "user.behavior.purchase_history",
    "events": "user.behavior.browsing_history",
    "subjects": "user.account",
    "consents": "user.privacy_preferences",
}


def _column(
    name: str, sample: SampledTable, tkind: str, shares: dict[str, float]
) -> ColumnProposal:
    profile = profile_column(sample.frame[name], complete=sample.complete)
    category, kind, semantic, reasons = _classify(name, profile, shares)
    typ, fmt = profile.type, profile.format
    treatment: Any = "keep"
    role = ColumnRole.ATTRIBUTE
    if (
        semantic in ("time", "category", "status", "order_id")
        and tkind in _CATEGORY_BY_TABLE
        and category in ("user.behavior", "user.behavior.browsing_history")
    ):
        category = _CATEGORY_BY_TABLE[tkind]
    if tkind == "consents" and kind not in ("id", "contact", "text"):
        category = "user.privacy_preferences"
    if kind == "id":
        role, typ, fmt, treatment = (
            ColumnRole.DIRECT_IDENTIFIER,
            ColumnType.STRING,
            None,
            ("pseudonymize"),
        )
    elif kind == "contact":
        role, typ, fmt, treatment = ColumnRole.DIRECT_IDENTIFIER, ColumnType.STRING, None, "drop"
    elif kind == "text":
        role, typ, fmt, treatment = ColumnRole.FREE_TEXT, ColumnType.STRING, None, "scan"
    elif kind == "birthdate":
        role = ColumnRole.QUASI_IDENTIFIER
        if typ not in (ColumnType.DATE, ColumnType.TIMESTAMP):
            typ, fmt = ColumnType.DATE, None
            reasons.append("values did not parse as dates in the sample")
        treatment = {"action": "generalize", "method": "age_band", "bands": AGE_BANDS}
    elif kind == "age":
        role = ColumnRole.QUASI_IDENTIFIER
        typ, fmt = ColumnType.INTEGER, None
        treatment = {"action": "generalize", "method": "age_band", "bands": AGE_BANDS}
    elif kind == "city":
        role, typ, fmt = ColumnRole.QUASI_IDENTIFIER, ColumnType.STRING, None
        treatment = {"action": "generalize", "method": "city_to_province"}
    elif kind == "qi":
        role, typ, fmt = ColumnRole.QUASI_IDENTIFIER, ColumnType.STRING, None
    elif kind == "time":
        role = ColumnRole.TIMESTAMP
        typ, fmt, why = _time_type(profile)
        if why:
            reasons.append(why)
        unit = "hour" if tkind == "events" else "day"
        treatment = (
            "keep"
            if tkind == "consents"
            else {"action": "generalize", "method": "date_truncate", "unit": unit}
        )
    elif kind == "metric":
        role, typ, fmt = ColumnRole.METRIC, ColumnType.FLOAT, None
        if profile.type not in (ColumnType.INTEGER, ColumnType.FLOAT):
            reasons.append("values did not all parse as numbers in the sample")
    elif kind in ("boolean", "consent"):
        # Only the spellings the validator reads as booleans make a boolean column; others
        # (是/否, 同意/撤回) stay strings until value maps arrive (round two).
        typ = ColumnType.BOOLEAN if profile.type is ColumnType.BOOLEAN else ColumnType.STRING
        fmt = None
    elif kind == "unknown":
        typ, fmt, treatment = ColumnType.STRING, None, "drop"
    else:  # attribute
        typ = ColumnType.BOOLEAN if profile.type is ColumnType.BOOLEAN else ColumnType.STRING
        fmt = None
    meanings, unknown = _meanings(semantic, kind, tkind, sample, name)
    return ColumnProposal(
        name=name,
        profile=profile,
        category=category,
        role=role,
        type=typ,
        treatment=treatment,
        kind=kind,
        semantic=semantic,
        format=fmt,
        reasons=tuple(reasons),
        meanings=meanings,
        unknown_values=unknown,
    )


def _subject_column(columns: list[ColumnProposal]) -> str | None:
    ids = [c for c in columns if c.kind == "id"]
    if not ids:
        return None
    rank = {
        "user.unique_id": 0,
        "user.unique_id.wechat_unionid": 1,
        "user.unique_id.wechat_openid": 2,
    }
    ids.sort(key=lambda c: rank.get(c.category, 3))
    return ids[0].name


def propose_table(name: str, sample: SampledTable, scanner: Any | None) -> TableProposal:
    """Profile and classify every column of one sampled table."""
    names = [str(c) for c in sample.frame.columns]
    shares = {}
    for c in names:
        hint = hint_for(c)
        if hint is None or hint.kind in ("attribute", "qi", "boolean"):
            shares[c] = _scan(scanner, sample, c)
    semantics = {h.semantic for c in names if (h := hint_for(c)) is not None and h.semantic}
    tkind = table_kind(name, semantics)
    columns = [_column(c, sample, tkind, shares.get(c, {})) for c in names]
    if tkind == "other" and any(
        c.kind in ("birthdate", "age", "qi", "city") or c.semantic == "consent_flag"
        for c in columns
    ):
        tkind = "subjects"
    return TableProposal(
        name=name,
        sample=sample,
        kind=tkind,
        subject_column=_subject_column(columns),
        columns=tuple(columns),
    )
