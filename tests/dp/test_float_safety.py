"""Float safety (issue 13, item 2): no real-valued release draws floating-point Laplace or
Gaussian noise from numpy (Mironov 2012); real values get integer discrete Laplace noise on a
fixed-point grid whose step is a power of two, with the sensitivity rounded up to the grid."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from privacy_profile.dp import (
    Aggregation,
    Bounds,
    BudgetLedger,
    DPRandom,
    Mechanism,
    MetricSpec,
    PrivacyLoss,
    PrivacyUnit,
    PublicGroups,
    dp_aggregate,
    dp_mean,
    dp_sum,
)
from privacy_profile.dp import mechanisms as mech
from privacy_profile.errors import PrivacyParameterError

P_MIN = 1e-4


FORBIDDEN = ("laplace", "normal", "standard_normal", "exponential", "standard_exponential")


class _GuardedGenerator:
    """A numpy Generator whose continuous Laplace / normal / exponential draws fail."""

    def __init__(self, gen: np.random.Generator) -> None:
        self._gen = gen

    def __getattr__(self, name: str) -> Any:
        if name in FORBIDDEN:
            raise AssertionError(f"numpy Generator.{name} drawn by a release")
        return getattr(self._gen, name)


def guarded(seed: int) -> DPRandom:
    rng = DPRandom.for_testing(seed)
    rng._gen = _GuardedGenerator(rng._gen)  # type: ignore[assignment]
    return rng


@pytest.fixture
def no_float_noise(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the integer noise draws (releases below run on :func:`guarded` generators)."""
    seen: list[str] = []
    orig = DPRandom.discrete_laplace

    def spy(self: DPRandom, scale: float, size: int) -> Any:
        seen.append(f"discrete_laplace:{size}")
        return orig(self, scale, size)

    monkeypatch.setattr(DPRandom, "discrete_laplace", spy)
    return seen


def test_the_guard_catches_float_noise() -> None:
    with pytest.raises(AssertionError, match="laplace"):
        guarded(0)._gen.laplace(0.0, 1.0, 3)


def test_sum_and_mean_releases_draw_only_integer_noise(
    no_float_noise: list[str], ledger: BudgetLedger, orders: pd.DataFrame
) -> None:
    kw: dict[str, Any] = {"ledger": ledger, "run_id": "f", "rng": guarded(1)}
    b = Bounds(lower=0.0, upper=100.0)
    dp_sum(np.linspace(0, 100, 50), bounds=b, loss=PrivacyLoss(epsilon=1.0), **kw)
    dp_mean(np.linspace(0, 100, 50), bounds=b, loss=PrivacyLoss(epsilon=1.0), **kw)
    dp_aggregate(
        orders,
        unit=PrivacyUnit(column="user", max_groups_contributed=2, max_rows_per_group=3),
        by=["seg"],
        metrics=[MetricSpec(aggregation=Aggregation.MEAN, column="amount", bounds=b)],
        loss=PrivacyLoss(epsilon=1.0),
        groups=PublicGroups.of(["a", "b"]),
        threshold=0,
        **kw,
    )
    assert len(no_float_noise) == 2 + 2 + 3  # count + sum, twice; ids, rows, sum


def test_kmeans_step_draws_only_integer_noise(no_float_noise: list[str]) -> None:
    from privacy_profile.dp import BudgetWindow
    from privacy_profile.segments._common import ReleaseContext
    from privacy_profile.segments.kmeans import fit_dp_lloyd

    ctx = ReleaseContext(
        ledger=BudgetLedger.in_memory(
            dataset="k", budget=PrivacyLoss(epsilon=10.0), window=BudgetWindow.lifetime()
        ),
        run_id="k",
        rng=guarded(2),
        unit_column="u",
        threshold=0,
    )
    x = np.random.default_rng(0).random((200, 3))
    starts = np.array([[0.25] * 3, [0.75] * 3])
    fit_dp_lloyd(x, k=2, loss=PrivacyLoss(epsilon=1.0), iterations=2, ctx=ctx, init_centers=starts)
    assert no_float_noise == ["discrete_laplace:2", "discrete_laplace:6"] * 2


def test_float_noise_is_refused() -> None:
    rng = DPRandom.for_testing(0)
    for m in (Mechanism.LAPLACE, Mechanism.GAUSSIAN):
        with pytest.raises(PrivacyParameterError, match="not drawn"):
            mech.add_noise(np.zeros(3), m, 1.0, rng)
    with pytest.raises(PrivacyParameterError, match="grid step"):
        mech.add_noise(np.zeros(3), Mechanism.DISCRETE_LAPLACE_GRID, 1.0, rng)
    assert not hasattr(DPRandom, "laplace") and not hasattr(DPRandom, "gaussian")


@pytest.mark.parametrize("half_width", [0.5, 1.0, 50.0, 3.7, 1e-3, 12345.678])
def test_grid_step_is_a_power_of_two_at_2_to_minus_20_of_the_range(half_width: float) -> None:
    step = mech.grid_step(half_width)
    mantissa, _ = math.frexp(step)
    assert mantissa == 0.5  # a power of two: value / step and k * step are exact
    assert half_width * 2.0**-21 < step <= half_width * 2.0**-20
    units = mech.grid_units(half_width, step)
    assert units * step >= half_width > (units - 1) * step  # rounded up, by less than a step


def test_sum_release_scale_is_exact_and_outputs_lie_on_the_grid(ledger: BudgetLedger) -> None:
    b = Bounds(lower=0.0, upper=100.0)  # half-width 50: step 2^-15
    step = mech.grid_step(50.0)
    assert step == 2.0**-15
    unit = PrivacyUnit(column="u", max_groups_contributed=2, max_rows_per_group=3)
    rng = DPRandom.for_testing(3)
    df = pd.DataFrame({"u": np.arange(100) % 40, "g": np.arange(100) % 3, "v": 100.0 / 7})
    res = dp_aggregate(
        df,
        unit=unit,
        by=["g"],
        metrics=[MetricSpec(aggregation=Aggregation.SUM, column="v", bounds=b, name="s")],
        loss=PrivacyLoss(epsilon=0.5),
        ledger=ledger,
        run_id="g",
        groups=PublicGroups.of([0, 1, 2]),
        threshold=0,
        rng=rng,
        weights={"privacy_id_count": 1, "count": 1, "sum:v": 2},
    )
    (rec,) = [r for r in res.records if r.label.endswith("sum:v")]
    assert rec.mechanism == "discrete_laplace_grid" and rec.granularity == step
    assert rec.sensitivity == 2 * 3 * 50.0  # 50 is on the grid: no rounding up here
    assert rec.scale == 300.0 / 0.25  # exactly sensitivity / epsilon
    assert rec.noise_sd == pytest.approx(math.sqrt(2) * rec.scale, rel=1e-6)
    # the released centred sum (before the midpoint * count post-processing) is on the grid
    noisy = mech.add_noise(
        np.array([5.0, -7.0]), Mechanism.DISCRETE_LAPLACE_GRID, 1.0, rng, step=step
    )
    assert np.array_equal(noisy / step, np.rint(noisy / step))


def test_off_grid_bounds_round_the_sensitivity_up(ledger: BudgetLedger) -> None:
    b = Bounds(lower=0.0, upper=0.3)  # half-width 0.15 is not a multiple of its grid step
    res = dp_sum(
        [0.1, 0.2],
        bounds=b,
        loss=PrivacyLoss(epsilon=1.0),
        ledger=ledger,
        run_id="r",
        rng=DPRandom.for_testing(0),
    )
    (rec,) = [r for r in res.records if r.mechanism == "discrete_laplace_grid"]
    assert rec.granularity is not None
    assert 0.15 < rec.sensitivity <= 0.15 + rec.granularity
    assert (rec.sensitivity / rec.granularity).is_integer()


def test_grid_noise_has_the_stated_distribution() -> None:
    """Seeded chi-square against the exact discrete Laplace pmf on the grid (p >= 1e-4)."""
    step, t = 0.25, 3.0
    draws = mech.add_noise(
        np.zeros(100_000),
        Mechanism.DISCRETE_LAPLACE_GRID,
        t * step,
        DPRandom.for_testing(4),
        step=step,
    )
    k = np.rint(draws / step).astype(np.int64)
    assert np.array_equal(k * step, draws)
    p = math.exp(-1 / t)
    support = np.arange(-12, 13)
    expected = (1 - p) / (1 + p) * p ** np.abs(support)
    observed = np.array([(k == s).sum() for s in support] + [(np.abs(k) > 12).sum()])
    res = stats.chisquare(observed, np.append(expected, 1 - expected.sum()) * k.size)
    assert res.pvalue >= P_MIN
    assert mech.noise_sd(Mechanism.DISCRETE_LAPLACE_GRID, t * step, step=step) == pytest.approx(
        step * math.sqrt(2 * p) / (1 - p)
    )
