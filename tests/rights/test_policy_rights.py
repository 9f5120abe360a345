"""The policy's rights section: default deadline, and correctable columns checked at load."""

from __future__ import annotations

from pathlib import Path

import pytest
from _rights_helpers import POLICY

from privacy_profile.errors import PolicyError
from privacy_profile.policy import load_policy_file


def _with_rights(tmp_path: Path, section: str) -> Path:
    text = POLICY.read_text(encoding="utf-8").split("\nrights:")[0]
    path = tmp_path / "policy.yaml"
    path.write_text(text + section, encoding="utf-8")
    return path


def test_without_the_section_requests_are_due_in_30_days(tmp_path: Path) -> None:
    policy = load_policy_file(_with_rights(tmp_path, "\n")).policy
    assert policy.rights.deadline_days == 30
    assert policy.rights.correctable_columns == []


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("\nrights:\n  correctable_columns: [users.nosuch]\n", "unknown column 'users.nosuch'"),
        ("\nrights:\n  correctable_columns: [users.openid]\n", "is an identifier"),
        ("\nrights:\n  correctable_columns: [users.city, users.city]\n", "listed twice"),
        ("\nrights:\n  deadline_days: 0\n", "deadline_days"),
    ],
)
def test_bad_rights_sections_are_refused_with_their_line(
    tmp_path: Path, section: str, message: str
) -> None:
    path = _with_rights(tmp_path, section)
    with pytest.raises(PolicyError, match=message) as info:
        load_policy_file(path)
    assert any(i.line is not None for i in info.value.issues)
