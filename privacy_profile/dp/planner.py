"""Refresh planning: how much each refresh may spend so that a budget window lasts, under pure
epsilon composition and under zCDP, and the expected noise of each release at that spend.

Pure (basic composition): a window of R refreshes gives each refresh epsilon_budget / R and
(with private selection) delta_per_refresh; a release with share w of a refresh gets epsilon
w * epsilon_budget / R and its distinct-unit count the discrete-Laplace noise of scale
sensitivity / epsilon.

zCDP: the window's budget (epsilon, delta) is turned into the largest rho whose conversion
(CKS 2020, :func:`privacy_profile.dp.zcdp.zcdp_epsilon`) fits, after the deltas reserved for
private selection; rho adds up over refreshes, so each gets rho / R and a release rho_w = w rho
/ R, and its count the discrete-Gaussian noise sigma = L2 sensitivity / sqrt(2 rho_w); a policy
spends rho_w by declaring the release's epsilon sqrt(2 rho_w) with ``accounting: zcdp``. Since
epsilon(rho) grows like sqrt(rho) for small rho, R refreshes cost about sqrt(R) times one, not
R times: this is what makes daily refreshes affordable.

The noise is the per-count standard deviation of one released count of sensitivity 1 (one unit
in one group); releases with more noisy parts (sums, k-means iterations) scale from it.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

from privacy_profile.dp.mechanisms import noise_sd
from privacy_profile.dp.model import Mechanism, PrivacyLoss
from privacy_profile.dp.zcdp import gaussian_sigma, zcdp_epsilon, zcdp_rho
from privacy_profile.errors import PrivacyParameterError

__all__ = ["Cadence", "PlannedRelease", "RefreshPlan", "ReleaseSpend", "plan_refreshes"]


class Cadence(enum.Enum):
    DAILY = "daily"
    WEEKLY = "weekly"

    @property
    def days(self) -> int:
        return 1 if self is Cadence.DAILY else 7


@dataclass(frozen=True, kw_only=True)
class PlannedRelease:
    """A release of every refresh: its share of the refresh's budget (any positive weight,
    normalised) and the sensitivities of one of its counts."""

    name: str
    weight: float
    l1_sensitivity: float = 1.0
    l2_sensitivity: float = 1.0


@dataclass(frozen=True, kw_only=True)
class ReleaseSpend:
    name: str
    share: float
    pure_epsilon: float
    pure_noise_sd: float
    zcdp_rho: float
    zcdp_noise_sd: float

    @property
    def zcdp_declared_epsilon(self) -> float:
        """The epsilon a policy declares for this release under ``accounting: zcdp`` to spend
        this rho (rho = epsilon^2 / 2)."""
        return math.sqrt(2.0 * self.zcdp_rho)


@dataclass(frozen=True, kw_only=True)
class RefreshPlan:
    budget: PrivacyLoss
    window: str
    cadence: Cadence
    refreshes: int  # refreshes that fall inside one window
    selection_delta: float  # delta reserved per refresh for private selection
    pure_epsilon: float  # per refresh
    zcdp_rho: float  # per refresh
    zcdp_window_rho: float
    zcdp_refresh_epsilon: float  # one refresh alone, converted at the conversion delta
    conversion_delta: float
    releases: tuple[ReleaseSpend, ...]

    def render(self) -> str:
        lines = [
            f"budget epsilon {self.budget.epsilon:g}, delta {self.budget.delta:g} per "
            f"{self.window}; {self.cadence.value} refreshes: {self.refreshes} per window",
            f"pure epsilon (basic composition): each refresh may spend epsilon "
            f"{self.pure_epsilon:.4g}"
            + (f" and delta {self.selection_delta:.3g}" if self.selection_delta else ""),
            f"zCDP: the window holds rho {self.zcdp_window_rho:.4g} (conversion delta "
            f"{self.conversion_delta:.3g}); each refresh may spend rho {self.zcdp_rho:.4g} "
            f"(alone: epsilon {self.zcdp_refresh_epsilon:.4g})",
            "",
            "| release | share | pure: epsilon | pure: count noise sd | zCDP: rho "
            "| zCDP: epsilon to declare | zCDP: count noise sd |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in self.releases:
            lines.append(
                f"| {r.name} | {r.share:.0%} | {r.pure_epsilon:.4g} | {r.pure_noise_sd:.3g} "
                f"| {r.zcdp_rho:.4g} | {r.zcdp_declared_epsilon:.4g} | {r.zcdp_noise_sd:.3g} |"
            )
        return "\n".join(lines)


def refreshes_per_window(window_days: int, cadence: Cadence, *, rolling: bool) -> int:
    """Refreshes at a fixed cadence inside one window: a rolling window of N days counts
    charges at or after now - N days, so N / cadence + 1 of them; a calendar month (up to 31
    days) holds ceil(31 / cadence) of them."""
    if rolling:
        return window_days // cadence.days + 1
    return math.ceil(window_days / cadence.days)


def plan_refreshes(
    *,
    budget: PrivacyLoss,
    window_days: int,
    rolling: bool,
    cadence: Cadence,
    releases: Sequence[PlannedRelease],
    selection_delta_per_refresh: float = 0.0,
) -> RefreshPlan:
    """The per-refresh spend and expected noise under both accountings (see module doc).
    Pure function of public parameters: nothing is charged."""
    if not releases:
        raise PrivacyParameterError("nothing to plan: the policy declares no release")
    if window_days < 1:
        raise PrivacyParameterError("the budget window must be at least one day")
    total_w = math.fsum(r.weight for r in releases)
    if not (total_w > 0 and all(r.weight > 0 for r in releases)):
        raise PrivacyParameterError("release weights must be positive")
    n = refreshes_per_window(window_days, cadence, rolling=rolling)
    reserved = n * selection_delta_per_refresh
    conversion_delta = budget.delta - reserved
    if conversion_delta <= 0:
        raise PrivacyParameterError(
            f"{n} refreshes with delta {selection_delta_per_refresh:g} each need delta "
            f"{reserved:g}, more than the budget's {budget.delta:g}",
            hint="raise delta_budget, lower delta_per_query, or refresh less often",
        )
    pure_eps = budget.epsilon / n
    window_rho = zcdp_rho(budget.epsilon, conversion_delta)
    rho = window_rho / n
    spends = []
    for r in releases:
        share = r.weight / total_w
        eps_r, rho_r = pure_eps * share, rho * share
        spends.append(
            ReleaseSpend(
                name=r.name,
                share=share,
                pure_epsilon=eps_r,
                pure_noise_sd=noise_sd(Mechanism.DISCRETE_LAPLACE, r.l1_sensitivity / eps_r),
                zcdp_rho=rho_r,
                zcdp_noise_sd=gaussian_sigma(rho_r, r.l2_sensitivity),
            )
        )
    return RefreshPlan(
        budget=budget,
        window=f"{window_days} days" + (" (rolling)" if rolling else " (calendar month)"),
        cadence=cadence,
        refreshes=n,
        selection_delta=selection_delta_per_refresh,
        pure_epsilon=pure_eps,
        zcdp_rho=rho,
        zcdp_window_rho=window_rho,
        zcdp_refresh_epsilon=zcdp_epsilon(rho, conversion_delta),
        conversion_delta=conversion_delta,
        releases=tuple(spends),
    )
