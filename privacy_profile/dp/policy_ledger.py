"""The budget ledger a policy declares: open it, name its window, and describe its state.

:func:`open_ledger` builds the :class:`~privacy_profile.dp.BudgetLedger` (a SQLite file or a
PostgreSQL URL) for the policy's
``privacy`` section (dataset, epsilon and delta budget, window); :func:`budget_status` is the
plain-text account ``privacy-profile budget show`` prints.
"""

from __future__ import annotations

from pathlib import Path

from privacy_profile._paths import check_ledger_path
from privacy_profile.dp.ledger import BudgetLedger, BudgetWindow
from privacy_profile.dp.ledger_store import is_database_url
from privacy_profile.dp.model import PrivacyLoss
from privacy_profile.errors import InputError
from privacy_profile.policy.model import Policy, WindowKind
from privacy_profile.policy.segmentation import SegmentationSpec

__all__ = ["budget_status", "budget_window", "open_ledger", "run_loss", "window_spec"]


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


def open_ledger(path: str | Path, policy: Policy) -> BudgetLedger:
    """Open (or create) the budget ledger for the policy's dataset, budget and window: a SQLite
    file, or a shared PostgreSQL database for a ``postgresql://user@host:port/db`` URL (the
    password from ``PGPASSWORD`` or ``~/.pgpass``, never in the URL)."""
    pv = policy.privacy
    return BudgetLedger.open(
        str(path) if is_database_url(path) else check_ledger_path(path),
        dataset=pv.budget_dataset,
        budget=PrivacyLoss(epsilon=pv.epsilon_budget, delta=pv.delta_budget),
        window=budget_window(policy),
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


def run_loss(policy: Policy, spec: SegmentationSpec) -> PrivacyLoss:
    """What a run will charge at most: the sum of its releases' epsilon shares (segments and,
    when the policy declares them, the marketing analyses), and the policy's
    ``delta_per_query`` when personas may select groups privately (their only delta)."""
    epsilon = sum(spec.releases().values())
    if policy.analytics is not None:
        epsilon += sum(policy.analytics.releases().values())
    delta = policy.privacy.delta_per_query if spec.personas is not None else 0.0
    return PrivacyLoss(epsilon=epsilon, delta=delta)
