"""An empirical privacy auditor: neighbouring data sets, many seeded runs, a threshold test and
one-sided Clopper-Pearson bounds (Jagielski et al. 2020; Nasr et al. 2021 style, simplified).

For a release M and neighbours D, D' (D' = D plus one *maximal* privacy unit: as many groups
and rows as the caps allow, values at a bound), each :class:`AuditCase` maps one run to
scalar statistics: one per run, or several independent trials per run when the release is a
per-group mechanism and each public group holds its own disjoint units (group j of a D' run
is neighbour j; the noise of distinct groups is independent), which buys thousands of trials
for the price of a few calls. :func:`audit` draws ``runs`` runs on each side, uses the first
half of the statistics to pick the most telling event S = {stat >= c} or {stat <= c} (c a
pilot quantile, either side of the pair), and on the second half bounds

    p = P[M(A) in S] from below and q = P[M(B) in S] from above (one-sided Clopper-Pearson,
    alpha / 2 each), so eps_lb = ln((p_lo - delta) / q_hi) and delta_lb = p_lo - e^eps q_hi

hold with probability >= 1 - alpha for a release that meets its claim. A test fails when the
lower bound exceeds the claimed epsilon (or delta): a false alarm has probability <= alpha.

To audit a new release (e.g. an analytics one), add a factory to ``tests/audit/_cases.py``
returning an :class:`AuditCase` and list it in ``FAST_CASES`` (and ``SLOW_CASES`` for more
runs).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from privacy_profile.dp import DPRandom

ALPHA = 1e-4  # false-alarm rate of one audit (the test's stated false-positive rate)

# (neighbour?, rng) -> one run's statistic, or an array of independent trials
Statistic = Callable[[bool, DPRandom], float | np.ndarray]


@dataclass(frozen=True, kw_only=True)
class AuditCase:
    """One release to audit: its claim and how to run it on D (False) or D' (True)."""

    name: str
    epsilon: float
    delta: float
    run: Statistic


@dataclass(frozen=True, kw_only=True)
class AuditResult:
    name: str
    epsilon_claim: float
    delta_claim: float
    epsilon_lb: float
    delta_lb: float
    event: str
    p_hits: int
    q_hits: int
    runs: int

    def __str__(self) -> str:
        return (
            f"{self.name}: eps_lb={self.epsilon_lb:.3f} (claim {self.epsilon_claim:g}), "
            f"delta_lb={self.delta_lb:.2e} (claim {self.delta_claim:g}); event {self.event}, "
            f"hits {self.p_hits} vs {self.q_hits} of {self.runs}"
        )


def cp_lower(hits: int, n: int, alpha: float) -> float:
    """One-sided (1 - alpha) Clopper-Pearson lower bound of a binomial proportion."""
    return 0.0 if hits == 0 else float(stats.beta.ppf(alpha, hits, n - hits + 1))


def cp_upper(hits: int, n: int, alpha: float) -> float:
    """One-sided (1 - alpha) Clopper-Pearson upper bound of a binomial proportion."""
    return 1.0 if hits == n else float(stats.beta.ppf(1.0 - alpha, hits + 1, n - hits))


def _draw(case: AuditCase, neighbour: bool, runs: int, seed: int) -> np.ndarray:
    rng = DPRandom.for_testing(seed)
    return np.concatenate(
        [np.atleast_1d(np.asarray(case.run(neighbour, rng), dtype=np.float64)) for _ in range(runs)]
    )


def _events(pilot: np.ndarray) -> list[tuple[str, float]]:
    cuts = np.unique(np.quantile(pilot, np.linspace(0.02, 0.98, 25)))
    if cuts.size == 0 or np.unique(pilot).size <= 2:  # binary statistics
        cuts = np.unique(pilot)
    return [(op, float(c)) for c in cuts for op in (">=", "<=")]


def _hit(x: np.ndarray, op: str, c: float) -> np.ndarray:
    return x >= c if op == ">=" else x <= c


def _eps_hat(p: float, q: float, delta: float) -> float:
    return math.log(max(p - delta, 1e-12) / max(q, 1e-12))


def audit(case: AuditCase, *, runs: int, seed: int, alpha: float = ALPHA) -> AuditResult:
    """Audit ``case`` with ``runs`` seeded runs on each neighbour (see the module doc)."""
    d = _draw(case, False, runs, seed)
    d1 = _draw(case, True, runs, seed + 1)
    half = min(d.size, d1.size) // 2
    pilot_d, pilot_d1 = d[:half], d1[:half]
    test_d, test_d1 = d[half : 2 * half], d1[half : 2 * half]
    n = test_d.size

    # choose the event and the direction on the pilot half: the one whose own (loose, 95%)
    # Clopper-Pearson bound is highest, which prefers events with enough hits to bound
    best: tuple[float, str, float, bool] | None = None
    for op, c in _events(np.concatenate([pilot_d, pilot_d1])):
        a = int(_hit(pilot_d, op, c).sum())
        b = int(_hit(pilot_d1, op, c).sum())
        for swap in (False, True):
            p_hits, q_hits = (b, a) if swap else (a, b)
            p = cp_lower(p_hits, half, 0.05)
            q = cp_upper(q_hits, half, 0.05)
            score = _eps_hat(p, q, case.delta) + 1e-3 * (p - q)  # tie-break: larger gap
            if best is None or score > best[0]:
                best = (score, op, c, swap)
    assert best is not None
    _, op, c, swap = best
    hits_d = int(_hit(test_d, op, c).sum())
    hits_d1 = int(_hit(test_d1, op, c).sum())
    p_hits, q_hits = (hits_d1, hits_d) if swap else (hits_d, hits_d1)
    p_lo = cp_lower(p_hits, n, alpha / 2)
    q_hi = cp_upper(q_hits, n, alpha / 2)
    eps_lb = max(math.log((p_lo - case.delta) / q_hi), 0.0) if p_lo > case.delta else 0.0
    delta_lb = max(p_lo - math.exp(case.epsilon) * q_hi, 0.0)
    side = "D'" if swap else "D"
    return AuditResult(
        name=case.name,
        epsilon_claim=case.epsilon,
        delta_claim=case.delta,
        epsilon_lb=eps_lb,
        delta_lb=delta_lb,
        event=f"stat {op} {c:g} (more likely on {side})",
        p_hits=p_hits,
        q_hits=q_hits,
        runs=n,
    )
