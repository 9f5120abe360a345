"""Issue 14 item 8: a rule-expression error names the policy file and the line of the rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from _rel_helpers import POLICY

from privacy_profile.errors import PolicyError
from privacy_profile.policy.loader import load_policy_file


@pytest.mark.parametrize("expr", ["monetary >> 500", "monetarx > 500", 'province in ["a"'])
def test_rule_expression_error_has_file_and_line(tmp_path: Path, expr: str) -> None:
    lines = POLICY.read_text("utf-8").splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.strip().startswith("expr:"))
    lines[at] = lines[at].split("expr:")[0] + "expr: " + expr
    bad = tmp_path / "bad.yaml"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy_file(bad)
    issue = info.value.issues[0]
    assert issue.file == str(bad)
    assert issue.line == at + 1
    assert f"{bad}:{at + 1}: segmentation.rules[0].expr" in str(info.value)
