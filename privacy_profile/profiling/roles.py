"""Propose the policy's role mapping, value maps, consent flags, custom tags and identity
links from the table proposals of a draft (``privacy-profile init``).

A proposal is made only where the samples make it confident (every required column found, a
status word meaning paid, ...); what is missing is returned as a note the draft prints for the
reviewer. Value maps name only built-in vocabulary words the sample matched
(:mod:`privacy_profile.profiling.vocabulary`), never any other value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from privacy_profile.policy.model import ColumnType
from privacy_profile.profiling.propose import ColumnProposal, TableProposal
from privacy_profile.profiling.vocabulary import normalize_name

__all__ = ["RoleProposal", "propose_roles", "value_map"]

TAG_SEMANTICS = ("member_level", "occupation")
"""Column semantics proposed as custom tags (``segmentation.tags``)."""

_MARKETING = ("营销", "推广", "广告", "画像", "marketing", "promo", "advert", "profil")


@dataclass(frozen=True)
class RoleProposal:
    """The proposed ``mapping`` (None: no orders or events role could be proposed), consent
    flag column, custom tags and identity links, and notes on what was not proposed."""

    mapping: dict[str, Any] | None
    flag_column: str | None
    tags: dict[str, str]
    identity_links: list[dict[str, str]]
    notes: list[str] = field(default_factory=list)


def _closed(c: ColumnProposal) -> bool:
    return c.semantic in ("status", "event_type") or c.kind in ("boolean", "consent")


def value_map(c: ColumnProposal) -> dict[str, str] | None:
    """Raw built-in word -> meaning for a closed-vocabulary column, or None. A boolean column
    maps to true/false (consent words too: granted is true)."""
    if not _closed(c) or not c.meanings:
        return None
    out: dict[str, str] = {}
    for meaning, words in sorted(c.meanings.items()):
        if c.type is ColumnType.BOOLEAN:
            meaning = {"granted": "true", "withdrawn": "false"}.get(meaning, meaning)
        for w in words:
            out[w] = meaning
    return out


def _orders(t: TableProposal) -> tuple[dict[str, Any] | None, str | None]:
    cols = {r: t.column(r) for r in ("order_id", "amount", "time", "status")}
    missing = [r for r, c in cols.items() if c is None]
    status = cols["status"]
    if missing or status is None:
        return None, f"orders table {t.name!r}: no column found for {', '.join(missing)}"
    if "paid" not in status.meanings:
        return None, (
            f"orders table {t.name!r}: no status value of {status.name!r} is a built-in word "
            "meaning paid"
        )
    m: dict[str, Any] = {"table": t.name}
    m.update({r: c.name for r, c in cols.items() if c is not None})
    for role, semantic in (("category", "category"), ("coupon", "coupon_flag")):
        c = t.column(semantic)
        if c is not None and (role != "coupon" or c.type is ColumnType.BOOLEAN):
            m[role] = c.name
    m["paid_values"] = ["paid"]
    if "refunded" in status.meanings:
        m["refund_values"] = ["refunded"]
    return m, None


def _events(t: TableProposal) -> tuple[dict[str, Any] | None, str | None]:
    kind, time = t.column("event_type"), t.column("time")
    if kind is None or time is None:
        what = "event type" if kind is None else "time"
        return None, f"events table {t.name!r}: no {what} column found"
    m: dict[str, Any] = {"table": t.name, "event_type": kind.name, "time": time.name}
    category = t.column("category")
    if category is not None:
        m["category"] = category.name
    for meaning in ("purchase", "view", "cart", "favourite"):
        if meaning in kind.meanings:
            m[f"{meaning}_values"] = [meaning]
    return m, None


def _subject_roles(subjects: TableProposal) -> dict[str, str]:
    out: dict[str, str] = {}
    for role in ("gender", "channel", "registered_at"):
        c = subjects.column(role)
        if c is not None:
            out[role] = c.name
    location = next((c for c in subjects.columns if c.kind == "city"), None) or next(
        (c for c in subjects.columns if c.kind == "qi" and c.category.startswith("user.location")),
        None,
    )
    if location is not None:
        out["location"] = location.name
    return out


def _flag_column(subjects: TableProposal, notes: list[str]) -> str | None:
    flags = subjects.columns_with("consent_flag")
    if not flags:
        return None
    marketing = [c for c in flags if any(w in normalize_name(c.name) for w in _MARKETING)]
    chosen = (marketing or flags)[0]
    others = [c.name for c in flags if c is not chosen]
    if others:
        notes.append(
            f"other consent flag columns in {subjects.name!r}: {', '.join(others)} (map them "
            "under consent_records.purpose_flags if they are consents to other purposes)"
        )
    return chosen.name


def _tag_name(c: ColumnProposal) -> str:
    return re.sub(r"[^a-z0-9_]", "_", str(c.semantic))


def _identity_links(tables: list[TableProposal]) -> list[dict[str, str]]:
    links = []
    for t in tables:
        union = next((c for c in t.columns if c.category.endswith("wechat_unionid")), None)
        openid = next((c for c in t.columns if c.category.endswith("wechat_openid")), None)
        if union is not None and openid is not None:
            links.append(
                {"table": t.name, "account_column": openid.name, "person_column": union.name}
            )
    return links


def propose_roles(
    tables: list[TableProposal], subjects: TableProposal, consent: TableProposal | None
) -> RoleProposal:
    """The role mapping and the other round-two fields the samples support."""
    notes: list[str] = []
    mapping: dict[str, Any] = {}
    for kind, propose in (("orders", _orders), ("events", _events)):
        candidates = [t for t in tables if t.kind == kind]
        for t in candidates:
            role, note = propose(t)
            if role is not None and kind not in mapping:
                mapping[kind] = role
            elif note is not None:
                notes.append(note)
            elif role is not None:
                notes.append(f"another {kind} table {t.name!r} is not mapped (one per role)")
    if not mapping:
        notes.append("no orders or events role proposed: segments need mapping.orders or .events")
    subject_roles = _subject_roles(subjects)
    if mapping and subject_roles:
        mapping["subjects"] = subject_roles
    flag = _flag_column(subjects, notes) if consent is None else None
    tags = {_tag_name(c): c.name for c in subjects.columns if c.semantic in TAG_SEMANTICS}
    if tags and not mapping:
        notes.append(f"custom tag candidates (need a mapping first): {', '.join(tags.values())}")
        tags = {}
    for t in tables:
        if t is not subjects:
            found = [c.name for c in t.columns if c.semantic in TAG_SEMANTICS]
            if found:
                notes.append(
                    f"tag candidates in {t.name!r} ({', '.join(found)}): tags are columns of "
                    "the subjects table"
                )
    return RoleProposal(
        mapping=mapping or None,
        flag_column=flag,
        tags=tags,
        identity_links=_identity_links(tables),
        notes=notes,
    )
