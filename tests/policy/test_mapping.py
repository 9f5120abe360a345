"""The ``mapping`` section, value maps, consent flags and custom tags: each mistake is a
located error (file, line, field, fix); the legacy default is explicit."""

from __future__ import annotations

from pathlib import Path

import pytest

from privacy_profile import PolicyError, load_policy
from privacy_profile.policy.mapping import LEGACY_MAPPING
from privacy_profile.segments.columns import feature_columns

REPO = Path(__file__).resolve().parents[2]
SHOP = (REPO / "policies" / "wechat_shop.yaml").read_text(encoding="utf-8")

# (old text, new text, field named in the error, message fragment)
BROKEN = [
    (
        "    amount: amount\n",
        "    amount: total\n",
        "mapping.orders.amount",
        "'total' is not declared",
    ),
    ("    table: orders\n", "    table: order\n", "mapping.orders.table", "unknown table 'order'"),
    (
        "    coupon: coupon_used\n",
        "    coupon: comment\n",
        "mapping.orders.coupon",
        "not a boolean column",
    ),
    ("    gender: gender\n", "    gender: nickname\n", "mapping.subjects.gender", "dropped"),
    (
        "    paid_values: [paid]\n",
        "    paid_values: [paid, cancelled]\n",
        "mapping.orders",
        "both paid and refunded",
    ),
    (
        "      coupon_used:\n        category: user.behavior.purchase_history\n",
        "      coupon_used:\n        values: {是: yes, 否: no}\n"
        "        category: user.behavior.purchase_history\n",
        "tables.orders.columns.coupon_used.values",
        "maps values to",
    ),
    (
        "  tag_domains:\n",
        "  tags: {level: openid}\n  tag_domains:\n",
        "segmentation.tags.level",
        "direct_identifier",
    ),
    (
        "  tag_domains:\n",
        "  tags: {level: no_such_column}\n  tag_domains:\n",
        "segmentation.tags.level",
        "not declared",
    ),
]


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "policy.yaml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(("old", "new", "field", "fragment"), BROKEN, ids=[b[2] for b in BROKEN])
def test_mapping_mistakes_are_located(
    tmp_path: Path, old: str, new: str, field: str, fragment: str
) -> None:
    assert old in SHOP
    path = _write(tmp_path, SHOP.replace(old, new, 1))
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    issues = [i for i in info.value.issues if i.field.startswith(field)]
    assert issues, f"no issue on {field}: {info.value}"
    assert fragment in issues[0].message
    assert issues[0].line is not None and f"{path}:{issues[0].line}" in str(info.value)
    if field.startswith("mapping.orders.") or field.startswith("segmentation.tags"):
        assert issues[0].hint  # the rules say how to fix it


def test_a_valid_value_map_and_tag_pass(tmp_path: Path) -> None:
    text = SHOP.replace(
        "      gender:\n        category: user.demographic.gender\n",
        "      gender:\n        values: {男: male, 女: female}\n        unknown_values: keep\n"
        "        category: user.demographic.gender\n",
    ).replace("  tag_domains:\n", "  tags: {acquired_via: channel}\n  tag_domains:\n")
    policy = load_policy(_write(tmp_path, text))
    col = policy.tables["users"].columns["gender"]
    assert col.values == {"男": "male", "女": "female"}
    assert policy.segmentation is not None and policy.segmentation.tags == {
        "acquired_via": "channel"
    }
    assert ("channel", "acquired_via") in feature_columns(policy).tags


def test_value_map_keys_are_text(tmp_path: Path) -> None:
    def with_map(value_map: str) -> str:
        return SHOP.replace(
            "      coupon_used:\n        category: user.behavior.purchase_history\n",
            f"      coupon_used:\n        values: {value_map}\n"
            "        category: user.behavior.purchase_history\n",
        )

    policy = load_policy(_write(tmp_path, with_map("{Y: true, N: false, 1: true, 0: false}")))
    assert policy.tables["orders"].columns["coupon_used"].values == {
        "Y": "true",
        "N": "false",
        "1": "true",
        "0": "false",
    }


def test_unknown_tag_in_a_rule_is_refused_and_a_declared_one_accepted(tmp_path: Path) -> None:
    rule = 'expr: monetary > 500 and province in ["浙江省", "上海市", "江苏省"]'
    assert rule in SHOP
    with pytest.raises(PolicyError, match="unknown feature 'acquired_via'"):
        load_policy(_write(tmp_path, SHOP.replace(rule, 'expr: acquired_via == "ads"')))
    text = SHOP.replace(rule, 'expr: acquired_via == "ads"').replace(
        "  tag_domains:\n", "  tags: {acquired_via: channel}\n  tag_domains:\n"
    )
    assert load_policy(_write(tmp_path, text)).segmentation is not None


def test_consent_flags_layout(tmp_path: Path) -> None:
    records = (
        "  purpose_column: purpose\n  status_column: status\n  timestamp_column: recorded_at\n"
    )
    assert records in SHOP
    with pytest.raises(PolicyError, match="purpose_flags"):
        load_policy(
            _write(tmp_path, SHOP.replace(records, "  purpose_flags: {x: status}\n"))
        )  # flags on the consent table (not the subjects table), an undeclared purpose


def test_without_mapping_the_legacy_default_is_used_for_declared_tables() -> None:
    policy = load_policy(REPO / "policies" / "wechat_shop.yaml")
    assert policy.mapping is not None and policy.roles() == policy.mapping
    bare = policy.model_copy(update={"mapping": None})
    roles = bare.roles()
    assert roles.orders == LEGACY_MAPPING.orders and roles.events == LEGACY_MAPPING.events
    no_events = bare.model_copy(
        update={"tables": {k: v for k, v in bare.tables.items() if k != "events"}}
    )
    assert no_events.roles().events is None  # an undeclared legacy table: the role is inactive
    cols = feature_columns(policy)
    assert cols.orders is not None and cols.orders.paid_statuses == ("paid",)
    assert cols.events is not None and cols.events.fav == ("fav",)
    assert (cols.users, cols.age_band, cols.province, cols.gender) == (
        "users",
        "birthdate",
        "city",
        "gender",
    )
