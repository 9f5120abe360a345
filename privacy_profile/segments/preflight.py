"""Pre-flight: can this run produce what the policy asks, before any budget is spent?

:func:`preflight` is a pure function of what sanitize already produced (the ingest report,
the quarantine and the pseudonymous tables) and of the policy. It runs inside the trust
boundary on exact counts and releases nothing: its result holds only pass/fail reasons and
fixes, never a count or a data value, so it may be printed, logged and put in lineage. No DP
mechanism runs and no ledger is charged here; the engine calls it between the sanitize and
segment stages and refuses the run (``PreflightError``) when any check fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from privacy_profile.errors import PreflightError
from privacy_profile.ingest.report import IngestReport
from privacy_profile.policy.model import Policy
from privacy_profile.policy.segmentation import KMeansMethodName, SegmentationSpec
from privacy_profile.segments.features import FeatureColumns, OrderColumns
from privacy_profile.segments.remote import SegmentTable, columns_of, table_of

__all__ = ["CHECKS", "PreflightIssue", "PreflightResult", "preflight", "require_preflight"]

#: The checks, in the order they run.
CHECKS = (
    "tables_readable",
    "subjects_admitted",
    "paid_orders",
    "family_units",
    "dimensions_known",
    "engine_support",
)


@dataclass(frozen=True)
class PreflightIssue:
    """One failed check: its name, the reason (no count, no data value) and the fix."""

    check: str
    reason: str
    fix: str


@dataclass(frozen=True)
class PreflightResult:
    """Every check run and the issues found (empty: the run may proceed)."""

    checks: tuple[str, ...]
    issues: tuple[PreflightIssue, ...]

    @property
    def ok(self) -> bool:
        return not self.issues

    def as_tuples(self) -> list[tuple[str, str, str]]:
        return [(i.check, i.reason, i.fix) for i in self.issues]


def _top_column(quarantine: pd.DataFrame | None) -> str | None:
    if quarantine is None or "_column" not in quarantine.columns or not len(quarantine):
        return None
    cols = quarantine["_column"].dropna()
    return None if cols.empty else str(cols.value_counts().index[0])


def _tables(report: IngestReport, quarantine: Mapping[str, pd.DataFrame]) -> list[PreflightIssue]:
    issues = []
    for name, t in report.tables.items():
        if t.input_rows == 0:
            issues.append(
                PreflightIssue(
                    "tables_readable",
                    f"table {name!r} ({t.file}) has no rows",
                    "check the input folder holds the exported file",
                )
            )
        elif t.quarantined_rows == t.input_rows:
            reason = max(t.quarantined, key=lambda r: t.quarantined[r])
            column = _top_column(quarantine.get(name))
            where = f" (mostly {reason} in column {column!r})" if column else f" ({reason})"
            fix = (
                f"declare a value map for tables.{name}.columns.{column}.values (e.g. "
                "{是: true, 否: false}) or fix its type / format"
                if column
                else "check the file's format and encoding against the policy"
            )
            issues.append(
                PreflightIssue(
                    "tables_readable", f"every row of {name!r} was quarantined{where}", fix
                )
            )
    return issues


# Each count below is exact: on the pandas frame, or by a Spark aggregation for a table Spark
# keeps (privacy_profile.spark.segments: one number comes back, never a row).


def _units(frame: SegmentTable | None, unit: str) -> int:
    if frame is None or unit not in columns_of(frame):
        return 0
    if not isinstance(frame, pd.DataFrame):
        from privacy_profile.spark.segments import count_units

        return count_units(frame, unit)
    return int(frame[unit].nunique(dropna=True))


def _paid_mask(orders: pd.DataFrame, oc: OrderColumns) -> pd.Series:
    return orders[oc.status].astype("string").isin(list(oc.paid_statuses)).fillna(False)


def _has_paid(orders: SegmentTable, oc: OrderColumns) -> bool:
    """Whether some order has a paid status (False without a status column)."""
    if oc.status not in columns_of(orders):
        return False
    if not isinstance(orders, pd.DataFrame):
        from privacy_profile.spark.segments import has_status

        return has_status(orders, oc.status, oc.paid_statuses)
    return bool(_paid_mask(orders, oc).any())


def _paid_units(orders: SegmentTable, unit: str, oc: OrderColumns) -> int:
    """The number of units with a paid order (the status column is there)."""
    if unit not in columns_of(orders):
        return 0
    if not isinstance(orders, pd.DataFrame):
        from privacy_profile.spark.segments import count_units

        return count_units(orders, unit, status=oc.status, values=oc.paid_statuses)
    paid = _paid_mask(orders, oc)
    return int(orders.loc[paid.to_numpy(dtype=bool), unit].nunique(dropna=True))


def _active_units(frames: list[SegmentTable | None], unit: str) -> int:
    """The number of distinct units with an order or an event."""
    have = [f for f in frames if f is not None and unit in columns_of(f)]
    local = [f for f in have if isinstance(f, pd.DataFrame)]
    if len(local) < len(have):
        from privacy_profile.spark.segments import active_units

        return active_units(have, unit)
    active = set()
    for frame in local:
        active.update(frame[unit].dropna().unique().tolist())
    return len(active)


def _families(
    spec: SegmentationSpec,
    tables: Mapping[str, pd.DataFrame],
    cols: FeatureColumns,
    unit: str,
    threshold: int,
) -> list[PreflightIssue]:
    issues = []
    orders = table_of(tables, cols.orders.table) if cols.orders is not None else None
    events = table_of(tables, cols.events.table) if cols.events is not None else None
    if spec.rfm is not None:
        if orders is None or cols.orders is None:
            issues.append(
                PreflightIssue(
                    "paid_orders",
                    "RFM is on but no orders table reached the segment stage",
                    "map mapping.orders to the orders table, or remove segmentation.rfm",
                )
            )
        elif not _has_paid(orders, cols.orders):
            issues.append(
                PreflightIssue(
                    "paid_orders",
                    f"RFM is on but no accepted order of {cols.orders.table!r} has a status in "
                    f"mapping.orders.paid_values {list(cols.orders.paid_statuses)}",
                    f"list the paid status values in mapping.orders.paid_values, or give "
                    f"tables.{cols.orders.table}.columns.{cols.orders.status} a value map "
                    "(e.g. {已支付: paid})",
                )
            )
        elif _paid_units(orders, unit, cols.orders) < threshold:
            issues.append(
                PreflightIssue(
                    "family_units",
                    "rfm: fewer units with a paid order than the aggregation threshold, so "
                    "every RFM class would be suppressed",
                    "lower privacy.aggregation_threshold.threshold, widen lookback / retention, "
                    "or remove segmentation.rfm",
                )
            )
    active = None  # counted once, when a family needs it
    for family in ("kmeans", "lifecycle"):
        if getattr(spec, family) is None:
            continue
        if active is None:
            active = _active_units([orders, events], unit)
        if active < threshold:
            issues.append(
                PreflightIssue(
                    "family_units",
                    f"{family}: fewer active units than the aggregation threshold, so every "
                    "segment would be suppressed",
                    f"lower privacy.aggregation_threshold.threshold or remove "
                    f"segmentation.{family}",
                )
            )
    return issues


def _engine_support(
    spec: SegmentationSpec, tables: Mapping[str, pd.DataFrame], cols: FeatureColumns
) -> list[PreflightIssue]:
    """A family method the engine cannot run: the per-unit rows stay on the engine holding
    the orders or events table (``segments.remote.unit_features``), and diffprivlib's k-means
    needs every unit's point in one process (``segments.kmeans.require_runnable`` refuses it
    there; checked here so that no earlier family spends first)."""
    if spec.kmeans is None or spec.kmeans.method is not KMeansMethodName.DIFFPRIVLIB:
        return []
    names = [t.table for t in (cols.orders, cols.events) if t is not None]
    found = [table_of(tables, n) for n in names]
    if all(t is None or isinstance(t, pd.DataFrame) for t in found):
        return []
    return [
        PreflightIssue(
            "engine_support",
            "kmeans: method diffprivlib needs every unit's point in one process, and the "
            "per-unit features stay on the Spark cluster on this run",
            "set segmentation.kmeans.method: lloyd (its iterations run on the cluster)",
        )
    ]


def _dimension_sources(cols: FeatureColumns) -> dict[str, str | None]:
    out: dict[str, str | None] = {
        "age_band": cols.age_band,
        "gender": cols.gender,
        "province": cols.province,
        "channel": cols.channel,
    }
    out.update({tag: column for column, tag in cols.tags})
    return out


def _dimensions(
    spec: SegmentationSpec, tables: Mapping[str, pd.DataFrame], cols: FeatureColumns
) -> list[PreflightIssue]:
    wanted: list[str] = []
    if spec.personas is not None:
        wanted.extend(spec.personas.dimensions)
    if spec.tree is not None:
        wanted.extend(f for f in spec.tree.features if f not in wanted)
    sources = _dimension_sources(cols)
    users = table_of(tables, cols.users)
    policy_table = cols.users
    issues = []
    for dim in wanted:
        if dim not in sources:  # spending_band, top_categories: derived from orders / events
            if dim in ("top_categories", "top_category") and not (
                (cols.orders is not None and cols.orders.category is not None)
                or (cols.events is not None and cols.events.category is not None)
            ):
                issues.append(
                    PreflightIssue(
                        "dimensions_known",
                        f"dimension {dim!r} needs a category column, and the mapping has none",
                        "map mapping.orders.category or mapping.events.category",
                    )
                )
            continue
        column = sources[dim]
        if column is None or users is None or column not in columns_of(users):
            issues.append(
                PreflightIssue(
                    "dimensions_known",
                    f"dimension {dim!r} has no source column, so every value would be unknown",
                    f"map it (mapping.subjects.{dim} or a segmentation.tags entry) or remove it "
                    "from personas.dimensions / tree.features",
                )
            )
            continue
        domain = spec.tag_domains.get(dim)
        known, in_domain = _presence(users, column, domain)
        if not known:
            why = "has no known value among the admitted subjects"
        elif not in_domain:
            why = f"has no value in tag_domains.{dim}"
        else:
            continue
        issues.append(
            PreflightIssue(
                "dimensions_known",
                f"dimension {dim!r} (column {column!r}) {why}, so every persona value would be "
                "'(unknown)'",
                f"give tables.{policy_table}.columns.{column} a value map to the labels of "
                f"tag_domains.{dim} (e.g. {{男: male, 女: female}}), fix tag_domains, or remove "
                "the dimension",
            )
        )
    return issues


def _presence(users: SegmentTable, column: str, domain: list[str] | None) -> tuple[bool, bool]:
    """Whether ``column`` has a known value, and one in ``domain`` (True without a domain)."""
    if not isinstance(users, pd.DataFrame):
        from privacy_profile.spark.segments import value_presence

        return value_presence(users, column, domain)
    values = users[column].dropna().astype("string")
    return not values.empty, domain is None or bool(values.isin(domain).any())


def preflight(
    policy: Policy,
    report: IngestReport,
    quarantine: Mapping[str, pd.DataFrame],
    tables: Mapping[str, pd.DataFrame],
    columns: FeatureColumns,
    unit_column: str,
) -> PreflightResult:
    """Check, on exact counts of the sanitized tables (each table's subject column already
    named ``unit_column``), that the policy's segmentation can produce output: no table
    entirely quarantined or empty, some subject admitted, paid orders when RFM is on, each
    family with at least the aggregation threshold of units, every persona dimension and
    tree feature with a known value, every family method runnable on the engine holding the
    per-unit rows. Pure: reads, never spends, never releases.

    A remote table of a :class:`~privacy_profile.ingest.tables.TableMap` is counted where it
    lives (exact Spark aggregations, one number back each), never collected."""
    issues: list[PreflightIssue] = []
    issues.extend(_tables(report, quarantine))
    admitted = _units(table_of(tables, policy.subjects.table), unit_column)
    if admitted == 0:
        issues.append(
            PreflightIssue(
                "subjects_admitted",
                f"no subject of {policy.subjects.table!r} was admitted (consent gate, minors "
                "rule, retention, k-anonymity or quarantine excluded all of them)",
                "check the ingest report's exclusion reasons: consent values (a value map such "
                "as {同意: granted, 撤回: withdrawn}), accepted_notice_versions, ages; with few "
                "subjects, privacy.k_anonymity.k over the quasi-identifiers suppresses them all",
            )
        )
    spec = policy.segmentation
    if spec is not None:
        threshold = policy.privacy.aggregation_threshold.threshold
        issues.extend(_families(spec, tables, columns, unit_column, threshold))
        issues.extend(_engine_support(spec, tables, columns))
        if admitted:  # with no subject every dimension is unknown anyway
            issues.extend(_dimensions(spec, tables, columns))
    return PreflightResult(checks=CHECKS, issues=tuple(issues))


def require_preflight(
    policy: Policy,
    report: IngestReport,
    quarantine: Mapping[str, pd.DataFrame],
    tables: Mapping[str, pd.DataFrame],
    columns: FeatureColumns,
    unit_column: str,
) -> PreflightResult:
    """:func:`preflight`, raising :class:`~privacy_profile.errors.PreflightError` (reasons and
    fixes only) when a check fails."""
    result = preflight(policy, report, quarantine, tables, columns, unit_column)
    if not result.ok:
        raise PreflightError(result.as_tuples())
    return result
