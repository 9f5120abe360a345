"""Semantic rules a policy must satisfy beyond its types.

Each rule yields ``(path, message, hint)`` where ``path`` is the location of the offending
field in the YAML document (the loader turns it into a line number).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from privacy_profile.policy.model import (
    ColumnRole,
    Drop,
    Keep,
    Policy,
    Pseudonymize,
    Scan,
    Tokenize,
)
from privacy_profile.policy.releases import epsilon_split_issues
from privacy_profile.policy.taxonomy import (
    BUILTIN_EXTENSIONS,
    DATA_CATEGORIES,
    DATA_USES,
    is_marketing_use,
    is_profiling_use,
    is_sensitive_category,
)

__all__ = ["Path", "RuleViolation", "check_policy", "known_categories", "sensitive_columns"]

Path = tuple[str | int, ...]
RuleViolation = tuple[Path, str, str]


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
    yield from _references(policy)
    yield from _purposes(policy)
    yield from _privacy(policy)
    yield from _segmentation(policy)
    yield from _rights(policy)


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


def _references(policy: Policy) -> Iterator[RuleViolation]:
    cr = policy.consent_records
    if cr.table not in policy.tables:
        yield (
            ("consent_records", "table"),
            f"unknown table {cr.table!r}",
            "declare it under tables",
        )
    else:
        cols = policy.tables[cr.table].columns
        for field in (
            "user_column",
            "purpose_column",
            "status_column",
            "timestamp_column",
            "notice_version_column",
            "guardian_consent_column",
            "sensitive_consent_column",
            "opt_out_column",
        ):
            name = getattr(cr, field)
            if name is not None and name not in cols:
                yield (
                    ("consent_records", field),
                    f"column {name!r} is not declared in table {cr.table!r}",
                    "declare it in the consent table's columns",
                )
    sj = policy.subjects
    if sj.table not in policy.tables:
        yield (("subjects", "table"), f"unknown table {sj.table!r}", "declare it under tables")
    else:
        cols = policy.tables[sj.table].columns
        for field in ("id_column", "birthdate_column", "age_column"):
            name = getattr(sj, field)
            if name is not None and name not in cols:
                yield (
                    ("subjects", field),
                    f"column {name!r} is not declared in table {sj.table!r}",
                    "declare it in the subjects table's columns",
                )
    domains = {d.name for d in policy.pseudonymization_domains}
    seen: set[str] = set()
    for i, d in enumerate(policy.pseudonymization_domains):
        if d.name in seen:
            yield (
                ("pseudonymization_domains", i, "name"),
                f"duplicate domain {d.name!r}",
                "rename",
            )
        seen.add(d.name)
    ps = policy.pii_scan
    if ps.replacement.value == "pseudonym":
        if ps.pseudonym_domain is None:
            yield (
                ("pii_scan", "pseudonym_domain"),
                "replacement: pseudonym needs a pseudonym_domain",
                "name a declared pseudonymisation domain",
            )
        elif ps.pseudonym_domain not in domains:
            yield (
                ("pii_scan", "pseudonym_domain"),
                f"unknown pseudonymisation domain {ps.pseudonym_domain!r}",
                f"use one of {sorted(domains)}",
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


def _privacy(policy: Policy) -> Iterator[RuleViolation]:
    pv = policy.privacy
    base: Path = ("privacy",)
    if not (pv.epsilon_budget > 0 and math.isfinite(pv.epsilon_budget)):
        yield (
            (*base, "epsilon_budget"),
            f"epsilon_budget must be finite and > 0 (got {pv.epsilon_budget})",
            "set a finite positive budget, e.g. 10",
        )
    if not pv.max_epsilon_per_query > 0:
        yield (
            (*base, "max_epsilon_per_query"),
            f"epsilon per release must be > 0 (got {pv.max_epsilon_per_query})",
            "set e.g. 1.0",
        )
    elif pv.max_epsilon_per_query > pv.epsilon_budget:
        yield (
            (*base, "max_epsilon_per_query"),
            f"epsilon per release {pv.max_epsilon_per_query} exceeds "
            f"the budget {pv.epsilon_budget}",
            "lower max_epsilon_per_query or raise epsilon_budget",
        )
    if not 0 <= pv.delta_budget < 1:
        yield ((*base, "delta_budget"), "delta_budget must be in [0, 1)", "e.g. 1.0e-5")
    if not 0 <= pv.delta_per_query < 1:
        yield ((*base, "delta_per_query"), "delta_per_query must be in [0, 1)", "e.g. 1.0e-6")
    elif pv.delta_per_query > pv.delta_budget:
        yield (
            (*base, "delta_per_query"),
            f"delta per release {pv.delta_per_query} exceeds delta_budget {pv.delta_budget}",
            "lower delta_per_query",
        )
    unit = _resolve(policy, pv.privacy_unit_column)
    if unit is None:
        yield (
            (*base, "privacy_unit_column"),
            f"{pv.privacy_unit_column!r} is not a declared table.column",
            "name the subject id column, e.g. users.openid",
        )
    elif not isinstance(unit, Pseudonymize):
        yield (
            (*base, "privacy_unit_column"),
            f"the privacy unit column {pv.privacy_unit_column!r} must be pseudonymized",
            "give it treatment: pseudonymize",
        )
    at = pv.aggregation_threshold
    if at.privacy_unit_column != pv.privacy_unit_column:
        yield (
            (*base, "aggregation_threshold", "privacy_unit_column"),
            "the aggregation threshold must count the same privacy unit",
            f"set it to {pv.privacy_unit_column!r}",
        )
    for i, qi in enumerate(pv.k_anonymity.quasi_identifiers):
        if _resolve(policy, qi) is None:
            yield (
                (*base, "k_anonymity", "quasi_identifiers", i),
                f"{qi!r} is not a declared table.column",
                "name a declared quasi-identifier column as table.column",
            )
    for i, b in enumerate(pv.metric_bounds):
        if _resolve(policy, f"{b.table}.{b.column}") is None:
            yield (
                (*base, "metric_bounds", i),
                f"{b.table}.{b.column} is not a declared column",
                "name a declared metric column",
            )


def _resolve(policy: Policy, dotted: str) -> object | None:
    table, _, column = dotted.partition(".")
    t = policy.tables.get(table)
    if t is None or column not in t.columns:
        return None
    return t.columns[column].treatment


def _segmentation(policy: Policy) -> Iterator[RuleViolation]:
    spec = policy.segmentation
    if spec is None:
        return
    pv = policy.privacy
    for issue in epsilon_split_issues(
        spec.releases(),
        max_epsilon_per_query=pv.max_epsilon_per_query,
        epsilon_budget=pv.epsilon_budget,
    ):
        yield (issue.path, issue.message, issue.hint)


def _rights(policy: Policy) -> Iterator[RuleViolation]:
    """Correctable columns exist and are not identifiers (a request never rewrites an id)."""
    seen: set[str] = set()
    for i, key in enumerate(policy.rights.correctable_columns):
        path: Path = ("rights", "correctable_columns", i)
        table, _, column = key.partition(".")
        spec = policy.tables.get(table)
        col = spec.columns.get(column) if spec is not None else None
        if spec is None or col is None:
            yield (path, f"unknown column {key!r}", "write TABLE.COLUMN of a declared column")
        elif col.role is ColumnRole.DIRECT_IDENTIFIER or column == spec.subject_column:
            yield (
                path,
                f"{key!r} is an identifier: a request cannot correct it",
                "remove it from rights.correctable_columns",
            )
        if key in seen:
            yield (path, f"{key!r} listed twice", "list each column once")
        seen.add(key)
