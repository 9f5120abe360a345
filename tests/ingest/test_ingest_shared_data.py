"""Runs on the public data sets (skipped when ../shared/data is absent)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from _ingest_helpers import make_policy

from privacy_profile.demo.public_data import consent_records, subjects_frame
from privacy_profile.ingest import IdentifierIndex, KeyRing, sanitize

PURPOSE = "marketing.advertising.profiling"


def _generic(d: dict, events: dict, *, ts_col: str, subj_table_cols: dict) -> None:
    ident = {
        "category": "user.unique_id",
        "role": "direct_identifier",
        "nullable": False,
        "treatment": "pseudonymize",
    }
    pref = "user.privacy_preferences"
    pc = lambda t="string": {"category": pref, "role": "attribute", "type": t, "treatment": "keep"}  # noqa: E731
    d["consent_records"] = {
        "table": "consents",
        "user_column": "uid",
        "purpose_column": "purpose",
        "status_column": "status",
        "timestamp_column": "recorded_at",
        "notice_version_column": "notice_version",
        "guardian_consent_column": "guardian_consent",
        "sensitive_consent_column": "sensitive_consent",
        "opt_out_column": "opt_out",
    }
    d["subjects"] = {"table": "subjects", "id_column": "uid", "age_column": "age"}
    d["tables"] = {
        "consents": {
            "retention_days": 3650,
            "subject_column": "uid",
            "columns": {
                "uid": ident,
                "purpose": pc(),
                "status": pc(),
                "recorded_at": pc("timestamp"),
                "notice_version": pc(),
                "guardian_consent": pc("boolean"),
                "sensitive_consent": pc("boolean"),
                "opt_out": pc("boolean"),
            },
        },
        "subjects": {
            "retention_days": 36500,
            "subject_column": "uid",
            "columns": {
                "uid": ident,
                "age": {
                    "category": "user.demographic.age_range",
                    "role": "quasi_identifier",
                    "type": "integer",
                    "treatment": {
                        "action": "generalize",
                        "method": "age_band",
                        "bands": [0, 14, 18, 30, 50],
                    },
                },
            },
        },
        "events": events,
    }
    d["privacy"]["privacy_unit_column"] = "subjects.uid"
    d["privacy"]["aggregation_threshold"]["privacy_unit_column"] = "subjects.uid"
    d["privacy"]["k_anonymity"] = {"k": 5, "quasi_identifiers": ["subjects.age"]}
    d["privacy"]["metric_bounds"] = []
    # ingestion only: the shop policy's role mapping and segments name tables replaced here
    d.pop("mapping", None)
    d.pop("segmentation", None)
    del ts_col, subj_table_cols


def _run(
    tmp: Path,
    events_df: pd.DataFrame,
    uid_col: str,
    events_spec: dict,
    now: str,
    identifiers: IdentifierIndex | None = None,
):
    ids = sorted(events_df[uid_col].dropna().astype(str).unique())
    subjects_frame(ids, id_column="uid", seed=1).to_csv(tmp / "subjects.csv", index=False)
    consents, _ = consent_records(ids, id_column="uid", purpose=PURPOSE, seed=2)
    consents.to_csv(tmp / "consents.csv", index=False)
    policy = make_policy(lambda d: _generic(d, events_spec, ts_col="", subj_table_cols={}))
    keys = KeyRing.development(policy, seed=b"shared")
    return sanitize(
        tmp, policy, PURPOSE, keys, now=pd.Timestamp(now).to_pydatetime(), identifiers=identifiers
    )


def test_uci_online_retail_custid_mod10(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "uci_online_retail" / "uci_online_retail_custid_mod10.csv"
    raw = pd.read_csv(src, dtype=str)
    assert len(raw) == 36378
    (tmp_path / "events.csv").write_bytes(src.read_bytes())
    keep = {"category": "user.behavior.purchase_history", "role": "attribute", "treatment": "keep"}
    spec = {
        "retention_days": 36500,
        "retention_column": "InvoiceDate",
        "subject_column": "CustomerID",
        "columns": {
            "InvoiceNo": keep,
            "StockCode": keep,
            "Description": keep,
            "Quantity": {**keep, "type": "integer"},
            "InvoiceDate": {
                **keep,
                "role": "timestamp",
                "type": "timestamp",
                "treatment": {"action": "generalize", "method": "date_truncate", "unit": "day"},
            },
            "UnitPrice": {**keep, "role": "metric", "type": "float"},
            "CustomerID": {
                "category": "user.unique_id",
                "role": "direct_identifier",
                "nullable": False,
                "treatment": "pseudonymize",
            },
            "Country": {**keep, "role": "quasi_identifier"},
        },
    }
    res = _run(tmp_path, raw, "CustomerID", spec, "2012-01-01")
    ev = res.report.tables["events"]
    assert ev.input_rows == 36378 and ev.reconciles() and res.report.reconciles()
    assert ev.accepted_rows == len(res.tables["events"]) > 20000
    assert set(ev.excluded) <= {
        "consent_withdrawn",
        "notice_version_not_accepted",
        "no_consent_for_purpose",
        "minor_without_guardian_consent",
        "k_anonymity_suppressed",
    }
    assert res.tables["events"]["CustomerID"].str.fullmatch("[0-9a-f]{32}").all()


def test_taobao_userbehavior_head(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "taobao_userbehavior" / "UserBehavior_head_814users.csv"
    raw = pd.read_csv(src, dtype=str)
    assert len(raw) == 84287
    (tmp_path / "events.csv").write_bytes(src.read_bytes())
    keep = {"category": "user.behavior.browsing_history", "role": "attribute", "treatment": "keep"}
    spec = {
        "retention_days": 3650,
        "retention_column": "timestamp",
        "subject_column": "user_id",
        "columns": {
            "user_id": {
                "category": "user.unique_id",
                "role": "direct_identifier",
                "nullable": False,
                "treatment": "pseudonymize",
            },
            "item_id": keep,
            "category_id": keep,
            "behavior_type": keep,
            "timestamp": {
                **keep,
                "role": "timestamp",
                "type": "unix_seconds",
                "treatment": {"action": "generalize", "method": "date_truncate", "unit": "hour"},
            },
        },
    }
    # Taobao user ids are 1-7 digit counters from the same number space as item and category
    # ids: six of them coincide with an item or category id, which the default index (numeric
    # values of 7+ digits) rightly reports. Here the index only holds 8+ digit numbers.
    res = _run(tmp_path, raw, "user_id", spec, "2018-01-01", IdentifierIndex(min_numeric_length=8))
    ev = res.report.tables["events"]
    assert ev.input_rows == 84287 and res.report.reconciles()
    assert ev.accepted_rows == len(res.tables["events"]) > 40000
    assert res.report.tables["subjects"].input_rows == 814
