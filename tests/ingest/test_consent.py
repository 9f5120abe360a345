"""Consent gate: precedence, notice versions, minors, opt-out, sensitive columns, retention."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from _ingest_helpers import NOW, PURPOSE, Shop, make_policy, write_shop

from privacy_profile.errors import ConsentError
from privacy_profile.ingest import KeyRing, Pseudonymizer, sanitize
from privacy_profile.ingest.consent import build_consent_state
from privacy_profile.policy.model import Policy


def _pseudonym(keys: KeyRing, raw: str) -> str:
    return str(Pseudonymizer(keys).hash_values([raw], domain="marketing_analytics")[0])


def test_each_case_admitted_or_excluded_for_its_reason(
    shop: Shop, policy: Policy, keys: KeyRing
) -> None:
    result = sanitize(shop.dir, policy, PURPOSE, keys, now=NOW)
    users = set(result.tables["users"]["openid"])
    events = result.tables["events"]["openid"]
    for case, reason in shop.expected_user_reasons.items():
        p = _pseudonym(keys, shop.users[case])
        assert (p in users) is (reason is None), case
        assert (p in set(events)) is (reason is None), case
    rep = result.report.tables["users"]
    expected = pd.Series([r for r in shop.expected_user_reasons.values() if r]).value_counts()
    assert rep.excluded == expected.to_dict()
    assert result.report.reconciles()
    assert result.report.tables["events"].excluded["retention_expired"] == 1


def test_withdraw_then_regrant_and_tie_goes_to_withdrawal() -> None:
    policy = make_policy()
    spec = policy.consent_records
    t = pd.Timestamp("2026-01-01")
    records = pd.DataFrame(
        {
            "openid": ["a", "a", "a", "b", "b"],
            "purpose": [PURPOSE] * 5,
            "status": ["granted", "withdrawn", "granted", "granted", "withdrawn"],
            "recorded_at": [t, t + pd.Timedelta(days=1), t + pd.Timedelta(days=2), t, t],
            "notice_version": ["2026-03"] * 5,
            "guardian_consent": pd.array([False] * 5, dtype="boolean"),
            "sensitive_consent": pd.array([False] * 5, dtype="boolean"),
            "personalised_marketing_opt_out": pd.array([False] * 5, dtype="boolean"),
        }
    )
    rule = policy.purpose(PURPOSE).consent
    state, _ = build_consent_state(records, spec, purpose=PURPOSE, rule=rule, now=NOW)
    assert state.latest.loc["a", "status"] == "granted"
    assert state.latest.loc["b", "status"] == "withdrawn"
    assert state.ties == 1
    # the re-grant is in the future relative to `now`: the withdrawal is the latest record
    early = dt.datetime(2026, 1, 2, 12)
    state2, unused = build_consent_state(records, spec, purpose=PURPOSE, rule=rule, now=early)
    assert state2.latest.loc["a", "status"] == "withdrawn"
    assert unused.value_counts().to_dict() == {"recorded_after_run_time": 1}


def test_notice_version_accepted_list_is_the_policy_s(tmp_path, keys: KeyRing) -> None:
    shop = write_shop(tmp_path / "in")

    def accept_old(d: dict) -> None:
        d["purposes"][0]["consent"]["accepted_notice_versions"].append("2023-01")

    policy = make_policy(accept_old)
    result = sanitize(shop.dir, policy, PURPOSE, keys, now=NOW)
    assert _pseudonym(keys, shop.users["old_notice"]) in set(result.tables["users"]["openid"])
    assert "notice_version_not_accepted" not in result.report.tables["users"].excluded


def test_minors_rules_follow_the_policy(tmp_path, keys: KeyRing) -> None:
    shop = write_shop(tmp_path / "in")

    def strict(d: dict) -> None:
        d["purposes"][0]["consent"]["minors"] = {
            "minimum_age": 14,
            "unknown_age": "include",
            "guardian_consent_admits": False,
        }

    result = sanitize(shop.dir, make_policy(strict), PURPOSE, keys, now=NOW)
    users = set(result.tables["users"]["openid"])
    assert _pseudonym(keys, shop.users["minor_guardian"]) not in users
    assert _pseudonym(keys, shop.users["minor"]) not in users
    assert _pseudonym(keys, shop.users["unknown_age"]) in users
    assert result.report.tables["users"].excluded["minor_without_guardian_consent"] == 2


def test_opt_out_excludes_at_ingest_or_only_from_activation(
    tmp_path, policy: Policy, keys: KeyRing
) -> None:
    shop = write_shop(tmp_path / "in")
    p = _pseudonym(keys, shop.users["opted_out"])
    res = sanitize(shop.dir, policy, PURPOSE, keys, now=NOW)
    assert p in set(res.tables["users"]["openid"])
    assert res.activation.opted_out == frozenset({p})
    assert res.activation.tokens is not None
    assert p not in set(res.activation.tokens["pseudonym"])

    def exclude(d: dict) -> None:
        d["purposes"][0]["consent"]["opt_out"] = "exclude_from_profiling"

    res2 = sanitize(shop.dir, make_policy(exclude), PURPOSE, keys, now=NOW)
    assert p not in set(res2.tables["users"]["openid"])
    assert res2.report.tables["users"].excluded["opted_out_of_profiling"] == 1


def test_sensitive_column_only_for_users_with_separate_consent(
    shop: Shop, policy: Policy, keys: KeyRing
) -> None:
    res = sanitize(shop.dir, policy, PURPOSE, keys, now=NOW)
    users = res.tables["users"].set_index("openid")
    assert users.loc[_pseudonym(keys, shop.users["sensitive_ok"]), "religion"] == "some belief"
    others = users.drop(index=_pseudonym(keys, shop.users["sensitive_ok"]))
    assert others["religion"].isna().all()
    assert res.report.tables["users"].sensitive_cells_blanked == {"religion": len(others)}


def test_retention_excludes_old_rows(shop: Shop, policy: Policy, keys: KeyRing) -> None:
    later = NOW + dt.timedelta(days=362)  # events at 5..7 days old become 367..369 days old
    res = sanitize(shop.dir, policy, PURPOSE, keys, now=later)
    ev = res.report.tables["events"]
    assert len(res.tables["events"]) == 0
    assert ev.excluded["retention_expired"] == 16  # 5 admitted users x 3 + the old one
    assert ev.reconciles()


def test_missing_or_irrelevant_consent_file_is_a_consent_error(
    shop: Shop, policy: Policy, keys: KeyRing
) -> None:
    (shop.dir / "consents.csv").unlink()
    with pytest.raises(ConsentError, match="consent records file"):
        sanitize(shop.dir, policy, PURPOSE, keys, now=NOW)


def test_no_record_for_purpose_is_a_consent_error(
    shop: Shop, policy: Policy, keys: KeyRing
) -> None:
    c = pd.read_csv(shop.dir / "consents.csv", dtype=str)
    c["purpose"] = "analytics.reporting.campaign_insights"
    c.to_csv(shop.dir / "consents.csv", index=False)
    with pytest.raises(ConsentError, match="purpose"):
        sanitize(shop.dir, policy, PURPOSE, keys, now=NOW)
