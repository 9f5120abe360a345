"""Lineage and audit: OpenLineage events, a hash-chained run log, lineage documents, the
release guard and ``audit verify``.

Public API::

    LineageRecorder, new_run_id, read_events              OpenLineage 2-0-2 RunEvents
    DatasetInfo, FieldInfo, ColumnLineage, SourceField,   recorder inputs (frozen dataclasses)
    Transform, PrivacyRunFacet, KeyInfo, TableCounts,
    KAnonymityResult, DpMechanismRecord, DpReleaseValue,
    BudgetState, ProcessingRecord, privacy_facet_schema
    RunLog, verify_chain, file_sha256                     append-only hash-chained run log
    render_lineage_doc                                    Markdown + HTML lineage document
    ReleaseGuard, Leak, LeakKind, looks_like_token        release guard
    verify_run, AuditReport, read_ledger_charges          audit verify
"""

from __future__ import annotations

from privacy_profile.lineage.audit import AuditReport, read_ledger_charges, verify_run
from privacy_profile.lineage.facets import (
    PRIVACY_FACET_NAME,
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
    privacy_facet_schema,
)
from privacy_profile.lineage.guard import Leak, LeakKind, ReleaseGuard, looks_like_token
from privacy_profile.lineage.recorder import LineageRecorder, new_run_id, read_events
from privacy_profile.lineage.report import render_lineage_doc
from privacy_profile.lineage.runlog import RunLog, file_sha256, verify_chain

__all__ = [
    "PRIVACY_FACET_NAME",
    "AuditReport",
    "BudgetState",
    "ColumnLineage",
    "DatasetInfo",
    "DpMechanismRecord",
    "DpReleaseValue",
    "FieldInfo",
    "KAnonymityResult",
    "KeyInfo",
    "Leak",
    "LeakKind",
    "LineageRecorder",
    "PrivacyRunFacet",
    "ProcessingRecord",
    "ReleaseGuard",
    "RunLog",
    "SourceField",
    "TableCounts",
    "Transform",
    "file_sha256",
    "looks_like_token",
    "new_run_id",
    "privacy_facet_schema",
    "read_events",
    "read_ledger_charges",
    "render_lineage_doc",
    "verify_chain",
    "verify_run",
]
