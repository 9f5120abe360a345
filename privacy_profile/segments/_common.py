"""Shared pieces: the release context, bilingual labels, and DP segment sizes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from privacy_profile.dp import (
    Aggregation,
    BudgetLedger,
    DPRandom,
    MechanismRecord,
    MetricSpec,
    PrivacyLoss,
    PrivacyUnit,
    PublicGroups,
    ZcdpLoss,
)
from privacy_profile.segments.units import UnitRows, unit_rows

__all__ = ["SEGMENT_COLUMNS", "ReleaseContext", "SegmentDef", "dp_segment_table", "epsilon_of"]

#: Columns every segments table starts with (metric columns follow).
SEGMENT_COLUMNS: tuple[str, ...] = (
    "family",
    "segment",
    "label",
    "label_zh",
    "label_en",
    "suppressed",
    "dp_size",
    "size_noise_sd",
    "size_ci_low",
    "size_ci_high",
    "epsilon",
)


@dataclass(frozen=True, kw_only=True)
class ReleaseContext:
    """The injected collaborators and public parameters every release needs."""

    ledger: BudgetLedger
    run_id: str
    rng: DPRandom
    unit_column: str
    threshold: int
    delta: float = 0.0
    zcdp: frozenset[str] = frozenset()  # release families accounted in zCDP

    def loss(self, family: str, epsilon: float) -> PrivacyLoss | ZcdpLoss:
        """The loss of a release of ``family`` with epsilon share ``epsilon``: pure, or under
        zCDP rho = epsilon^2 / 2 (see :meth:`ZcdpLoss.of_epsilon`)."""
        if family in self.zcdp:
            return ZcdpLoss.of_epsilon(epsilon)
        return PrivacyLoss(epsilon=epsilon)


def epsilon_of(loss: PrivacyLoss | ZcdpLoss) -> float:
    """The epsilon a segments table shows for ``loss``: its epsilon, or under zCDP the
    epsilon whose rho it is (sqrt(2 rho))."""
    return loss.epsilon if isinstance(loss, PrivacyLoss) else math.sqrt(2.0 * loss.rho)


@dataclass(frozen=True)
class SegmentDef:
    """One segment of a family: key and bilingual labels."""

    key: str
    label_zh: str
    label_en: str

    @property
    def label(self) -> str:
        return f"{self.label_zh} / {self.label_en}"


def dp_segment_table(
    units: pd.DataFrame | UnitRows,
    *,
    family: str,
    segments: Sequence[SegmentDef],
    segment_column: str,
    loss: PrivacyLoss | ZcdpLoss,
    ctx: ReleaseContext,
    metrics: Sequence[MetricSpec] = (),
    weights: dict[str, float] | None = None,
    label: str,
) -> tuple[pd.DataFrame, tuple[MechanismRecord, ...]]:
    """DP size (and means) per segment, one row per unit in ``units``; every public segment
    gets a row, those whose noisy size is below the threshold marked ``suppressed`` with no
    numbers. ``units`` may be kept by an engine (:class:`UnitRows`): its
    :meth:`~UnitRows.dp_aggregate` then aggregates where the rows are."""
    res = unit_rows(units).dp_aggregate(
        unit=PrivacyUnit.one_row_per_unit(ctx.unit_column),
        by=[segment_column],
        metrics=[MetricSpec(aggregation=Aggregation.PRIVACY_ID_COUNT), *metrics],
        loss=loss,
        ledger=ctx.ledger,
        run_id=ctx.run_id,
        groups=PublicGroups.of([s.key for s in segments]),
        threshold=ctx.threshold,
        rng=ctx.rng,
        weights=weights,
        label=label,
    )
    released = res.table.set_index(segment_column)
    rows = []
    for s in segments:
        row: dict[str, object] = {
            "family": family,
            "segment": s.key,
            "label": s.label,
            "label_zh": s.label_zh,
            "label_en": s.label_en,
            "suppressed": s.key not in released.index,
            "epsilon": epsilon_of(loss),
        }
        if s.key in released.index:
            r = released.loc[s.key]
            row.update(
                {
                    "dp_size": int(r["privacy_id_count"]),
                    "size_noise_sd": float(r["privacy_id_count_noise_sd"]),
                    "size_ci_low": max(float(r["privacy_id_count_low"]), 0.0),
                    "size_ci_high": float(r["privacy_id_count_high"]),
                }
            )
            for m in metrics:
                n = m.output_name
                row.update(
                    {
                        n: float(r[n]),
                        f"{n}_ci_low": float(r[f"{n}_low"]),
                        f"{n}_ci_high": float(r[f"{n}_high"]),
                    }
                )
        rows.append(row)
    table = pd.DataFrame(rows)
    for col in SEGMENT_COLUMNS:
        if col not in table.columns:
            table[col] = np.nan
    rest = [c for c in table.columns if c not in SEGMENT_COLUMNS]
    return table[[*SEGMENT_COLUMNS, *rest]], res.records
