"""The ledger side of ``audit verify``: read a run's charges and the budget row read-only, and
compare them with the lineage's DP mechanisms and the run log's ``ledger_state`` record."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from privacy_profile.dp.ledger import DELTA_UNIT as _DELTA_UNIT
from privacy_profile.dp.ledger import EPS_UNIT as _EPS_UNIT
from privacy_profile.dp.ledger import read_charges
from privacy_profile.dp.ledger_read import read_budget
from privacy_profile.errors import AuditError, InputError
from privacy_profile.lineage.runlog import RunLogRecord

__all__ = [
    "LEDGER_STATE_KIND",
    "ChargeLike",
    "LedgerCharge",
    "LedgerLike",
    "LedgerStateSource",
    "compare_dp",
    "compare_ledger_state",
    "ledger_state_payload",
    "read_ledger_budget",
    "read_ledger_charges",
]

LEDGER_STATE_KIND = "ledger_state"


@dataclass(frozen=True, kw_only=True)
class LedgerCharge:
    """The fields of a ledger charge the audit compares (duck-compatible with dp's Charge)."""

    run_id: str
    mechanism: str
    label: str
    epsilon: float
    delta: float
    sensitivity: float
    charge_id: int = 0
    charged_at: str = ""
    rho: float = 0.0


class ChargeLike(Protocol):
    """The fields of a charge the audit compares with the lineage."""

    @property
    def mechanism(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def epsilon(self) -> float: ...
    @property
    def delta(self) -> float: ...
    @property
    def sensitivity(self) -> float: ...
    @property
    def rho(self) -> float: ...


class LedgerLike(Protocol):
    """Anything with ``charges_for_run`` (``privacy_profile.dp.ledger.BudgetLedger``)."""

    def charges_for_run(self, run_id: str) -> Sequence[ChargeLike]: ...


def read_ledger_charges(
    ledger_path: str | Path, *, run_id: str, dataset: str | None = None
) -> list[LedgerCharge]:
    """Read a run's charges from the ledger file, read-only (no budget needed), through the
    ledger's own read API (:func:`privacy_profile.dp.ledger.read_charges`); pass ``ledger=`` to
    :func:`~privacy_profile.lineage.audit.verify_run` to use an open
    :class:`~privacy_profile.dp.ledger.BudgetLedger`."""
    try:
        charges = read_charges(ledger_path, run_id=run_id, dataset=dataset)
    except InputError as e:
        raise AuditError(e.message, hint=e.hint) from None
    return [
        LedgerCharge(
            run_id=c.run_id,
            mechanism=c.mechanism,
            label=c.label,
            epsilon=c.epsilon,
            delta=c.delta,
            sensitivity=float(c.sensitivity),
            charge_id=int(c.charge_id),
            charged_at=str(c.charged_at),
            rho=c.rho,
        )
        for c in charges
    ]


def read_ledger_budget(ledger_path: str | Path, dataset: str) -> dict[str, Any] | None:
    """The ledger's budget row for ``dataset`` (window, epsilon, delta), read-only, from a
    SQLite file or a ``postgresql://`` URL."""
    try:
        row = read_budget(ledger_path, dataset)
    except InputError as e:
        raise AuditError(e.message, hint=e.hint) from None
    if row is None:
        return None
    return {"window": row[0], "epsilon_units": row[1], "delta_units": row[2]}


class LedgerStateSource(Protocol):
    """What :func:`ledger_state_payload` reads (``privacy_profile.dp.BudgetLedger``)."""

    dataset: str

    @property
    def window(self) -> Any: ...
    @property
    def budget(self) -> Any: ...
    def charges_for_run(self, run_id: str) -> Sequence[Any]: ...


def ledger_state_payload(ledger: LedgerStateSource, run_id: str) -> dict[str, Any]:
    """The ledger rows of a run (ids, labels, losses, times) and the budget row, for the run
    log at completion: a later backdated ``charged_at`` or raised budget breaks the match."""
    return {
        "dataset": ledger.dataset,
        "budget": {
            "window": ledger.window.spec,
            "epsilon_units": round(ledger.budget.epsilon * _EPS_UNIT),
            "delta_units": round(ledger.budget.delta * _DELTA_UNIT),
        },
        "charges": [
            {"charge_id": int(c.charge_id), "label": str(c.label), "charged_at": str(c.charged_at)}
            for c in ledger.charges_for_run(run_id)
        ],
    }


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15)


def _fmt(m: tuple[str, str, float, float, float, float]) -> str:
    rho = f", rho={m[5]:g}" if m[5] else ""
    return f"label {m[0]!r} ({m[1]}, epsilon={m[2]:g}, delta={m[3]:g}, sensitivity={m[4]:g}{rho})"


def compare_dp(lineage: list[dict[str, Any]], charges: Sequence[ChargeLike]) -> None:
    """The lineage's DP mechanisms equal the ledger's charges (label, mechanism, epsilon, delta,
    sensitivity, rho), both ways; :class:`AuditError` naming the first mismatch."""
    want = sorted(
        (
            str(m["label"]),
            str(m["mechanism"]),
            m["epsilon"],
            m["delta"],
            m["sensitivity"],
            m.get("rho", 0.0),  # facet 1-0-0 has no rho (every charge was pure)
        )
        for m in lineage
    )
    have = sorted(
        (c.label, str(c.mechanism), c.epsilon, c.delta, c.sensitivity, c.rho) for c in charges
    )
    remaining = list(have)
    for w in want:
        for i, h in enumerate(remaining):
            if w[:2] == h[:2] and all(_close(x, y) for x, y in zip(w[2:], h[2:], strict=True)):
                del remaining[i]
                break
        else:
            same_label = [h for h in remaining if h[0] == w[0]]
            if same_label:
                raise AuditError(
                    f"ledger mismatch: the lineage records {_fmt(w)} but the ledger charged "
                    f"{_fmt(same_label[0])}"
                )
            raise AuditError(
                f"ledger mismatch: the lineage records {_fmt(w)} with no ledger charge"
            )
    if remaining:
        raise AuditError(
            f"ledger mismatch: the ledger charged {_fmt(remaining[0])} for this run, "
            "which the lineage does not record"
        )


def compare_ledger_state(
    rec: RunLogRecord, charges: Sequence[Any], ledger_path: str | Path | None
) -> None:
    """The run log's ledger_state (written at completion) against the ledger now."""
    recorded = {int(c["charge_id"]): c for c in rec.payload.get("charges", [])}
    for c in charges:
        cid = int(getattr(c, "charge_id", 0) or 0)
        want = recorded.get(cid)
        if want is None or str(want["charged_at"]) != str(getattr(c, "charged_at", "")):
            raise AuditError(
                f"ledger charge {cid} ({c.label!r}): its time {getattr(c, 'charged_at', '')} "
                f"differs from {want['charged_at'] if want else 'nothing'} recorded in run log "
                f"seq {rec.seq} (the ledger row was edited, e.g. backdated)"
            )
    if ledger_path is not None:
        dataset = str(rec.payload.get("dataset", ""))
        budget = read_ledger_budget(ledger_path, dataset)
        if budget != rec.payload.get("budget"):
            raise AuditError(
                f"ledger {ledger_path}: the budget row of dataset {dataset!r} is {budget}, the "
                f"run log seq {rec.seq} recorded {rec.payload.get('budget')} (the budget was "
                "edited)"
            )
