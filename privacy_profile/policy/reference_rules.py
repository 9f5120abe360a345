"""Cross-references between policy sections: consent records, subjects, domains, the PII scan's
domain, correctable columns and identity links name what is declared."""

from __future__ import annotations

from collections.abc import Iterator

from privacy_profile.policy.enums import ColumnRole
from privacy_profile.policy.model import Policy
from privacy_profile.policy.treatments import Pseudonymize
from privacy_profile.policy.violations import Path, RuleViolation

__all__ = ["identity_link_violations", "reference_violations", "rights_violations"]


def reference_violations(policy: Policy) -> Iterator[RuleViolation]:
    cr = policy.consent_records
    if cr.table not in policy.tables:
        yield (
            ("consent_records", "table"),
            f"unknown table {cr.table!r}",
            "declare it under tables",
        )
    elif cr.is_flags and cr.table != policy.subjects.table:
        yield (
            ("consent_records", "table"),
            f"purpose_flags are columns of the subjects table {policy.subjects.table!r}, "
            f"not of {cr.table!r}",
            f"set consent_records.table: {policy.subjects.table}",
        )
    else:
        cols = policy.tables[cr.table].columns
        for purpose, col in (cr.purpose_flags or {}).items():
            if col not in cols:
                yield (
                    ("consent_records", "purpose_flags", purpose),
                    f"column {col!r} is not declared in table {cr.table!r}",
                    "declare the consent flag column in the subjects table's columns",
                )
        if cr.is_flags:
            declared = {p.data_use for p in policy.purposes}
            for purpose in cr.purpose_flags or {}:
                if purpose not in declared:
                    yield (
                        ("consent_records", "purpose_flags", purpose),
                        f"purpose {purpose!r} is not declared under purposes",
                        f"use one of {sorted(declared)}",
                    )
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


def rights_violations(policy: Policy) -> Iterator[RuleViolation]:
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


def identity_link_violations(policy: Policy) -> Iterator[RuleViolation]:
    """Both columns of a link are declared and pseudonymized (so they share the domain)."""
    for i, link in enumerate(policy.identity_links):
        base: Path = ("identity_links", i)
        table = policy.tables.get(link.table)
        if table is None:
            yield ((*base, "table"), f"unknown table {link.table!r}", "declare it under tables")
            continue
        for field in ("account_column", "person_column"):
            name = getattr(link, field)
            col = table.columns.get(name)
            if col is None:
                yield (
                    (*base, field),
                    f"column {name!r} is not declared in table {link.table!r}",
                    f"declare it under tables.{link.table}.columns",
                )
            elif not isinstance(col.treatment, Pseudonymize):
                yield (
                    (*base, field),
                    f"identity link column {link.table}.{name} is not pseudonymized",
                    "give it treatment: pseudonymize (links are joined on pseudonyms of the "
                    "purpose's domain, never on raw ids)",
                )
