"""``budget plan``: the refresh planner (:mod:`privacy_profile.dp.planner`) for a policy."""

from __future__ import annotations

from privacy_profile.dp.model import PrivacyLoss
from privacy_profile.dp.planner import Cadence, PlannedRelease, RefreshPlan, plan_refreshes
from privacy_profile.errors import PolicyError
from privacy_profile.policy.model import Policy, WindowKind

__all__ = ["plan_policy_refreshes"]

CALENDAR_MONTH_DAYS = 31  # the longest month: the plan must hold in every month


def _selects_privately(policy: Policy) -> bool:
    """Personas select values privately (and spend delta) for a dimension without a public
    value list (``tag_domains``; spending bands are public)."""
    seg = policy.segmentation
    if seg is None or seg.personas is None:
        return False
    public = set(seg.tag_domains) | {"spending_band"}
    return any(d not in public for d in seg.personas.dimensions)


def plan_policy_refreshes(policy: Policy, cadence: Cadence | str) -> RefreshPlan:
    """How much each refresh of ``policy``'s segmentation may spend at ``cadence`` so that its
    budget lasts the window; each release keeps its share of the policy's epsilons. Private
    selection (personas) reserves ``delta_per_query`` per refresh."""
    cad = Cadence(cadence) if isinstance(cadence, str) else cadence
    seg = policy.segmentation
    if seg is None or not seg.releases():
        raise PolicyError(
            f"policy {policy.name!r} declares no segmentation releases to plan",
            hint="add a segmentation section",
        )
    pv = policy.privacy
    w = pv.budget_window
    rolling = w.kind is WindowKind.ROLLING_DAYS
    days = w.days if rolling and w.days is not None else CALENDAR_MONTH_DAYS
    return plan_refreshes(
        budget=PrivacyLoss(epsilon=pv.epsilon_budget, delta=pv.delta_budget),
        window_days=days,
        rolling=rolling,
        cadence=cad,
        releases=[PlannedRelease(name=str(n), weight=e) for n, e in seg.releases().items()],
        selection_delta_per_refresh=pv.delta_per_query if _selects_privately(policy) else 0.0,
    )
