"""The releases the auditor checks, each with neighbours that differ by one maximal unit."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from _auditor import AuditCase

from privacy_profile.dp import (
    Aggregation,
    Bounds,
    BudgetLedger,
    BudgetWindow,
    DPRandom,
    MetricSpec,
    PrivacyLoss,
    PrivacyUnit,
    PrivateSelection,
    PublicGroups,
    ZcdpLoss,
    dp_aggregate,
    dp_quantiles,
    dp_sum,
    dp_top_k,
)
from privacy_profile.dp.zcdp import zcdp_epsilon

EPS = 1.0


_POOL: list[tuple[int, BudgetLedger]] = []


def _ledger() -> BudgetLedger:
    """An in-memory ledger; a fresh one every 20 releases (the audit spends far more delta
    than any budget may hold, and a short ledger keeps its window sums cheap)."""
    if not _POOL or _POOL[0][0] >= 20:
        _POOL[:] = [
            (
                0,
                BudgetLedger.in_memory(
                    dataset="audit",
                    budget=PrivacyLoss(epsilon=1e6, delta=0.5),
                    window=BudgetWindow.lifetime(),
                ),
            )
        ]
    used, ledger = _POOL[0]
    _POOL[0] = (used + 1, ledger)
    return ledger


def _per_group(
    name: str,
    metric: MetricSpec | None,
    base_rows: pd.DataFrame,
    extra_rows: pd.DataFrame,
    unit: PrivacyUnit,
    groups: int = 400,
    loss: PrivacyLoss | ZcdpLoss | None = None,
    claim: tuple[float, float] = (EPS, 0.0),
) -> AuditCase:
    """A per-group release audited with ``groups`` independent trials per run: every public
    group holds its own copy of ``base_rows`` (units renamed per group); on D' each group also
    holds its own copy of the maximal unit ``extra_rows``."""
    reps = []
    for nb in (False, True):
        parts = []
        for j in range(groups):
            rows = pd.concat([base_rows, extra_rows]) if nb else base_rows
            parts.append(rows.assign(u=rows.u.astype(str) + f"@{j}", g=j))
        reps.append(pd.concat(parts, ignore_index=True))
    keys = PublicGroups.of(list(range(groups)))
    col = "privacy_id_count" if metric is None else metric.output_name

    def run(nb: bool, rng: DPRandom) -> np.ndarray:
        res = dp_aggregate(
            reps[nb],
            unit=unit,
            by=["g"],
            metrics=[] if metric is None else [metric],
            loss=PrivacyLoss(epsilon=EPS) if loss is None else loss,
            ledger=_ledger(),
            run_id="a",
            groups=keys,
            threshold=0,
            rng=rng,
        )
        return res.table[col].to_numpy(dtype=np.float64)

    return AuditCase(name=name, epsilon=claim[0], delta=claim[1], run=run)


_B = Bounds(lower=0.0, upper=100.0)
_UNIT = PrivacyUnit(column="u", max_groups_contributed=1, max_rows_per_group=3)
_BASE = pd.DataFrame({"u": np.repeat(np.arange(10), 2), "v": 50.0})
# the maximal unit: the row cap of rows, each at the upper bound
_EXTRA = pd.DataFrame({"u": [99] * 3, "v": 100.0})


def count_case() -> AuditCase:
    """Distinct-unit count per group (dp_count is this with one group)."""
    return _per_group("count", None, _BASE, _EXTRA, _UNIT)


ZCDP_RHO = 0.5  # sigma = 1 for a count of L2 sensitivity 1
ZCDP_DELTA = 1e-3  # the delta the zCDP claim is converted at


def zcdp_count_case(rho: float = ZCDP_RHO) -> AuditCase:
    """Distinct-unit count per group under rho-zCDP (discrete Gaussian), claimed as the
    (epsilon, delta) of its conversion at ZCDP_DELTA (CKS 2020)."""
    claim = (zcdp_epsilon(rho, ZCDP_DELTA), ZCDP_DELTA)
    return _per_group(
        "zcdp_count", None, _BASE, _EXTRA, _UNIT, loss=ZcdpLoss(rho=ZCDP_RHO), claim=claim
    )


def sum_case() -> AuditCase:
    m = MetricSpec(aggregation=Aggregation.SUM, column="v", bounds=_B, name="s")
    return _per_group("sum", m, _BASE, _EXTRA, _UNIT)


def mean_case() -> AuditCase:
    m = MetricSpec(aggregation=Aggregation.MEAN, column="v", bounds=_B, name="m")
    return _per_group("mean", m, _BASE, _EXTRA, _UNIT)


def one_row_sum_case() -> AuditCase:
    """dp_sum itself (one row per unit, one public group), one trial per run."""
    base = np.full(20, 50.0)

    def run(nb: bool, rng: DPRandom) -> float:
        v = np.append(base, 100.0) if nb else base
        res = dp_sum(
            v, bounds=_B, loss=PrivacyLoss(epsilon=EPS), ledger=_ledger(), run_id="a", rng=rng
        )
        return res.value

    return AuditCase(name="dp_sum", epsilon=EPS, delta=0.0, run=run)


def quantile_case() -> AuditCase:
    base = np.linspace(0.0, 40.0, 9)

    def run(nb: bool, rng: DPRandom) -> float:
        v = np.append(base, 100.0) if nb else base
        res = dp_quantiles(
            v,
            bounds=_B,
            quantiles=[0.5],
            loss=PrivacyLoss(epsilon=EPS),
            ledger=_ledger(),
            run_id="a",
            rng=rng,
        )
        return res.values[0]

    return AuditCase(name="quantile", epsilon=EPS, delta=0.0, run=run)


def top_k_case() -> AuditCase:
    # three categories; the extra unit touches two of them (the cap), both trailing "a"
    unit = PrivacyUnit(column="u", max_groups_contributed=2, max_rows_per_group=1)
    base = pd.DataFrame({"u": np.arange(9), "c": ["a"] * 4 + ["b"] * 3 + ["c"] * 2})
    plus = pd.concat([base, pd.DataFrame({"u": [99, 99], "c": ["b", "c"]})], ignore_index=True)

    def run(nb: bool, rng: DPRandom) -> float:
        res = dp_top_k(
            plus if nb else base,
            unit=unit,
            column="c",
            categories=["a", "b", "c"],
            k=1,
            loss=PrivacyLoss(epsilon=EPS),
            ledger=_ledger(),
            run_id="a",
            threshold=0,
            rng=rng,
        )
        return float(res.table.c.iloc[0] == "b")

    return AuditCase(name="top_k", epsilon=EPS, delta=0.0, run=run)


def selection_case(g: int = 200, delta: float = 1e-2) -> Callable[[], AuditCase]:
    """Issue 13's pair: D' = D plus one user with ``g`` one-row groups of new keys (the cap is
    one group per user). Statistic: 1 when some key of that user is released."""

    def make() -> AuditCase:
        unit = PrivacyUnit(column="u", max_groups_contributed=1, max_rows_per_group=1)
        base = pd.DataFrame({"u": np.arange(60), "k": "old"})
        extra = pd.DataFrame({"u": 10_000, "k": [f"new{i}" for i in range(g)]})
        plus = pd.concat([base, extra], ignore_index=True)

        def run(nb: bool, rng: DPRandom) -> float:
            res = dp_aggregate(
                plus if nb else base,
                unit=unit,
                by=["k"],
                metrics=[],
                loss=PrivacyLoss(epsilon=EPS, delta=delta),
                ledger=_ledger(),
                run_id="a",
                groups=PrivateSelection(),
                threshold=0,
                rng=rng,
            )
            return float(res.table.k.str.startswith("new").any())

        return AuditCase(name=f"selection_g{g}", epsilon=EPS, delta=delta, run=run)

    return make


def selection_count_case() -> AuditCase:
    """Private selection on an existing group: the released noisy count (or -1 if the group
    is not released) with one more unit in it."""
    unit = PrivacyUnit(column="u", max_groups_contributed=1, max_rows_per_group=1)
    base = pd.DataFrame({"u": np.arange(12), "k": "g"})
    plus = pd.concat([base, pd.DataFrame({"u": [99], "k": ["g"]})], ignore_index=True)

    def run(nb: bool, rng: DPRandom) -> float:
        res = dp_aggregate(
            plus if nb else base,
            unit=unit,
            by=["k"],
            metrics=[],
            loss=PrivacyLoss(epsilon=EPS, delta=1e-2),
            ledger=_ledger(),
            run_id="a",
            groups=PrivateSelection(),
            threshold=0,
            rng=rng,
        )
        t = res.table
        return float(t.privacy_id_count.iloc[0]) if len(t) else -1.0

    return AuditCase(name="selection_count", epsilon=EPS, delta=1e-2, run=run)


def kmeans_step_case() -> AuditCase:
    """One DP Lloyd iteration (k = 2, d = 2); the extra unit sits at a corner of the cube."""
    from privacy_profile.segments._common import ReleaseContext
    from privacy_profile.segments.kmeans import fit_dp_lloyd

    g = np.random.default_rng(0)
    base = np.clip(
        np.concatenate([g.normal(0.3, 0.05, (10, 2)), g.normal(0.7, 0.05, (10, 2))]), 0, 1
    )
    plus = np.vstack([base, [[1.0, 1.0]]])
    starts = np.array([[0.25, 0.25], [0.75, 0.75]])

    def run(nb: bool, rng: DPRandom) -> float:
        ctx = ReleaseContext(ledger=_ledger(), run_id="a", rng=rng, unit_column="u", threshold=0)
        centers, _ = fit_dp_lloyd(
            plus if nb else base,
            k=2,
            loss=PrivacyLoss(epsilon=EPS),
            iterations=1,
            ctx=ctx,
            init_centers=starts,
        )
        return float(centers[1, 0])

    return AuditCase(name="kmeans_step", epsilon=EPS, delta=0.0, run=run)


FAST_CASES: list[Callable[[], AuditCase]] = [
    count_case,
    zcdp_count_case,
    sum_case,
    mean_case,
    one_row_sum_case,
    quantile_case,
    top_k_case,
    selection_case(),
    selection_count_case,
    kmeans_step_case,
]
