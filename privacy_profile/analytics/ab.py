"""DP A/B read-outs: per arm exposed users, converters, conversion rate and revenue per user,
and each variant against the control with intervals for sampling *and* DP noise.

Privacy unit: the pseudonymous user of ``privacy.unit_column``. A user is in one arm (the arm
of their first exposure to the campaign) and contributes, to that arm only: 1 exposed user,
at most 1 converter (any outcome within ``window`` after the exposure), and their outcome value
in that window clamped to the public ``revenue_bounds``. Under adding or removing one user the
L1 sensitivities are 1, 1 and max(|lower|, |upper|). The loss is split over the three parts by
``weights``; counts get discrete Laplace noise, the revenue sum Laplace noise.

Inference (normal approximation, 95%): for arm a with noisy n_a, c_a, p_a = c_a / n_a,
``Var(p_a) = p_a (1 - p_a) / n_a + (Var(noise_c) + p_a^2 Var(noise_n)) / n_a^2`` (sampling plus
noise, delta method). Difference and relative lift against the control use the sum of the two
arms' variances (lift by the delta method); the test is a two-sided z-test on the difference
with that variance, so DP noise widens it instead of inflating false positives. Revenue per
user uses Popoviciu's bound ``(upper - lower)^2 / 4`` for the per-user variance (conservative:
the true variance is not released).

:func:`minimum_detectable_effect` answers before a test whether it can be read at the
policy's epsilon and the planned arm sizes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from privacy_profile.analytics._common import (
    AnalysisPrivacy,
    NoisyPart,
    add_part_noise,
    charge,
    check_columns,
    plan_parts,
    z_value,
)
from privacy_profile.analytics.funnel import _times_ns
from privacy_profile.dp import mechanisms as _mech
from privacy_profile.dp.ledger import BudgetLedger, Charge
from privacy_profile.dp.mechanisms import MechanismRecord
from privacy_profile.dp.model import Bounds, Mechanism, PrivacyLoss
from privacy_profile.dp.rng import DPRandom
from privacy_profile.errors import InputError, PrivacyParameterError

__all__ = [
    "ABParams",
    "ABResult",
    "MinimumDetectableEffect",
    "UserArms",
    "ab_per_user",
    "ab_truth",
    "dp_ab_from_users",
    "dp_ab_readout",
    "minimum_detectable_effect",
    "user_arms",
]

PARTS = ("exposed", "converters", "revenue")


@dataclass(frozen=True, kw_only=True)
class ABParams:
    """One experiment: which exposures, arms and outcomes, and the public revenue bounds.

    ``exposure_*``: columns of the exposure (send) table: arm, time and, when the table holds
    several campaigns, ``campaign_column`` with the ``campaign`` to read.
    ``outcome_*``: columns of the outcome table (time, value; ``campaign_column`` again when
    outcomes are tagged by campaign). ``arms``: the public arm values (``control`` among them).
    ``revenue_bounds``: public bounds of one user's outcome value within the window.
    ``weights``: budget weights of (exposed, converters, revenue).
    """

    arm_column: str
    exposure_time_column: str
    outcome_time_column: str
    outcome_value_column: str
    arms: tuple[str, ...]
    control: str
    window: dt.timedelta
    revenue_bounds: Bounds
    campaign_column: str | None = None
    campaign: Hashable | None = None
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        arms = tuple(self.arms)
        if len(arms) < 2 or len(set(arms)) != len(arms) or self.control not in arms:
            raise PrivacyParameterError(
                f"an A/B read-out needs two or more distinct arms including the control "
                f"{self.control!r}, got {list(arms)}",
                hint="list the arms in the policy and name the control arm",
            )
        object.__setattr__(self, "arms", arms)
        if not isinstance(self.window, dt.timedelta) or self.window <= dt.timedelta(0):
            raise PrivacyParameterError("the conversion window must be a positive duration")
        if not isinstance(self.revenue_bounds, Bounds):
            raise PrivacyParameterError(
                "revenue_bounds must be public Bounds from the policy (never from the data)"
            )
        if (self.campaign_column is None) != (self.campaign is None):
            raise PrivacyParameterError("give both campaign_column and campaign, or neither")
        if len(self.weights) != 3 or any(not (w > 0 and math.isfinite(w)) for w in self.weights):
            raise PrivacyParameterError("weights must be three positive numbers")

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(a for a in sorted(self.arms) if a != self.control)


@dataclass(frozen=True, kw_only=True)
class ABResult:
    """``arms``: one row per arm in sorted order (``arm``, ``exposed``, ``converters``,
    ``conversion_rate`` with ``_low/_high``, ``revenue_per_user`` with ``_low/_high``, noise
    standard deviations). ``comparisons``: one row per variant against the control
    (``difference``, ``lift`` with ``_low/_high``, ``z``, ``p_value``, ``significant``)."""

    arms: pd.DataFrame
    comparisons: pd.DataFrame
    records: tuple[MechanismRecord, ...]
    charges: tuple[Charge, ...]


@dataclass(frozen=True, kw_only=True)
class UserArms:
    """Each exposed user's contribution, one entry per user (in no particular order): the
    arm (index into the sorted arms), whether they converted, their revenue in the window
    (clamped to the public bounds). Not private: the true input of the DP release."""

    arm: npt.NDArray[np.int64]  # index into sorted arms, per user
    converted: npt.NDArray[np.bool_]
    revenue: npt.NDArray[np.float64]


def ab_per_user(
    exposures: pd.DataFrame, outcomes: pd.DataFrame, params: ABParams, unit: str
) -> UserArms:
    """Each exposed user's arm, conversion and clamped revenue (see the module doc)."""
    cols = [unit, params.arm_column, params.exposure_time_column]
    if params.campaign_column is not None:
        cols.append(params.campaign_column)
    check_columns(exposures, cols, table="exposure")
    ocols = [unit, params.outcome_time_column, params.outcome_value_column]
    if params.campaign_column is not None and params.campaign_column in outcomes.columns:
        ocols.append(params.campaign_column)
    check_columns(outcomes, ocols, table="outcome")
    ex = exposures
    if params.campaign_column is not None:
        ex = ex[ex[params.campaign_column] == params.campaign]
        if params.campaign_column in outcomes.columns:
            outcomes = outcomes[outcomes[params.campaign_column] == params.campaign]
    arms = sorted(params.arms)
    arm_index = {a: i for i, a in enumerate(arms)}
    arm = ex[params.arm_column].astype("string").map(arm_index)
    ex = pd.DataFrame(
        {
            "u": ex[unit].to_numpy(),
            "arm": arm.to_numpy(dtype=np.float64, na_value=np.nan),
            "t": _times_ns(
                ex[params.exposure_time_column], "exposure", params.exposure_time_column
            ),
        }
    )
    ex = ex[ex["arm"].notna()]  # exposures to an arm the policy does not list are not read
    first = ex.sort_values(["t", "arm"], kind="stable").drop_duplicates("u", keep="first")
    first = first.set_index("u")
    out = pd.DataFrame(
        {
            "u": outcomes[unit].to_numpy(),
            "t": _times_ns(
                outcomes[params.outcome_time_column], "outcome", params.outcome_time_column
            ),
            "v": outcomes[params.outcome_value_column].to_numpy(dtype=np.float64, na_value=np.nan),
        }
    )
    if out["v"].isna().any():
        raise InputError(f"the outcome column {params.outcome_value_column!r} has missing values")
    out = out[out["u"].isin(first.index)]
    t0 = first["t"].reindex(out["u"]).to_numpy()
    window = int(params.window.total_seconds() * 1e9)
    inside = (out["t"].to_numpy() >= t0) & (out["t"].to_numpy() <= t0 + window)
    per = out[inside].groupby("u")["v"].agg(["size", "sum"])
    per = per.reindex(first.index)
    return user_arms(
        first["arm"].to_numpy().astype(np.int64),
        per["size"].fillna(0).to_numpy(),
        per["sum"].fillna(0.0).to_numpy(dtype=np.float64),
        params,
    )


def user_arms(
    arm: npt.NDArray[np.int64],
    outcomes: npt.NDArray[Any],
    total: npt.NDArray[np.float64],
    params: ABParams,
) -> UserArms:
    """Each user's contribution from their arm, number of outcomes in the window and their
    total value (one entry per exposed user, from either engine's reduction): converted when
    any outcome, revenue clamped to the public bounds."""
    b = params.revenue_bounds
    return UserArms(
        arm=np.asarray(arm, dtype=np.int64),
        converted=np.asarray(outcomes) > 0,
        revenue=np.clip(np.asarray(total, dtype=np.float64), b.lower, b.upper),
    )


def ab_truth(
    exposures: pd.DataFrame, outcomes: pd.DataFrame, params: ABParams, unit_column: str
) -> pd.DataFrame:
    """The non-private per-arm figures (for tests and benchmarks; never released)."""
    u = ab_per_user(exposures, outcomes, params, unit_column)
    k = len(params.arms)
    n = np.bincount(u.arm, minlength=k)
    c = np.bincount(u.arm, weights=u.converted.astype(np.float64), minlength=k)
    r = np.bincount(u.arm, weights=u.revenue, minlength=k)
    return pd.DataFrame({"arm": sorted(params.arms), "exposed": n, "converters": c, "revenue": r})


def dp_ab_readout(
    exposures: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    params: ABParams,
    privacy: AnalysisPrivacy,
    ledger: BudgetLedger,
    run_id: str,
    rng: DPRandom | None = None,
    label: str = "analytics/ab",
) -> ABResult:
    """Release a DP A/B read-out (see the module doc). Charged before any noise."""
    unit = privacy.unit_column
    check_columns(exposures, [unit, params.arm_column], table="exposure")
    # the per-user figures first: a malformed table fails here, before any charge
    users = ab_per_user(exposures, outcomes, params, unit)
    return dp_ab_from_users(
        users, params=params, privacy=privacy, ledger=ledger, run_id=run_id, rng=rng, label=label
    )


def dp_ab_from_users(
    users: UserArms,
    *,
    params: ABParams,
    privacy: AnalysisPrivacy,
    ledger: BudgetLedger,
    run_id: str,
    rng: DPRandom | None = None,
    label: str = "analytics/ab",
) -> ABResult:
    """The DP step of :func:`dp_ab_readout`: release the read-out of the per-user figures
    :func:`ab_per_user` gives (whichever engine computed them)."""
    b = params.revenue_bounds
    rev_sens = max(abs(b.lower), abs(b.upper))
    plans = plan_parts(
        privacy.loss,
        [
            ("exposed", Mechanism.DISCRETE_LAPLACE, 1.0, params.weights[0]),
            ("converters", Mechanism.DISCRETE_LAPLACE, 1.0, params.weights[1]),
            ("revenue", Mechanism.DISCRETE_LAPLACE_GRID, rev_sens, params.weights[2]),
        ],
        grids={"revenue": rev_sens},
    )
    k = len(params.arms)
    u = users
    n = u.arm.shape[0]
    if (
        u.converted.shape != (n,)
        or u.revenue.shape != (n,)
        or ((u.arm < 0) | (u.arm >= k)).any()
        or ((u.revenue < b.lower) | (u.revenue > b.upper)).any()
    ):
        raise PrivacyParameterError(
            "per-user A/B figures must give each user an arm index and a clamped revenue",
            hint="compute them with ab_per_user",
        )
    charges = charge(ledger, run_id, label, plans)
    rng = rng if rng is not None else DPRandom()
    truths = {
        "exposed": np.bincount(u.arm, minlength=k).astype(np.int64),
        "converters": np.bincount(u.arm, weights=u.converted.astype(np.float64), minlength=k),
        "revenue": np.bincount(u.arm, weights=plans[2].units(u.revenue), minlength=k),
    }
    noisy, records = add_part_noise(plans, truths, rng, label)
    arms_table = _arms_table(noisy, params, privacy)
    return ABResult(
        arms=arms_table,
        comparisons=_comparisons(arms_table, params),
        records=records,
        charges=charges,
    )


def _arms_table(
    parts: dict[str, NoisyPart], params: ABParams, privacy: AnalysisPrivacy
) -> pd.DataFrame:
    n = parts["exposed"].values.astype(np.float64)
    c = parts["converters"].values.astype(np.float64)
    s = parts["revenue"].values.astype(np.float64)
    vn, vc, vs = (parts[p].plan.variance for p in PARTS)
    n_pos = np.maximum(n, 1.0)
    p = np.clip(c / n_pos, 0.0, 1.0)
    var_p = p * (1 - p) / n_pos + (vc + p**2 * vn) / n_pos**2
    b = params.revenue_bounds
    rpu = np.clip(s / n_pos, b.lower, b.upper)
    var_r = (b.upper - b.lower) ** 2 / 4.0 / n_pos + (vs + rpu**2 * vn) / n_pos**2
    z = z_value()
    se_p, se_r = np.sqrt(var_p), np.sqrt(var_r)
    return pd.DataFrame(
        {
            "arm": sorted(params.arms),
            "exposed": n,
            "exposed_noise_sd": math.sqrt(vn),
            "converters": c,
            "converters_noise_sd": math.sqrt(vc),
            "conversion_rate": p,
            "conversion_rate_se": se_p,
            "conversion_rate_low": np.clip(p - z * se_p, 0.0, 1.0),
            "conversion_rate_high": np.clip(p + z * se_p, 0.0, 1.0),
            "revenue_per_user": rpu,
            "revenue_per_user_se": se_r,
            "revenue_per_user_low": rpu - z * se_r,
            "revenue_per_user_high": rpu + z * se_r,
            "below_threshold": n < privacy.threshold,
        }
    )


def _comparisons(arms: pd.DataFrame, params: ABParams) -> pd.DataFrame:
    z = z_value()
    a = arms.set_index("arm")
    ctl = a.loc[params.control]
    rows = []
    for v in params.variants:
        t = a.loc[v]
        pc, pt = float(ctl["conversion_rate"]), float(t["conversion_rate"])
        vc, vt = float(ctl["conversion_rate_se"]) ** 2, float(t["conversion_rate_se"]) ** 2
        diff = pt - pc
        se_d = math.sqrt(vc + vt)
        lift = diff / pc if pc > 0 else float("nan")
        se_l = math.sqrt(vt / pc**2 + pt**2 * vc / pc**4) if pc > 0 else float("nan")
        zs = diff / se_d if se_d > 0 else float("nan")
        pval = float(2.0 * stats.norm.sf(abs(zs))) if math.isfinite(zs) else float("nan")
        rc, rt = float(ctl["revenue_per_user"]), float(t["revenue_per_user"])
        se_rd = math.hypot(float(ctl["revenue_per_user_se"]), float(t["revenue_per_user_se"]))
        rows.append(
            {
                "variant": v,
                "control": params.control,
                "difference": diff,
                "difference_low": diff - z * se_d,
                "difference_high": diff + z * se_d,
                "lift": lift,
                "lift_low": lift - z * se_l,
                "lift_high": lift + z * se_l,
                "revenue_difference": rt - rc,
                "revenue_difference_low": rt - rc - z * se_rd,
                "revenue_difference_high": rt - rc + z * se_rd,
                "z": zs,
                "p_value": pval,
                "significant": bool(pval < 0.05) if math.isfinite(pval) else False,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True, kw_only=True)
class MinimumDetectableEffect:
    """The smallest true difference in conversion rate the test detects with ``power`` at
    significance ``alpha``: absolute (percentage points / 100) and relative to the baseline,
    with DP noise and, for comparison, without."""

    absolute: float
    relative: float
    absolute_without_noise: float
    relative_without_noise: float
    noise_sd_per_count: float


def minimum_detectable_effect(
    *,
    baseline_rate: float,
    users_per_arm: int,
    loss: PrivacyLoss,
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
    alpha: float = 0.05,
    power: float = 0.8,
) -> MinimumDetectableEffect:
    """MDE of a two-arm read-out at ``loss`` (the A/B analysis's epsilon) for ``users_per_arm``
    users in each arm and a control conversion rate of ``baseline_rate``. Pure: no data, no
    budget spent; call it before launching a test."""
    if not 0.0 < baseline_rate < 1.0:
        raise PrivacyParameterError("baseline_rate must be in (0, 1)")
    if isinstance(users_per_arm, bool) or not isinstance(users_per_arm, int) or users_per_arm < 2:
        raise PrivacyParameterError("users_per_arm must be an integer >= 2")
    if not (0.0 < alpha < 1.0 and 0.0 < power < 1.0):
        raise PrivacyParameterError("alpha and power must be in (0, 1)")
    plans = plan_parts(
        loss,
        [
            ("exposed", Mechanism.DISCRETE_LAPLACE, 1.0, weights[0]),
            ("converters", Mechanism.DISCRETE_LAPLACE, 1.0, weights[1]),
            ("revenue", Mechanism.LAPLACE, 1.0, weights[2]),
        ],
    )
    vn, vc = plans[0].variance, plans[1].variance
    n, p = float(users_per_arm), baseline_rate
    k = float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))
    sampling = 2.0 * p * (1 - p) / n
    noise = 2.0 * (vc + p**2 * vn) / n**2
    absolute = k * math.sqrt(sampling + noise)
    plain = k * math.sqrt(sampling)
    return MinimumDetectableEffect(
        absolute=absolute,
        relative=absolute / p,
        absolute_without_noise=plain,
        relative_without_noise=plain / p,
        noise_sd_per_count=_mech.noise_sd(Mechanism.DISCRETE_LAPLACE, plans[1].scale),
    )
