"""Checks of the role mapping and value maps: every role and tag names a declared column that
ingestion keeps, and value maps mean what their column type needs."""

from __future__ import annotations

from collections.abc import Iterator

from privacy_profile.policy.enums import ColumnRole, ColumnType
from privacy_profile.policy.model import Policy
from privacy_profile.policy.treatments import Drop
from privacy_profile.policy.violations import Path, RuleViolation

__all__ = ["mapping_violations", "value_map_violations"]


def _column_issue(
    policy: Policy, path: Path, table: str, column: str | None, what: str
) -> Iterator[RuleViolation]:
    if column is None:
        return
    spec = policy.tables.get(table)
    if spec is None:
        return
    col = spec.columns.get(column)
    if col is None:
        yield (
            path,
            f"{what}: column {column!r} is not declared in table {table!r}",
            f"declare it under tables.{table}.columns or map another column "
            f"(declared: {', '.join(spec.columns)})",
        )
    elif isinstance(col.treatment, Drop):
        yield (
            path,
            f"{what}: column {table}.{column} is dropped at ingestion, so segments cannot read it",
            f"give tables.{table}.columns.{column} a treatment that keeps it (keep, generalize)",
        )


def mapping_violations(policy: Policy) -> Iterator[RuleViolation]:
    """Every role names a declared table and a declared, not dropped column."""
    m = policy.mapping
    spec = policy.segmentation
    roles = policy.roles()
    if spec is not None and roles.orders is None and roles.events is None:
        yield (
            ("mapping",),
            "segments need an orders or an events table, and the mapping names neither",
            "add mapping.orders (table, order_id, amount, time, status, paid_values) or "
            "mapping.events (table, event_type, time)",
        )
    if spec is not None and spec.rfm is not None and roles.orders is None:
        yield (
            ("segmentation", "rfm"),
            "RFM needs orders (recency, frequency, monetary), and the mapping has no orders role",
            "add mapping.orders, or remove segmentation.rfm",
        )
    if m is not None:
        for role_name, role in (("orders", m.orders), ("events", m.events)):
            if role is None:
                continue
            base: Path = ("mapping", role_name)
            if role.table not in policy.tables:
                yield (
                    (*base, "table"),
                    f"unknown table {role.table!r}",
                    f"name a declared table ({', '.join(policy.tables)})",
                )
                continue
            if role.table == policy.consent_table():
                yield (
                    (*base, "table"),
                    f"{role.table!r} is the consent records table",
                    "map the orders / events table",
                )
            for field in type(role).model_fields:
                if field == "table" or field.endswith("_values"):
                    continue
                yield from _column_issue(
                    policy,
                    (*base, field),
                    role.table,
                    getattr(role, field),
                    f"mapping.{role_name}.{field}",
                )
        if m.orders is not None and m.orders.table in policy.tables:
            coupon = policy.tables[m.orders.table].columns.get(m.orders.coupon or "")
            if coupon is not None and coupon.type is not ColumnType.BOOLEAN:
                yield (
                    ("mapping", "orders", "coupon"),
                    f"the coupon flag {m.orders.table}.{m.orders.coupon} is not a boolean column",
                    "declare it `type: boolean` (with a value map such as {是: true, 否: false})",
                )
        sj = policy.subjects.table
        for field in type(m.subjects).model_fields:
            yield from _column_issue(
                policy,
                ("mapping", "subjects", field),
                sj,
                getattr(m.subjects, field),
                f"mapping.subjects.{field}",
            )
    if spec is not None:
        sj = policy.subjects.table
        for tag, column in spec.tags.items():
            yield from _column_issue(
                policy, ("segmentation", "tags", tag), sj, column, f"tag {tag!r}"
            )
            col = policy.tables[sj].columns.get(column) if sj in policy.tables else None
            if col is not None and col.role in (
                ColumnRole.DIRECT_IDENTIFIER,
                ColumnRole.FREE_TEXT,
                ColumnRole.SENSITIVE,
            ):
                yield (
                    ("segmentation", "tags", tag),
                    f"tag {tag!r} reads {sj}.{column}, a {col.role.value} column",
                    "tags are categorical attributes or quasi-identifiers (kept or generalized)",
                )


_BOOLEAN_MEANINGS = frozenset({"true", "false"})


def value_map_violations(policy: Policy) -> Iterator[RuleViolation]:
    """Boolean columns map to true/false; consent status to granted/withdrawn."""
    cr = policy.consent_records
    for tname, table in policy.tables.items():
        for cname, col in table.columns.items():
            if col.values is None:
                continue
            path: Path = ("tables", tname, "columns", cname, "values")
            meanings = set(col.values.values())
            if col.type is ColumnType.BOOLEAN and not meanings <= _BOOLEAN_MEANINGS:
                yield (
                    path,
                    f"boolean column {tname}.{cname} maps values to {sorted(meanings)}",
                    "map each raw value to true or false, e.g. {是: true, 否: false}",
                )
            if col.role is ColumnRole.DIRECT_IDENTIFIER:
                yield (
                    path,
                    f"identifier column {tname}.{cname} has a value map",
                    "remove the value map (identifiers are pseudonymized as they are)",
                )
            if (
                tname == cr.table
                and not cr.is_flags
                and cname == cr.status_column
                and not meanings <= {"granted", "withdrawn"}
            ):
                yield (
                    path,
                    f"consent status {tname}.{cname} maps values to {sorted(meanings)}",
                    "map each raw value to granted or withdrawn, e.g. {同意: granted, 撤回: "
                    "withdrawn}",
                )
