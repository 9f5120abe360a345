"""Empirical privacy audit of every release kind (see tests/audit/_auditor.py).

Each test fails when a one-sided Clopper-Pearson lower bound on epsilon (or delta) exceeds the
release's claim; a correct release fails with probability <= 1e-4 per test (seeds are fixed,
so a run is reproducible). The fast configuration runs in every CI run; the slow one uses more
runs for tighter bounds."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from _auditor import AuditCase, audit
from _cases import FAST_CASES, count_case, selection_case, sum_case, zcdp_count_case

# runs per neighbour: per-group cases give 400 trials per run
FAST_RUNS = {"count": 20, "sum": 20, "mean": 20, "zcdp_count": 20}
DEFAULT_FAST_RUNS = 300


@pytest.mark.parametrize("make", FAST_CASES, ids=lambda m: m().name)
def test_lower_bounds_stay_within_the_claim(make: Callable[[], AuditCase]) -> None:
    case = make()
    res = audit(case, runs=FAST_RUNS.get(case.name, DEFAULT_FAST_RUNS), seed=1301)
    print(res)
    assert res.epsilon_lb <= case.epsilon, str(res)
    assert res.delta_lb <= case.delta, str(res)


def test_the_auditor_can_fail() -> None:
    """A release that claims far less than it spends is caught: the count case claimed at
    epsilon 0.1 (it spends 1)."""
    honest = count_case()
    liar = AuditCase(name="count_claims_0.1", epsilon=0.1, delta=0.0, run=honest.run)
    res = audit(liar, runs=4, seed=7)
    assert res.epsilon_lb > 0.1, str(res)


def test_the_auditor_catches_a_zcdp_release_claiming_too_little() -> None:
    """The zCDP count (rho 0.5, sigma 1) claimed as rho 0.0002 is caught."""
    liar = zcdp_count_case(rho=0.0002)
    honest = zcdp_count_case()
    assert liar.epsilon < honest.epsilon
    res = audit(liar, runs=20, seed=11)
    assert res.epsilon_lb > liar.epsilon, str(res)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("make", "runs"),
    [(count_case, 40), (sum_case, 40), (selection_case(g=1000, delta=1e-3), 400)],
    ids=["count", "sum", "selection_g1000"],
)
def test_lower_bounds_with_more_runs(make: Callable[[], AuditCase], runs: int) -> None:
    case = make()
    res = audit(case, runs=runs, seed=4242)
    print(res)
    assert res.epsilon_lb <= case.epsilon, str(res)
    assert res.delta_lb <= case.delta, str(res)
