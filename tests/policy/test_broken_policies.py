"""Every broken policy fixture fails with a message naming its line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from privacy_profile import PolicyError, load_policy

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "broken_policies"

# (fixture, field named in the error, fragment of the message, text on the offending line)
CASES = [
    ("yaml_syntax", "<yaml>", "YAML syntax error", "budget_window: {kind: rolling_days, days: 30"),
    ("unknown_field", "privacy.max_groups_contributd", "unknown field", "max_groups_contributd"),
    (
        "unknown_taxonomy_key",
        "tables.users.columns.phone.category",
        "unknown data category 'user.contact.phone_nr'",
        "phone: {category: user.contact.phone_nr",
    ),
    (
        "identifier_kept",
        "tables.users.columns.phone.treatment",
        "direct identifier users.phone would be kept",
        "phone: {category",
    ),
    (
        "inline_secret",
        "pseudonymization_domains[0].key",
        "an inline secret is refused",
        "key: 0123456789abcdef",
    ),
    ("epsilon_zero", "privacy.max_epsilon_per_query", "must be > 0", "max_epsilon_per_query: 0"),
    (
        "epsilon_above_budget",
        "privacy.max_epsilon_per_query",
        "exceeds the budget 5.0",
        "max_epsilon_per_query: 8.0",
    ),
    ("infinite_budget", "privacy.epsilon_budget", "must be finite", "epsilon_budget: .inf"),
    (
        "sensitive_without_separate_consent",
        "purposes[0].consent.separate_consent_for_sensitive",
        "without separate consent",
        "separate_consent_for_sensitive: false",
    ),
    ("missing_assessment", "assessment", "impact assessment", "policy_version: 1"),
    (
        "unknown_domain",
        "purposes[0].pseudonymization_domain",
        "unknown pseudonymisation domain 'analytic'",
        "pseudonymization_domain: analytic",
    ),
    (
        "threshold_zero",
        "privacy.aggregation_threshold.threshold",
        "greater than or equal to 1",
        "aggregation_threshold: {threshold: 0",
    ),
    (
        "ledger_lease_zero",
        "privacy.ledger_lease_seconds",
        "greater than or equal to 1",
        "ledger_lease_seconds: 0",
    ),
    ("unknown_data_use", "purposes[0].data_use", "unknown data use", "data_use: marketing.adverts"),
    (
        "extension_bad_parent",
        "taxonomy_extensions[0].parent",
        "unknown parent category 'user.wechat'",
        "parent: user.wechat",
    ),
    (
        "bad_treatment",
        "tables.users.columns.phone.treatment",
        "unknown treatment",
        "treatment: hash",
    ),
    (
        "privacy_unit_not_pseudonymized",
        "privacy.privacy_unit_column",
        "must be pseudonymized",
        "privacy_unit_column: users.phone",
    ),
    (
        "bad_enum",
        "privacy.budget_window.kind",
        "'rolling_days' or 'calendar_month'",
        "kind: weekly",
    ),
    (
        "sensitive_consent_column_missing",
        "consent_records.sensitive_consent_column",
        "no column records it",
        "consent_records:",
    ),
    ("duplicate_key", "<yaml>", "duplicate key", "max_rows_per_group: 3"),
]


def _line_of(path: Path, text: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return i
    raise AssertionError(f"{text!r} not in {path}")


def test_every_fixture_is_covered() -> None:
    names = {p.stem for p in FIXTURES.glob("*.yaml")}
    assert names == {c[0] for c in CASES}
    assert len(names) >= 12


@pytest.mark.parametrize(("name", "field", "fragment", "marker"), CASES, ids=[c[0] for c in CASES])
def test_broken_policy_names_line_and_field(
    name: str, field: str, fragment: str, marker: str
) -> None:
    path = FIXTURES / f"{name}.yaml"
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    issues = [i for i in info.value.issues if i.field == field]
    assert issues, f"no issue on {field}: {info.value}"
    issue = issues[0]
    assert fragment in issue.message
    assert issue.file == str(path)
    expected = _line_of(path, marker)
    if field == "<yaml>":
        # the parser reports where it noticed the problem: the line or the next one
        assert issue.line in (expected, expected + 1)
    else:
        assert issue.line == expected
    # every message says how to fix it or is self-explanatory, and names the file and line
    assert f"{path}:{issue.line}" in str(info.value)


def test_error_never_shows_inline_secret() -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(FIXTURES / "inline_secret.yaml")
    assert "0123456789abcdef" not in str(info.value)
