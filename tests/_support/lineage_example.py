"""A deterministic synthetic run, used for the lineage example kept in docs/examples/lineage/.

``python tests/_support/lineage_example.py OUT_DIR`` writes ``events.jsonl`` and renders the
lineage document next to it. Every value here is invented: counts, parameters and noisy sizes
of a fictitious run (fixed run id and time); there is no row-level data.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from privacy_profile.ingest.identifiers import IdentifierIndex
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
from privacy_profile.lineage.guard import ReleaseGuard
from privacy_profile.lineage.recorder import LineageRecorder
from privacy_profile.lineage.report import render_lineage_doc

__all__ = ["EXAMPLE_RUN_ID", "example_facet", "write_example"]

EXAMPLE_RUN_ID = "01900000-0000-7000-8000-000000000007"
_T0 = dt.datetime(2026, 11, 2, 9, 0, 0, tzinfo=dt.UTC)
_NS = "file:///data/wechat-shop"
_OUT = "file:///out/marketing"


def example_facet() -> PrivacyRunFacet:
    groups = [
        ("Champions", 1184.0, 61.2),
        ("Loyal", 2410.0, 61.2),
        ("At risk", 953.0, 61.2),
        ("Hibernating", 3120.0, 61.2),
        ("New", 702.0, 61.2),
    ]
    return PrivacyRunFacet(
        policy_name="wechat-shop-marketing",
        policy_digest="sha256:" + "3b" * 32,
        purpose="marketing.advertising.profiling",
        keys=(
            KeyInfo(
                role="pseudonymization:marketing_analytics",
                key_id="mkt-2026-11",
                fingerprint="hmac-sha256:5f1c09ab",
            ),
        ),
        tables=(
            TableCounts(
                table="users",
                input=12000,
                accepted=10318,
                excluded={"no_consent": 911, "minor": 214, "withdrawn": 377, "retention": 180},
                quarantined={"bad_date": 0},
            ),
            TableCounts(
                table="orders",
                input=58210,
                accepted=49876,
                excluded={"user_excluded": 7655, "retention": 679},
                quarantined={"bad_amount": 0},
            ),
        ),
        pii_findings={"CN_MOBILE": 37, "EMAIL_ADDRESS": 5, "CN_RESIDENT_ID": 2},
        k_anonymity=KAnonymityResult(
            k=10,
            smallest_class=11,
            classes_below_k=0,
            rows_suppressed=64,
            quasi_identifiers=("users.birthdate", "users.gender", "users.city"),
        ),
        dp_mechanisms=(
            DpMechanismRecord(
                release="segment_sizes",
                label="segment_sizes:count",
                mechanism="laplace",
                epsilon=1.0,
                delta=0.0,
                sensitivity=3.0,
                noise_scale=3.0,
            ),
            DpMechanismRecord(
                release="segment_revenue",
                label="segment_revenue:sum",
                mechanism="laplace",
                epsilon=0.5,
                delta=0.0,
                sensitivity=6000.0,
                noise_scale=12000.0,
            ),
        ),
        dp_releases=tuple(
            DpReleaseValue(
                release="segment_sizes",
                group=g,
                value=v,
                ci_low=round(v - hw, 1),
                ci_high=round(v + hw, 1),
            )
            for g, v, hw in groups
        ),
        budget=BudgetState(
            dataset="wechat-shop-users",
            window="rolling_days:30",
            epsilon_budget=10.0,
            delta_budget=1e-5,
            spent_epsilon=4.5,
            spent_delta=1e-6,
            remaining_epsilon=5.5,
            remaining_delta=9e-6,
        ),
        processing=ProcessingRecord(
            controller="示例商城 Example Mini-Shop Co., Ltd.",
            purpose="marketing.advertising.profiling",
            purpose_name="Segment-based campaigns and coupons",
            legal_basis="consent",
            data_categories=(
                "user.unique_id.wechat_openid",
                "user.demographic.date_of_birth",
                "user.demographic.gender",
                "user.location.imprecise",
                "user.behavior.purchase_history",
            ),
            data_subjects=("customers of the mini-program shop (aged 14 and over)",),
            recipients=("Marketing department (DP aggregates only)",),
            retention_days={"users": 1095, "orders": 1095},
            assessment_id="PIPIA-2026-014",
        ),
    )


def _inputs() -> list[DatasetInfo]:
    return [
        DatasetInfo(
            namespace=_NS,
            name="users",
            fields=(
                FieldInfo(
                    name="openid",
                    type="string",
                    category="user.unique_id.wechat_openid",
                    pii=True,
                    sensitive=False,
                ),
                FieldInfo(
                    name="birthdate",
                    type="date",
                    category="user.demographic.date_of_birth",
                    pii=True,
                    sensitive=False,
                ),
                FieldInfo(
                    name="city",
                    type="string",
                    category="user.location.imprecise",
                    pii=True,
                    sensitive=False,
                ),
            ),
        ),
        DatasetInfo(
            namespace=_NS,
            name="orders",
            fields=(
                FieldInfo(
                    name="openid",
                    type="string",
                    category="user.unique_id.wechat_openid",
                    pii=True,
                    sensitive=False,
                ),
                FieldInfo(
                    name="amount",
                    type="float",
                    category="user.behavior.purchase_history",
                    pii=False,
                    sensitive=False,
                ),
            ),
        ),
    ]


def _outputs() -> tuple[list[DatasetInfo], list[ColumnLineage]]:
    agg = "user.behavior.purchase_history"
    out = DatasetInfo(
        namespace=_OUT,
        name="segment_summary.csv",
        fields=(
            FieldInfo(name="segment", type="string", category=agg, pii=False, sensitive=False),
            FieldInfo(name="users", type="float", category=agg, pii=False, sensitive=False),
            FieldInfo(name="revenue", type="float", category=agg, pii=False, sensitive=False),
        ),
    )
    lineage = [
        ColumnLineage(
            output=out.name,
            field="segment",
            sources=(
                SourceField(
                    namespace=_NS, name="orders", field="amount", transform=Transform.GROUP_BY
                ),
            ),
        ),
        ColumnLineage(
            output=out.name,
            field="users",
            sources=(
                SourceField(
                    namespace=_NS,
                    name="users",
                    field="openid",
                    transform=Transform.PSEUDONYMIZE,
                ),
                SourceField(
                    namespace=_NS,
                    name="users",
                    field="openid",
                    transform=Transform.DP_AGGREGATE,
                ),
            ),
        ),
        ColumnLineage(
            output=out.name,
            field="revenue",
            sources=(
                SourceField(
                    namespace=_NS,
                    name="orders",
                    field="amount",
                    transform=Transform.DP_AGGREGATE,
                ),
            ),
        ),
    ]
    return [out], lineage


def write_example(out_dir: str | Path) -> tuple[Path, Path, Path]:
    """Write the example's events.jsonl, lineage.md and lineage.html into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    events = out / "lineage" / "events.jsonl"
    events.unlink(missing_ok=True)
    times = iter([_T0, _T0 + dt.timedelta(minutes=3, seconds=12)])
    rec = LineageRecorder(
        out,
        job_namespace="privacy_profile",
        job_name="wechat-shop-marketing.sanitize_then_segment",
        clock=lambda: next(times),
        checker=ReleaseGuard(IdentifierIndex(), public_values=[EXAMPLE_RUN_ID]),
    )
    rec.start(EXAMPLE_RUN_ID, _inputs())
    outputs, lineage = _outputs()
    rec.complete(outputs, lineage, example_facet())
    md, html_path = render_lineage_doc(events, out)
    return events, md, html_path


if __name__ == "__main__":  # pragma: no cover
    for p in write_example(sys.argv[1] if len(sys.argv) > 1 else "docs/examples/lineage"):
        print(p)
