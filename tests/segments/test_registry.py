"""The segment-family registry: every family once, in release order, with the epsilon shares the
policy declares, and the one epsilon-split check."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from _segments_helpers import SPEC_YAML, parse_spec

import privacy_profile.segments.build  # noqa: F401  (registers the family runners)
from privacy_profile.errors import PolicyError
from privacy_profile.policy.releases import ReleaseId, SegmentFamily, epsilon_split_issues
from privacy_profile.segments.registry import BuildState, register, registry


def test_every_family_is_registered_once_in_release_order() -> None:
    entries = registry()
    assert [e.family for e in entries] == list(SegmentFamily)
    derived = {e.family: e.produced_by for e in entries if e.run is None}
    assert derived == {SegmentFamily.RECOMMENDATIONS: SegmentFamily.PERSONAS}


def test_the_registered_shares_are_the_policy_releases() -> None:
    spec = parse_spec(SPEC_YAML)
    shares: dict[ReleaseId, float] = {}
    for entry in registry():
        shares.update(entry.releases(spec))
    assert shares == spec.releases()
    assert shares[ReleaseId(SegmentFamily.RULE, "big_spenders_east")] == 0.5


def test_a_family_cannot_register_twice() -> None:
    def again(st: BuildState, releases: Mapping[ReleaseId, float]) -> None:
        raise AssertionError("never runs")

    with pytest.raises(PolicyError, match="registered twice"):
        register(SegmentFamily.RFM)(again)


def test_one_check_reports_each_release_over_the_cap_and_the_sum() -> None:
    releases = {
        ReleaseId(SegmentFamily.RFM): 1.5,
        ReleaseId(SegmentFamily.RULE, "a"): 0.5,
        ReleaseId(SegmentFamily.RULE, "b"): 1.2,
    }
    issues = epsilon_split_issues(releases, max_epsilon_per_query=1.0, epsilon_budget=3.0)
    assert [i.path for i in issues] == [
        ("segmentation", "rfm", "epsilon"),
        ("segmentation", "rules_epsilon"),
        ("segmentation",),
    ]
    assert "'rule:b'" in issues[1].message and "3.2" in issues[2].message
    assert epsilon_split_issues(releases, max_epsilon_per_query=2.0, epsilon_budget=4.0) == []
