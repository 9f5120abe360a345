"""The segmentation spec at the YAML boundary, and the safe rule language."""

from __future__ import annotations

import pandas as pd
import pytest
from _segments_helpers import SPEC_YAML, parse_spec
from pydantic import ValidationError

from privacy_profile.errors import PolicyError
from privacy_profile.policy.model import Policy
from privacy_profile.policy.segmentation import denied_term
from privacy_profile.segments import (
    ReleaseId,
    SegmentFamily,
    check_against_policy,
    evaluate_rule,
    parse_rule,
)


def test_example_spec_parses() -> None:
    spec = parse_spec(SPEC_YAML)
    assert {str(k): v for k, v in spec.releases().items()} == {
        "rfm": 1.0,
        "kmeans": 1.0,
        "lifecycle": 0.5,
        "rule:big_spenders_east": 0.5,
        "personas": 1.0,
        "tree": 0.5,
    }
    assert list(spec.releases())[3] == ReleaseId(SegmentFamily.RULE, "big_spenders_east")


@pytest.mark.parametrize(
    ("text", "release"),
    [
        ("rfm", ReleaseId(SegmentFamily.RFM)),
        ("rule:big_spenders_east", ReleaseId(SegmentFamily.RULE, "big_spenders_east")),
    ],
)
def test_release_ids_render_and_parse(text: str, release: ReleaseId) -> None:
    assert str(release) == text
    assert ReleaseId.parse(text) == release
    assert ReleaseId.of_label(release.label("part:x/y")) == release


@pytest.mark.parametrize("text", ["rule", "rfm:x", "nope", "rule:a/b"])
def test_bad_release_ids_are_refused(text: str) -> None:
    with pytest.raises(PolicyError):
        ReleaseId.parse(text)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("split_quantile: 0.5", "split_quantil: 0.5", "Extra inputs"),
        ("[age_band, gender,", "[age_band, religion, gender,", "denied tag"),
        ("[age_band, gender,", "[age_band, health_status, gender,", "denied tag"),
        ("new_within_days: 30", "new_within_days: 365", "new_within_days"),
        ("active_within_days: 30", "active_within_days: 400", "churned_after_days"),
        ("expr: monetary > 500 and", "expr: salary > 500 and", "unknown feature 'salary'"),
        ("target: rule:big_spenders_east", "target: rule:nope", "not declared"),
        ("lower: 0, upper: 730}\n  frequency", "lower: 9, upper: 1}\n  frequency", "below"),
        (
            "features: [province, age_band]",
            "features: [province, channel2]",
            "unknown tree feature",
        ),
    ],
)
def test_spec_refuses(old: str, new: str, message: str) -> None:
    assert old in SPEC_YAML
    with pytest.raises((ValidationError, PolicyError), match=message):
        parse_spec(SPEC_YAML.replace(old, new, 1))


def test_denied_tag_in_rule_refused() -> None:
    spec = parse_spec(SPEC_YAML)
    data = spec.model_dump(mode="json")
    data["tag_deny_list"] = ["province"]
    data["personas"]["dimensions"] = ["age_band"]
    data["tag_domains"].pop("province")
    data["tree"]["features"] = ["age_band"]
    with pytest.raises(ValidationError, match="denied tag 'province'"):
        type(spec).model_validate(data)


def test_denied_term_matches_words_only() -> None:
    deny = ("religion", "health")
    assert denied_term("religion", deny) == "religion"
    assert denied_term("Health.status", deny) == "health"
    assert denied_term("province", deny) is None
    assert denied_term("healthy_snacks_share", deny) is None


def test_epsilon_above_policy_cap_refused(policy: Policy) -> None:
    spec = parse_spec(SPEC_YAML.replace("epsilon: 1.0\n  recency", "epsilon: 3.0\n  recency"))
    with pytest.raises(PolicyError, match=r"segmentation\.rfm\.epsilon"):
        check_against_policy(spec, policy)
    check_against_policy(parse_spec(SPEC_YAML), policy)


FEATS = pd.DataFrame(
    {
        "monetary": [600.0, 100.0, None, 900.0],
        "province": ["浙江省", "北京市", None, "上海市"],
        "recency_days": [10.0, 40.0, None, 5.0],
        "frequency": [1, 2, 3, 4],
    }
)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('monetary > 500 and province in ["浙江省", "上海市"]', [True, False, False, True]),
        ("monetary >= 600", [True, False, False, True]),
        ("monetary == 100 or frequency < 2", [True, True, False, False]),
        ("not (recency_days <= 30)", [False, True, True, False]),
        ("province != '浙江省'", [False, True, False, True]),
        ('province not in ["浙江省"] and frequency in [2, 4]', [False, True, False, True]),
        ("(monetary > 0 or frequency > 2) and not frequency == 4", [True, True, True, False]),
    ],
)
def test_rules_evaluate(expr: str, expected: list[bool]) -> None:
    got = evaluate_rule(parse_rule(expr, rule="r"), FEATS, rule="r")
    assert got.tolist() == expected


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("__import__('os').system('x')", "unexpected character '.'"),
        ("__import__ > 1", "unknown feature '__import__'"),
        ("monetary = 3", "use == for equality"),
        ('province > "a"', "categorical"),
        ("monetary > 'a'", "numeric"),
        ("province in [浙江省]", "quote text values"),
        ("monetary > 1 frequency", "unexpected 'frequency'"),
        ("(monetary > 1", "expected ')'"),
        ("monetary", "expected a comparison"),
        ("monetary > 1 and", "expected a feature name"),
    ],
)
def test_rules_refuse(expr: str, message: str) -> None:
    with pytest.raises(PolicyError, match="rules\\[my_rule\\]") as err:
        parse_rule(expr, rule="my_rule")
    assert message in str(err.value)
