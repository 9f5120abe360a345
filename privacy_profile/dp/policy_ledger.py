"""The budget ledger a policy declares: open it, name its window, and describe its state.

:func:`open_ledger` builds the :class:`~privacy_profile.dp.BudgetLedger` (a SQLite file or a
PostgreSQL URL) for the policy's
``privacy`` section (dataset, epsilon and delta budget, window); :func:`budget_status` is the
plain-text account ``privacy-profile budget show`` prints.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from pathlib import Path

from privacy_profile._paths import check_ledger_path
from privacy_profile.dp.ledger import BudgetLedger, BudgetUsage, BudgetWindow
from privacy_profile.dp.ledger_store import is_database_url
from privacy_profile.dp.model import PrivacyLoss
from privacy_profile.errors import BudgetExceededError, InputError
from privacy_profile.policy.model import Policy, WindowKind
from privacy_profile.policy.segmentation import SegmentationSpec

__all__ = [
    "budget_status",
    "budget_window",
    "ledger_lease",
    "open_ledger",
    "releases_cost",
    "run_loss",
    "run_reservation",
    "run_rho",
    "window_spec",
]

_ONE_UNIT = 1e-9  # the ledger's epsilon unit


def window_spec(policy: Policy) -> str:
    """The policy's budget window as lineage records it: ``rolling_days:N`` or
    ``calendar_month``."""
    w = policy.privacy.budget_window
    return f"rolling_days:{w.days}" if w.kind is WindowKind.ROLLING_DAYS else "calendar_month"


def budget_window(policy: Policy) -> BudgetWindow:
    """The ledger's window for the policy's declared ``privacy.budget_window`` (the one window
    type; the policy only declares it)."""
    w = policy.privacy.budget_window
    if w.kind is WindowKind.ROLLING_DAYS and w.days is not None:
        return BudgetWindow.rolling_days(w.days)
    return BudgetWindow.calendar_month()


def ledger_lease(policy: Policy) -> dt.timedelta:
    """The lease of a run's budget reservation the policy declares
    (``privacy.ledger_lease_seconds``, 300 s unless set)."""
    return dt.timedelta(seconds=policy.privacy.ledger_lease_seconds)


def open_ledger(
    path: str | Path, policy: Policy, *, lease: dt.timedelta | None = None
) -> BudgetLedger:
    """Open (or create) the budget ledger for the policy's dataset, budget and window: a SQLite
    file, or a shared PostgreSQL database for a ``postgresql://user@host:port/db`` URL (the
    password from ``PGPASSWORD`` or ``~/.pgpass``, never in the URL).

    Its reservations are leases of ``lease`` when given (the CLI's ``--ledger-lease``), else of
    the policy's ``privacy.ledger_lease_seconds`` (:func:`ledger_lease`); at least 1 second."""
    pv = policy.privacy
    return BudgetLedger.open(
        str(path) if is_database_url(path) else check_ledger_path(path),
        dataset=pv.budget_dataset,
        budget=PrivacyLoss(epsilon=pv.epsilon_budget, delta=pv.delta_budget),
        window=budget_window(policy),
        lease=ledger_lease(policy) if lease is None else lease,
    )


def budget_status(path: str | Path, policy: Policy) -> str:
    """A plain-text account of the ledger: budget, spent and left in the window."""
    if not is_database_url(path) and not Path(path).is_file():
        raise InputError(f"no budget ledger at {path}", hint="give the --ledger a run used")
    with open_ledger(path, policy) as ledger:
        spent, left = ledger.spent(), ledger.remaining()
        pv = policy.privacy
        lines = [
            f"dataset {pv.budget_dataset} ({window_spec(policy)}): "
            f"epsilon budget {pv.epsilon_budget:g}, delta budget {pv.delta_budget:g}",
            f"spent in the window: epsilon {spent.epsilon:.4g}, delta {spent.delta:.3g}",
            f"left: epsilon {left.epsilon:.4g}, delta {left.delta:.3g}",
        ]
        held = ledger.reserved()
        if held.epsilon or held.delta:
            lines.append(
                f"of which reserved by runs in progress: epsilon {held.epsilon:.4g}, "
                f"delta {held.delta:.3g}"
            )
    return "\n".join(lines)


def _shares(policy: Policy, spec: SegmentationSpec) -> list[tuple[str, float]]:
    """(family, epsilon share) of every release of a run, segments then analyses."""
    out = [(rid.family.value, eps) for rid, eps in spec.releases().items()]
    if policy.analytics is not None:
        out.extend(policy.analytics.releases().items())
    return out


def releases_cost(
    ledger: BudgetLedger, policy: Policy, shares: Iterable[tuple[str, float]]
) -> BudgetUsage:
    """What releases given as (family, epsilon share) would add to the window's spend now:
    a pure release its epsilon, a zCDP one its rho = epsilon^2 / 2 through the conversion (the
    budget pre-checks of the segment and analytics stages compare this with what is left)."""
    pv = policy.privacy
    items = list(shares)
    pure = math.fsum(eps for fam, eps in items if not pv.is_zcdp(fam))
    rho = math.fsum(eps * eps / 2.0 for fam, eps in items if pv.is_zcdp(fam))
    return ledger.cost(epsilon=pure, rho=rho)


def run_loss(policy: Policy, spec: SegmentationSpec) -> BudgetUsage:
    """The pure part of what a run will charge at most: the sum of the epsilon shares of its
    pure releases (segments and, when the policy declares them, the marketing analyses), and
    the policy's ``delta_per_query`` when pure personas may select groups privately (their
    only delta). Releases of zCDP families are in :func:`run_rho` instead (a run whose
    families are all zCDP has a pure loss of zero)."""
    pv = policy.privacy
    epsilon = sum(eps for fam, eps in _shares(policy, spec) if not pv.is_zcdp(fam))
    personas_pure = spec.personas is not None and not pv.is_zcdp("personas")
    delta = pv.delta_per_query if personas_pure else 0.0
    return BudgetUsage(epsilon=epsilon, delta=delta)


def run_rho(policy: Policy, spec: SegmentationSpec) -> float:
    """The rho a run's zCDP releases charge: epsilon^2 / 2 per release of a zCDP family (each
    rule segment is one release), split inside the release by its weights."""
    pv = policy.privacy
    return math.fsum(eps * eps / 2.0 for fam, eps in _shares(policy, spec) if pv.is_zcdp(fam))


def run_reservation(ledger: BudgetLedger, policy: Policy, spec: SegmentationSpec) -> PrivacyLoss:
    """What a run reserves before computing anything: its pure loss (:func:`run_loss`) plus
    the (epsilon, delta) its rho (:func:`run_rho`) adds to the window's conversion now (the
    first zCDP charge of a window takes all the delta the pure charges leave, see
    :mod:`privacy_profile.dp.ledger`). Without zCDP charges in the run or the window this is
    :func:`run_loss`; with zCDP charges in the window a pure run's delta costs no delta but
    raises the conversion's epsilon, and that is what it reserves."""
    pure, rho = run_loss(policy, spec), run_rho(policy, spec)
    cost = ledger.cost(epsilon=pure.epsilon, delta=pure.delta, rho=rho)
    pv = policy.privacy
    if cost.epsilon > pv.epsilon_budget or cost.delta > pv.delta_budget:
        raise BudgetExceededError(
            f"privacy budget of dataset {pv.budget_dataset!r} cannot cover the run: its pure "
            f"releases need epsilon={pure.epsilon:g}, delta={pure.delta:g} and its zCDP "
            f"releases rho={rho:g}, which with the window's charges cost epsilon="
            f"{cost.epsilon:.4g}, delta={cost.delta:.3g} (budget epsilon={pv.epsilon_budget:g}, "
            f"delta={pv.delta_budget:g}). The run was refused before computing: nothing was "
            "computed, charged or released.",
            hint="wait for the budget window to renew, or lower the releases' epsilons",
        )
    # a reservation is a PrivacyLoss (epsilon > 0): a run without releases reserves one unit
    return PrivacyLoss(epsilon=max(cost.epsilon, _ONE_UNIT), delta=cost.delta)
