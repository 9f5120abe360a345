"""``output_access`` takes owner or group only; anything else is a located policy error."""

from __future__ import annotations

from pathlib import Path

import pytest

from privacy_profile import PolicyError, load_policy

POLICY = Path(__file__).resolve().parents[2] / "policies" / "wechat_shop.yaml"


def test_the_default_is_owner_only() -> None:
    assert load_policy(POLICY).output_access.value == "owner"


@pytest.mark.parametrize("value", ["world", "0644", "Group", "''"])
def test_an_unknown_access_is_a_located_error(tmp_path: Path, value: str) -> None:
    text = POLICY.read_text(encoding="utf-8").rstrip("\n") + f"\noutput_access: {value}\n"
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    issues = [i for i in info.value.issues if i.field == "output_access"]
    assert len(issues) == 1
    assert issues[0].line == len(text.splitlines())
