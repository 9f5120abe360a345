"""Semantic rules a policy must satisfy beyond its types: ``check_policy`` runs every section's
checks (taxonomy, columns and purposes here; the others in their ``*_rules`` modules).

Each rule yields ``(path, message, hint)`` where ``path`` is the location of the offending
field in the YAML document (the loader turns it into a line number).
"""

from __future__ import annotations

from collections.abc import Iterator

from privacy_profile.policy.analytics_rules import analytics_violations
from privacy_profile.policy.mapping_rules import mapping_violations, value_map_violations
from privacy_profile.policy.model import (
    ColumnRole,
    Drop,
    Keep,
    Policy,
    Pseudonymize,
    Scan,
    Tokenize,
)
from privacy_profile.policy.privacy_rules import (
    accounting_violations,
    privacy_violations,
    segmentation_violations,
)
from privacy_profile.policy.reference_rules import (
    identity_link_violations,
    reference_violations,
    rights_violations,
)
from privacy_profile.policy.taxonomy import (
    BUILTIN_EXTENSIONS,
    DATA_CATEGORIES,
    DATA_USES,
    is_marketing_use,
    is_profiling_use,
    is_sensitive_category,
)
from privacy_profile.policy.violations import Path, RuleViolation

__all__ = ["Path", "RuleViolation", "check_policy", "known_categories", "sensitive_columns"]


def known_categories(policy: Policy) -> dict[str, str | None]:
    """Every category key the policy may use, mapped to its parent (None for fideslang keys)."""
    keys: dict[str, str | None] = dict.fromkeys(DATA_CATEGORIES)
    keys.update(BUILTIN_EXTENSIONS)
    for ext in policy.taxonomy_extensions:
        keys[ext.key] = ext.parent
    return keys


def _is_sensitive(policy: Policy, category: str, role: ColumnRole) -> bool:
    if role is ColumnRole.SENSITIVE:
        return True
    parents = known_categories(policy)
    key: str | None = category
    seen: set[str] = set()
    while key is not None and key not in seen:
        if is_sensitive_category(key):
            return True
        seen.add(key)
        key = parents.get(key)
    return False


def sensitive_columns(policy: Policy) -> list[tuple[str, str]]:
    """(table, column) of every sensitive column that is not dropped."""
    out = []
    for tname, table in policy.tables.items():
        for cname, col in table.columns.items():
            if not isinstance(col.treatment, Drop) and _is_sensitive(
                policy, col.category, col.role
            ):
                out.append((tname, cname))
    return out


def check_policy(policy: Policy) -> Iterator[RuleViolation]:
    """Yield every semantic violation of ``policy``."""
    yield from _taxonomy(policy)
    yield from _columns(policy)
    yield from reference_violations(policy)
    yield from _purposes(policy)
    yield from privacy_violations(policy)
    yield from accounting_violations(policy)
    yield from segmentation_violations(policy)
    yield from analytics_violations(policy)
    yield from rights_violations(policy)
    yield from mapping_violations(policy)
    yield from value_map_violations(policy)
    yield from identity_link_violations(policy)


def _taxonomy(policy: Policy) -> Iterator[RuleViolation]:
    base: set[str] = set(DATA_CATEGORIES) | set(BUILTIN_EXTENSIONS)
    declared = {e.key for e in policy.taxonomy_extensions}
    for i, ext in enumerate(policy.taxonomy_extensions):
        if ext.key in DATA_CATEGORIES:
            yield (
                ("taxonomy_extensions", i, "key"),
                f"{ext.key!r} is already a fideslang category",
                "remove this extension",
            )
        if ext.parent not in base and ext.parent not in declared:
            yield (
                ("taxonomy_extensions", i, "parent"),
                f"unknown parent category {ext.parent!r}",
                "name a fideslang category such as user.unique_id as the parent",
            )
        elif not ext.key.startswith(ext.parent + "."):
            yield (
                ("taxonomy_extensions", i, "key"),
                f"extension {ext.key!r} must start with its parent {ext.parent!r}",
                f"rename it {ext.parent}.<name>",
            )
    cats = known_categories(policy)
    for tname, table in policy.tables.items():
        for cname, col in table.columns.items():
            if col.category not in cats:
                yield (
                    ("tables", tname, "columns", cname, "category"),
                    f"unknown data category {col.category!r}",
                    "use a fideslang key (e.g. user.contact.phone_number) or declare it under "
                    "taxonomy_extensions with a parent",
                )


def _columns(policy: Policy) -> Iterator[RuleViolation]:
    for tname, table in policy.tables.items():
        base: Path = ("tables", tname)
        if table.subject_column not in table.columns:
            yield (
                (*base, "subject_column"),
                f"subject column {table.subject_column!r} is not declared in table {tname!r}",
                "declare it under columns",
            )
        if table.retention_column is not None and table.retention_column not in table.columns:
            yield (
                (*base, "retention_column"),
                f"retention column {table.retention_column!r} is not declared",
                "name a declared timestamp column",
            )
        for cname, col in table.columns.items():
            path: Path = (*base, "columns", cname, "treatment")
            t = col.treatment
            if col.role is ColumnRole.DIRECT_IDENTIFIER and not isinstance(
                t, Pseudonymize | Tokenize | Drop
            ):
                yield (
                    path,
                    f"direct identifier {tname}.{cname} would be kept ({t.action})",
                    "a direct identifier must be pseudonymize, tokenize or drop",
                )
            if isinstance(t, Scan) and col.role is not ColumnRole.FREE_TEXT:
                yield (path, "scan applies to free_text columns only", "set role: free_text")
            if col.role is ColumnRole.FREE_TEXT and isinstance(t, Keep):
                yield (
                    path,
                    f"free text {tname}.{cname} would be kept unscanned",
                    "use scan or drop",
                )
            if isinstance(t, Tokenize) and policy.tokenization is None:
                yield (
                    path,
                    "tokenize needs a `tokenization` section with a custodian key",
                    "add tokenization: {custodian_key: {env: ...}, key_id: ...}",
                )


def _purposes(policy: Policy) -> Iterator[RuleViolation]:
    domains = {d.name for d in policy.pseudonymization_domains}
    sensitive = sensitive_columns(policy)
    seen: set[str] = set()
    for i, p in enumerate(policy.purposes):
        base: Path = ("purposes", i)
        if p.data_use not in DATA_USES:
            yield (
                (*base, "data_use"),
                f"unknown data use {p.data_use!r}",
                "use a fideslang data use such as marketing.advertising.profiling",
            )
        if p.data_use in seen:
            yield ((*base, "data_use"), f"purpose {p.data_use!r} declared twice", "merge them")
        seen.add(p.data_use)
        if p.pseudonymization_domain not in domains:
            yield (
                (*base, "pseudonymization_domain"),
                f"unknown pseudonymisation domain {p.pseudonymization_domain!r}",
                f"use one of {sorted(domains)}",
            )
        if (
            sensitive
            and is_marketing_use(p.data_use)
            and not p.consent.separate_consent_for_sensitive
        ):
            names = ", ".join(f"{t}.{c}" for t, c in sensitive)
            yield (
                (*base, "consent", "separate_consent_for_sensitive"),
                f"sensitive columns ({names}) reach marketing purpose {p.data_use!r} "
                "without separate consent (PIPL art. 29)",
                "set separate_consent_for_sensitive: true, or drop the sensitive columns",
            )
        if (
            p.consent.separate_consent_for_sensitive
            and sensitive
            and policy.consent_records.sensitive_consent_column is None
        ):
            yield (
                ("consent_records", "sensitive_consent_column"),
                "separate consent for sensitive data is required but no column records it",
                "set consent_records.sensitive_consent_column",
            )
        if p.activation.allowed and policy.tokenization is None:
            yield (
                (*base, "activation", "allowed"),
                "activation needs reversible tokens, but the policy has no `tokenization`",
                "add a tokenization section with a custodian key",
            )
    needs_assessment = bool(sensitive) or any(is_profiling_use(p.data_use) for p in policy.purposes)
    if needs_assessment and policy.assessment is None:
        why = "sensitive categories are" if sensitive else "profiling is"
        yield (
            ("assessment",),
            f"an impact assessment (PIPIA, PIPL art. 55) is required because {why} in scope",
            "add assessment: {id: PIPIA-..., completed_on: YYYY-MM-DD}",
        )
