"""The budget ledger's plain data: budget windows, charge requests, recorded charges, amounts,
and the integer units the ledger stores them in (epsilon in units of 1e-9, delta in units of
1e-18, rho in units of 1e-12, so sums are exact; each amount is rounded to the nearest unit)."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from privacy_profile.dp.model import Mechanism, PrivacyLoss
from privacy_profile.errors import PrivacyParameterError

__all__ = [
    "DELTA_UNIT",
    "EPS_UNIT",
    "MAX_UNITS",
    "RHO_UNIT",
    "BudgetUsage",
    "BudgetWindow",
    "Charge",
    "ChargeRequest",
    "WindowKind",
    "ZcdpChargeRequest",
    "units",
]

EPS_UNIT = 10**9
DELTA_UNIT = 10**18
RHO_UNIT = 10**12
MAX_UNITS = 2**62


def units(value: float, unit: int) -> int:
    """``value`` in ledger units (rounded to the nearest); refuses what the store cannot hold."""
    n = round(value * unit)
    if n >= MAX_UNITS:
        raise PrivacyParameterError(f"{value:g} is too large for the ledger")
    return n


class WindowKind(enum.Enum):
    LIFETIME = "lifetime"  # one budget for the dataset, forever
    CALENDAR_MONTH = "calendar_month"  # the budget renews on the first of each month (UTC)
    ROLLING_DAYS = "rolling_days"  # charges of the last N days count


@dataclass(frozen=True, kw_only=True)
class BudgetWindow:
    """Which charges count against the budget."""

    kind: WindowKind
    days: int | None = None

    def __post_init__(self) -> None:
        if self.kind is WindowKind.ROLLING_DAYS:
            if isinstance(self.days, bool) or not isinstance(self.days, int) or self.days < 1:
                raise PrivacyParameterError("a rolling window needs days >= 1")
        elif self.days is not None:
            raise PrivacyParameterError(f"a {self.kind.value} window takes no days")

    @classmethod
    def lifetime(cls) -> BudgetWindow:
        return cls(kind=WindowKind.LIFETIME)

    @classmethod
    def calendar_month(cls) -> BudgetWindow:
        return cls(kind=WindowKind.CALENDAR_MONTH)

    @classmethod
    def rolling_days(cls, days: int) -> BudgetWindow:
        return cls(kind=WindowKind.ROLLING_DAYS, days=days)

    @property
    def spec(self) -> str:
        return self.kind.value if self.days is None else f"{self.kind.value}:{self.days}"

    def start(self, now: dt.datetime) -> dt.datetime | None:
        """Charges at or after this instant count (None: all of them)."""
        if self.kind is WindowKind.LIFETIME:
            return None
        if self.kind is WindowKind.CALENDAR_MONTH:
            return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        if self.days is None:
            raise PrivacyParameterError("a rolling budget window needs its number of days")
        return now - dt.timedelta(days=self.days)


@dataclass(frozen=True, kw_only=True)
class ChargeRequest:
    """One part of a release to charge: what will run, with which loss and sensitivity."""

    mechanism: Mechanism | str
    loss: PrivacyLoss
    sensitivity: float
    label: str


@dataclass(frozen=True, kw_only=True)
class ZcdpChargeRequest:
    """One zCDP part of a release to charge: rho-zCDP (rho > 0), no epsilon or delta of its
    own (the window's rho total is converted, see the module doc)."""

    mechanism: Mechanism | str
    rho: float
    sensitivity: float
    label: str


@dataclass(frozen=True, kw_only=True)
class Charge:
    """A recorded charge (plain data: the audit compares these with the lineage)."""

    charge_id: int
    dataset: str
    run_id: str
    mechanism: str
    label: str
    epsilon: float
    delta: float
    sensitivity: float
    charged_at: str
    rho: float = 0.0  # zCDP charges: their rho (epsilon and delta are then 0)


@dataclass(frozen=True, kw_only=True)
class BudgetUsage:
    """An amount of budget (spent or remaining); may be zero, unlike a PrivacyLoss."""

    epsilon: float
    delta: float
