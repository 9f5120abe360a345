"""The run record: lineage facets built from what a run actually did.

Turns the policy, the ingestion result, the segment release and the ledger's charges of one
run into the OpenLineage datasets, column lineage and privacy facet the engine's lineage stage
records. Pure functions of their inputs: nothing here runs a stage or writes a file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from privacy_profile.dp import BudgetLedger
from privacy_profile.dp.mechanisms import MechanismRecord
from privacy_profile.dp.policy_ledger import window_spec
from privacy_profile.ingest import KeyRing, SanitizeResult
from privacy_profile.ingest.sources import InputTables
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
    SourceField,
    TableCounts,
    Transform,
)
from privacy_profile.policy.loader import LoadedPolicy
from privacy_profile.policy.model import ColumnRole, Drop, Policy
from privacy_profile.policy.releases import ReleaseId
from privacy_profile.policy.rules import sensitive_columns
from privacy_profile.segments import SegmentRelease

__all__ = ["input_datasets", "output_datasets", "privacy_facet", "release_values"]


def input_datasets(policy: Policy, inputs: InputTables) -> list[DatasetInfo]:
    sensitive = set(sensitive_columns(policy))
    ns = inputs.namespace
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
        out.append(DatasetInfo(namespace=ns, name=inputs.dataset_name(tname, table), fields=fields))
    return out


def output_datasets(
    run_dir: Path, seg: SegmentRelease, policy: Policy, inputs: InputTables
) -> tuple[list[DatasetInfo], list[ColumnLineage]]:
    ns = (run_dir / "marketing").resolve().as_uri()
    in_ns = inputs.namespace
    unit_table, _, unit = policy.privacy.privacy_unit_column.partition(".")
    unit_file = inputs.dataset_name(unit_table, policy.tables[unit_table])
    datasets: list[DatasetInfo] = []
    lineage: list[ColumnLineage] = []
    metric_sources = [
        (inputs.dataset_name(b.table, policy.tables[b.table]), b.column)
        for b in policy.privacy.metric_bounds
    ]
    for name, frame in seg.marketing_tables().items():
        fname = f"{name}.csv"
        fields = tuple(
            FieldInfo(
                name=str(c),
                type=str(frame[c].dtype),
                category="system.operations",
                pii=False,
                sensitive=False,
            )
            for c in frame.columns
        )
        datasets.append(DatasetInfo(namespace=ns, name=fname, fields=fields))
        numeric = [str(c) for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        for col in numeric:
            sources = [
                SourceField(
                    namespace=in_ns, name=unit_file, field=unit, transform=Transform.DP_AGGREGATE
                )
            ]
            sources += [
                SourceField(namespace=in_ns, name=f, field=c, transform=Transform.DP_AGGREGATE)
                for f, c in metric_sources
            ]
            lineage.append(ColumnLineage(output=fname, field=col, sources=tuple(sources)))
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
