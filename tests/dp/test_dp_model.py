from __future__ import annotations

import pytest

from privacy_profile.dp import (
    Aggregation,
    Bounds,
    MetricSpec,
    PrivacyLoss,
    PrivacyUnit,
    PublicGroups,
)
from privacy_profile.errors import PrivacyParameterError


@pytest.mark.parametrize(
    ("epsilon", "delta"),
    [(0.0, 0.0), (-1.0, 0.0), (float("inf"), 0.0), (float("nan"), 0.0), (1.0, 1.0), (1.0, -1e-9)],
)
def test_privacy_loss_rejects_unsafe_values(epsilon: float, delta: float) -> None:
    with pytest.raises(PrivacyParameterError):
        PrivacyLoss(epsilon=epsilon, delta=delta)


def test_privacy_loss_is_keyword_only_and_frozen() -> None:
    with pytest.raises(TypeError):
        PrivacyLoss(1.0)  # type: ignore[misc]
    loss = PrivacyLoss(epsilon=1.0, delta=1e-6)
    with pytest.raises(AttributeError):
        loss.epsilon = 2.0  # type: ignore[misc]


def test_split_sums_to_the_whole() -> None:
    parts = PrivacyLoss(epsilon=1.0, delta=1e-6).split([1, 2, 1], delta_to=1)
    assert [p.epsilon for p in parts] == pytest.approx([0.25, 0.5, 0.25])
    assert [p.delta for p in parts] == [0.0, 1e-6, 0.0]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_unit_rejects_bad_caps(bad: int) -> None:
    with pytest.raises(PrivacyParameterError):
        PrivacyUnit(column="user", max_groups_contributed=bad, max_rows_per_group=1)
    with pytest.raises(PrivacyParameterError):
        PrivacyUnit(column="user", max_groups_contributed=1, max_rows_per_group=bad)


def test_bounds_must_be_ordered_and_finite() -> None:
    with pytest.raises(PrivacyParameterError):
        Bounds(lower=1.0, upper=1.0)
    with pytest.raises(PrivacyParameterError):
        Bounds(lower=0.0, upper=float("inf"))
    assert Bounds(lower=-2, upper=6).midpoint == 2.0


def test_sum_and_mean_need_policy_bounds() -> None:
    with pytest.raises(PrivacyParameterError, match="bounds"):
        MetricSpec(aggregation=Aggregation.MEAN, column="amount")
    with pytest.raises(PrivacyParameterError):
        MetricSpec(aggregation=Aggregation.COUNT, column="amount")


def test_public_groups_normalise_and_reject_duplicates() -> None:
    assert PublicGroups.of(["a", "b"]).keys == (("a",), ("b",))
    with pytest.raises(PrivacyParameterError):
        PublicGroups.of(["a", "a"])
