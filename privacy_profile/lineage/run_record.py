"""The run record: lineage facets built from what a run actually did.

Turns the policy, the ingestion result, the segment release and the ledger's charges of one
run into the OpenLineage datasets, column lineage and privacy facet the engine's lineage stage
records. Pure functions of their inputs: nothing here runs a stage or writes a file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from privacy_profile.dp import BudgetLedger
from privacy_profile.dp.mechanisms import MechanismRecord
from privacy_profile.dp.policy_ledger import window_spec
from privacy_profile.ingest import KeyRing, SanitizeResult
from privacy_profile.ingest.sources import IN_MEMORY, InputTables
from privacy_profile.lineage.column_lineage import ReleaseLineage
from privacy_profile.lineage.facets import (
    BudgetState,
    ColumnLineage,
    DatasetInfo,
    DpMechanismRecord,
    DpReleaseValue,
    FieldInfo,
    KAnonymityResult,
    KeyInfo,
    PrivacyRunFacet,
    ProcessingRecord,
    TableCounts,
)
from privacy_profile.lineage.naming import dataset_name
from privacy_profile.policy.loader import LoadedPolicy
from privacy_profile.policy.model import ColumnRole, Drop, Policy
from privacy_profile.policy.releases import ReleaseId
from privacy_profile.policy.rules import sensitive_columns
from privacy_profile.segments import FeatureColumns, SegmentRelease
from privacy_profile.segments.outputs import audience_file_name

__all__ = [
    "input_datasets",
    "input_locations",
    "output_datasets",
    "privacy_facet",
    "release_values",
]


def input_locations(policy: Policy, inputs: InputTables) -> dict[str, tuple[str, str]]:
    """Each policy table's input dataset as OpenLineage ``(namespace, name)``: per the naming
    spec for a file (``file`` and its absolute path); an in-memory DataFrame is the table name
    in the ``memory://privacy_profile`` namespace."""
    out = {}
    for tname, table in policy.tables.items():
        if tname in inputs.frames:
            out[tname] = (IN_MEMORY, tname)
            continue
        ds = dataset_name(inputs.location(tname, table).lineage_location)
        out[tname] = (ds.namespace, ds.name)
    return out


def input_datasets(policy: Policy, inputs: InputTables) -> list[DatasetInfo]:
    sensitive = set(sensitive_columns(policy))
    where = input_locations(policy, inputs)
    out = []
    for tname, table in policy.tables.items():
        fields = tuple(
            FieldInfo(
                name=c,
                type=col.type.value,
                category=col.category,
                pii=col.role in (ColumnRole.DIRECT_IDENTIFIER, ColumnRole.FREE_TEXT),
                sensitive=(tname, c) in sensitive,
            )
            for c, col in table.columns.items()
        )
        ns, name = where[tname]
        out.append(DatasetInfo(namespace=ns, name=name, fields=fields))
    return out


def _released_fields(frame: pd.DataFrame) -> tuple[FieldInfo, ...]:
    return tuple(
        FieldInfo(
            name=str(c),
            type=str(frame[c].dtype),
            category="system.operations",
            pii=False,
            sensitive=False,
        )
        for c in frame.columns
    )


def _families(kind: str, frame: pd.DataFrame, lineage: ReleaseLineage) -> list[str]:
    if kind == "tree_rules":
        return ["tree"]
    if "family" in frame.columns and len(frame):
        return sorted({str(f) for f in frame["family"].dropna().unique()})
    return sorted(lineage.families)


def output_datasets(
    seg: SegmentRelease,
    policy: Policy,
    inputs: InputTables,
    *,
    columns: FeatureColumns,
    marketing_files: Sequence[Path],
    activation_files: Sequence[Path] = (),
) -> tuple[list[DatasetInfo], list[ColumnLineage]]:
    """Every released file (marketing tables in each format, activation audiences) as an
    output dataset with its schema, row count and size, and the column lineage of each of its
    columns, from what the run used (see :mod:`privacy_profile.lineage.column_lineage`)."""
    lineage_of = ReleaseLineage(policy, columns, input_locations(policy, inputs))
    tables = seg.marketing_tables()
    datasets: list[DatasetInfo] = []
    lineage: list[ColumnLineage] = []
    for path in marketing_files:
        kind = path.name.split(".", 1)[0]
        frame = tables.get(kind)
        if frame is None:
            continue
        ds = dataset_name(path)
        datasets.append(
            DatasetInfo(
                namespace=ds.namespace,
                name=ds.name,
                fields=_released_fields(frame),
                row_count=len(frame),
                size_bytes=path.stat().st_size,
            )
        )
        families = _families(kind, frame, lineage_of)
        lineage += lineage_of.table(kind, ds.name, [str(c) for c in frame.columns], families)
    # rows as released (the files are not read back: an audience can be large)
    audience_rows = {audience_file_name(k): len(df) for k, df in (seg.audiences or {}).items()}
    for path in activation_files:
        ds = dataset_name(path)
        key = path.stem.removeprefix("audience_")
        family = re.split(r"[.:_]", key, maxsplit=1)[0]
        datasets.append(
            DatasetInfo(
                namespace=ds.namespace,
                name=ds.name,
                fields=(
                    FieldInfo(
                        name="token",
                        type="string",
                        category="user.unique_id.pseudonymous",
                        pii=False,
                        sensitive=False,
                        description="deterministic AES-SIV token of the privacy unit",
                    ),
                ),
                row_count=audience_rows[path.name],
                size_bytes=path.stat().st_size,
            )
        )
        lineage += lineage_of.audience(ds.name, family)
    return datasets, lineage


ANALYTICS_LABEL = "analytics/"


def _release_of_label(label: str) -> str:
    """The release a ledger label belongs to: a segment release id, or ``analytics/<name>``
    for the marketing analytics (docs/analytics.md)."""
    if label.startswith(ANALYTICS_LABEL):
        return "/".join(label.split("/")[:2])
    return str(ReleaseId.of_label(label))


def privacy_facet(
    *,
    loaded: LoadedPolicy,
    purpose: str,
    keys: KeyRing,
    result: SanitizeResult,
    seg: SegmentRelease,
    ledger: BudgetLedger,
    run_id: str,
    extra_records: tuple[MechanismRecord, ...] = (),
) -> PrivacyRunFacet:
    policy = loaded.policy
    pur = policy.purpose(purpose)
    report = result.report
    key_infos = [
        KeyInfo(
            role=f"pseudonymization:{d['domain']}"
            if d["domain"] != "<custodian>"
            else "tokenization",
            key_id=str(d["key_id"]),
            fingerprint=str(d["fingerprint"]),
            development_key=bool(d.get("development", False)),
        )
        for d in keys.describe()
    ]
    tables = tuple(
        TableCounts(
            table=t.table,
            input=t.input_rows,
            accepted=t.accepted_rows,
            excluded=dict(t.excluded),
            quarantined=dict(t.quarantined),
        )
        for t in report.tables.values()
    )
    findings: dict[str, int] = {}
    for t in report.tables.values():
        for per_col in t.scan_findings.values():
            for ent, n in per_col.items():
                findings[ent] = findings.get(ent, 0) + n
    kanon = next((t.k_anonymity for t in report.tables.values() if t.k_anonymity), None)
    k_result = (
        None
        if kanon is None
        else KAnonymityResult(
            k=kanon.k,
            smallest_class=kanon.smallest_class_after,
            classes_below_k=kanon.classes_below_k,
            rows_suppressed=kanon.rows_suppressed,
            quasi_identifiers=tuple(kanon.quasi_identifiers),
        )
    )
    scale_of = {r.label: r.scale for r in (*seg.records, *extra_records)}
    mechanisms = tuple(
        DpMechanismRecord(
            release=_release_of_label(c.label),
            label=c.label,
            mechanism=c.mechanism,
            epsilon=c.epsilon,
            delta=c.delta,
            sensitivity=c.sensitivity,
            noise_scale=scale_of.get(c.label, 0.0),
            rho=c.rho,
        )
        for c in ledger.charges_for_run(run_id)
    )
    spent, left = ledger.spent(), ledger.remaining()
    pv = policy.privacy
    budget = BudgetState(
        dataset=pv.budget_dataset,
        window=window_spec(policy),
        epsilon_budget=pv.epsilon_budget,
        delta_budget=pv.delta_budget,
        spent_epsilon=spent.epsilon,
        spent_delta=spent.delta,
        remaining_epsilon=left.epsilon,
        remaining_delta=left.delta,
    )
    categories = sorted(
        {
            col.category
            for t in policy.tables.values()
            for col in t.columns.values()
            if not isinstance(col.treatment, Drop)
        }
    )
    processing = ProcessingRecord(
        controller=policy.controller,
        purpose=pur.data_use,
        purpose_name=pur.name,
        legal_basis=pur.legal_basis.value,
        data_categories=tuple(categories),
        data_subjects=("customers and users of the mini-program",),
        recipients=tuple(pur.recipients),
        retention_days={n: t.retention_days for n, t in policy.tables.items()},
        assessment_id=policy.assessment.id if policy.assessment else None,
    )
    return PrivacyRunFacet(
        policy_name=policy.name,
        policy_digest=loaded.digest,
        purpose=pur.data_use,
        keys=tuple(key_infos),
        tables=tables,
        pii_findings=findings,
        k_anonymity=k_result,
        dp_mechanisms=mechanisms,
        dp_releases=release_values(seg),
        budget=budget,
        processing=processing,
    )


def release_values(seg: SegmentRelease) -> tuple[DpReleaseValue, ...]:
    """Released segment sizes with their 95% intervals (group-level values only)."""
    df = seg.segments
    need = {"family", "segment", "label", "dp_size", "size_ci_low", "size_ci_high"}
    if not need <= set(df.columns):
        return ()
    rows = df.dropna(subset=["dp_size"])
    return tuple(
        DpReleaseValue(
            release=str(ReleaseId.of_segment(str(r["family"]), str(r["segment"]))),
            group=str(r["label"]),
            value=float(r["dp_size"]),
            ci_low=float(r["size_ci_low"]),
            ci_high=float(r["size_ci_high"]),
        )
        for _, r in rows.iterrows()
    )
