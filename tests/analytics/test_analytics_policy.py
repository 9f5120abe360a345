"""The policy's analytics section: validated against the tables and the budget, errors located."""

from __future__ import annotations

from pathlib import Path

import pytest

from privacy_profile import PolicyError, load_policy

ROOT = Path(__file__).resolve().parents[2]
SHOP = (ROOT / "policies" / "wechat_shop.yaml").read_text(encoding="utf-8")


def _load(tmp_path: Path, old: str, new: str) -> PolicyError:
    assert old in SHOP
    p = tmp_path / "p.yaml"
    p.write_text(SHOP.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(p)
    return info.value


def test_example_policy_declares_the_analytics() -> None:
    spec = load_policy(ROOT / "policies" / "wechat_shop.yaml").analytics
    assert spec is not None
    assert spec.releases() == {"funnel": 0.1, "ab": 0.2, "retention": 0.05, "kpi": 0.05}


@pytest.mark.parametrize(
    ("old", "new", "field", "fragment", "line_text"),
    [
        (
            "    epsilon: 0.1\n    table: events\n    event_column: event_type",
            "    epsilon: 3.0\n    table: events\n    event_column: event_type",
            "analytics.funnel.epsilon",
            "above privacy.max_epsilon_per_query",
            "epsilon: 3.0",
        ),
        (
            "    arm_column: arm\n",
            "    arm_column: variant\n",
            "analytics.ab.arm_column",
            "column 'variant' is not declared in table 'campaign_sends'",
            "arm_column: variant",
        ),
        (
            "    sends_table: campaign_sends\n",
            "    sends_table: pushes\n",
            "analytics.kpi.campaign_column",
            "table 'pushes'",
            "campaign_column: campaign_id",
        ),
    ],
)
def test_analytics_errors_name_field_and_line(
    tmp_path: Path, old: str, new: str, field: str, fragment: str, line_text: str
) -> None:
    err = _load(tmp_path, old, new)
    issues = [i for i in err.issues if i.field == field]
    assert issues, str(err)
    assert fragment in issues[0].message
    assert issues[0].line is not None
    line = SHOP.replace(old, new, 1).splitlines()[issues[0].line - 1]
    assert line_text in line


def test_analytics_and_segmentation_must_fit_one_budget(tmp_path: Path) -> None:
    err = _load(tmp_path, "  epsilon_budget: 10.0\n", "  epsilon_budget: 4.8\n")
    msgs = [i.message for i in err.issues if i.field == "analytics"]
    assert msgs and "sum to epsilon 4.9" in msgs[0]
