"""Differential-privacy core: privacy model, bounding, mechanisms, aggregations, budget ledger.

See docs/dp.md.
"""

from privacy_profile.dp.aggregate import AggregateResult, BudgetPlan, dp_aggregate, plan_budget
from privacy_profile.dp.blocks import (
    Released,
    dp_count,
    dp_histogram,
    dp_mean,
    dp_sum,
    dp_top_k,
)
from privacy_profile.dp.bounding import BoundedContributions, bound_contributions
from privacy_profile.dp.ledger import (
    BudgetLedger,
    BudgetUsage,
    BudgetWindow,
    Charge,
    ChargeRequest,
    WindowKind,
    ZcdpChargeRequest,
    read_charges,
)
from privacy_profile.dp.mechanisms import MechanismRecord, noise_scale
from privacy_profile.dp.model import (
    Aggregation,
    Bounds,
    Mechanism,
    MetricSpec,
    PrivacyLoss,
    PrivacyUnit,
    PrivateSelection,
    PublicGroups,
    ZcdpLoss,
)
from privacy_profile.dp.quantiles import QuantileResult, dp_quantiles
from privacy_profile.dp.rng import DPRandom

__all__ = [
    "AggregateResult",
    "Aggregation",
    "BoundedContributions",
    "Bounds",
    "BudgetLedger",
    "BudgetPlan",
    "BudgetUsage",
    "BudgetWindow",
    "Charge",
    "ChargeRequest",
    "DPRandom",
    "Mechanism",
    "MechanismRecord",
    "MetricSpec",
    "PrivacyLoss",
    "PrivacyUnit",
    "PrivateSelection",
    "PublicGroups",
    "QuantileResult",
    "Released",
    "WindowKind",
    "ZcdpChargeRequest",
    "ZcdpLoss",
    "bound_contributions",
    "dp_aggregate",
    "dp_count",
    "dp_histogram",
    "dp_mean",
    "dp_quantiles",
    "dp_sum",
    "dp_top_k",
    "noise_scale",
    "plan_budget",
    "read_charges",
]
