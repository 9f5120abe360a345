"""Persona families and the noise-aware release threshold, in layers: the spec at the YAML
boundary, the exact margin, the exact cut a release uses, a seeded statistical test of the
false-release probability of empty values, and the families' budget split end to end."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _segments_helpers import DEMO_COLUMNS, NOW, SPEC_YAML, parse_spec
from pydantic import ValidationError
from scipy import stats

from privacy_profile.dp import (
    BudgetLedger,
    BudgetWindow,
    DPRandom,
    Mechanism,
    PrivacyLoss,
    noise_scale,
)
from privacy_profile.errors import PolicyError
from privacy_profile.policy.model import Policy
from privacy_profile.policy.segmentation import PersonaFamily
from privacy_profile.segments import build_segments
from privacy_profile.segments._common import ReleaseContext, SegmentDef
from privacy_profile.segments.personas import (
    Family,
    PersonaParams,
    release_margin,
    release_personas,
)

PURPOSE = "marketing.advertising.profiling"


def big_ledger() -> BudgetLedger:
    return BudgetLedger.in_memory(
        dataset="t", budget=PrivacyLoss(epsilon=1e9, delta=1e-3), window=BudgetWindow.lifetime()
    )


def with_personas(extra: str) -> str:
    return SPEC_YAML.replace("  top_n: 3\n", f"  top_n: 3\n{extra}")


# -- the spec ---------------------------------------------------------------------------------


def test_families_and_probability_parse() -> None:
    spec = parse_spec(
        with_personas("  families: [rfm, lifecycle]\n  false_release_probability: 0.05\n")
    )
    assert spec.personas is not None
    assert spec.personas.families == [PersonaFamily.RFM, PersonaFamily.LIFECYCLE]
    assert spec.personas.false_release_probability == 0.05
    default = parse_spec(SPEC_YAML).personas
    assert default is not None
    assert default.families is None and default.false_release_probability is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("  families: [rfm, rfm]\n", "may appear once"),
        ("  families: []\n", "at least 1"),
        ("  families: [tree]\n", "Input should be"),
        ("  families: [rfm_classes]\n", "Input should be"),
        ("  false_release_probability: 0\n", "greater than 0"),
        ("  false_release_probability: 0.6\n", "less than or equal to 0.5"),
        ("  false_release_probabilty: 0.05\n", "Extra inputs"),
    ],
)
def test_bad_persona_settings_are_refused(extra: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_spec(with_personas(extra))


def test_families_need_their_sections() -> None:
    no_kmeans = SPEC_YAML.split("kmeans:")[0] + "lifecycle:" + SPEC_YAML.split("lifecycle:")[1]
    parse_spec(no_kmeans)  # valid without personas.families
    text = no_kmeans.replace("  top_n: 3\n", "  top_n: 3\n  families: [kmeans]\n")
    with pytest.raises(ValidationError, match="needs the `kmeans` section"):
        parse_spec(text)
    no_rules = with_personas("  families: [rule]\n")
    no_rules = no_rules.split("rules_epsilon:")[0] + "personas:" + no_rules.split("personas:")[1]
    no_rules = no_rules.replace("target: rule:big_spenders_east", "target: rfm:important_value")
    with pytest.raises(ValidationError, match="needs rule segments"):
        parse_spec(no_rules)


# -- the margin -------------------------------------------------------------------------------


def tail_gt(scale: float, m: int) -> float:
    """P(Z > m) for discrete Laplace: summed from the pmf (independent of the formula used)."""
    p = math.exp(-1.0 / scale)
    z = np.arange(m + 1, m + 1 + 20000)
    return float(((1 - p) / (1 + p) * p ** z.astype(np.float64)).sum())


@pytest.mark.parametrize("scale", [0.3, 1.0, 1 / math.log(2), 6.0, 12.0, 36.0, 200.0])
@pytest.mark.parametrize("alpha", [0.5, 0.2, 0.05, 0.01, 1e-3])
def test_margin_is_the_smallest_with_tail_at_most_alpha(scale: float, alpha: float) -> None:
    m = release_margin(Mechanism.DISCRETE_LAPLACE, scale, alpha)
    assert m >= 0
    assert tail_gt(scale, m) <= alpha * (1 + 1e-9)
    if m > 0:
        assert tail_gt(scale, m - 1) > alpha


@pytest.mark.parametrize(
    ("scale", "alpha", "want"),
    [
        (1 / math.log(2), 0.05, 3),  # p = 1/2: P(Z > m) = 2^-(m+1) / 1.5 -> m = 3 (0.042)
        (1 / math.log(2), 0.01, 6),  # m = 5: 2^-6 / 1.5 = 0.0104 > 0.01; m = 6: 0.0052
        (1.0, 0.05, 2),  # p = e^-1: e^-3 / (1 + e^-1) = 0.036 <= 0.05 < e^-2 / 1.37 = 0.099
        (1e-9, 0.01, 0),  # no noise: the threshold is used as it is
    ],
)
def test_margin_exact_values(scale: float, alpha: float, want: int) -> None:
    assert release_margin(Mechanism.DISCRETE_LAPLACE, scale, alpha) == want


def test_margin_refuses_bad_input() -> None:
    with pytest.raises(PolicyError):
        release_margin(Mechanism.DISCRETE_LAPLACE, 1.0, 0.0)
    with pytest.raises(PolicyError):
        release_margin(Mechanism.LAPLACE, 1.0, 0.05)


# -- releases on a tiny population ------------------------------------------------------------


def population(n_seg: int, per_seg: int) -> tuple[Family, pd.DataFrame]:
    """``n_seg`` segments of ``per_seg`` units each, every unit in age band "25-34"."""
    n = n_seg * per_seg
    units = np.array([f"u{i:06d}" for i in range(n)], dtype=object)
    segs = [SegmentDef(f"s{j}", f"段{j}", f"seg {j}") for j in range(n_seg)]
    fam = Family(
        name="lifecycle",
        segments=tuple(segs),
        assignment=pd.Series(np.repeat([s.key for s in segs], per_seg), index=units),
    )
    feats = pd.DataFrame({"openid": units, "age_band": "25-34"})
    return fam, feats


def release(
    fam: Family,
    feats: pd.DataFrame,
    values: tuple[str, ...],
    *,
    epsilon: float,
    threshold: int,
    alpha: float | None,
    seed: int,
) -> pd.DataFrame:
    ctx = ReleaseContext(
        ledger=big_ledger(),
        run_id="r",
        rng=DPRandom.for_testing(seed),
        unit_column="openid",
        threshold=threshold,
    )
    params = PersonaParams(
        dimensions=("age_band",),
        top_n=3,
        max_categories_per_user=2,
        domains={"age_band": values},
        deny_list=(),
        false_release_probability=alpha,
    )
    cats = pd.DataFrame({"openid": [], "category": []})
    out = release_personas(
        [fam], feats, cats, params, loss=PrivacyLoss(epsilon=epsilon), ctx=ctx
    ).personas
    return out


def test_release_uses_threshold_plus_exact_margin() -> None:
    fam, feats = population(n_seg=2, per_seg=200)
    # one pair: all of epsilon 1 on a sensitivity-1 count -> discrete Laplace scale 1 -> m = 2
    assert (
        noise_scale(Mechanism.DISCRETE_LAPLACE, loss=PrivacyLoss(epsilon=1.0), sensitivity=1) == 1
    )
    out = release(fam, feats, ("25-34", "35-44"), epsilon=1.0, threshold=20, alpha=0.05, seed=1)
    assert set(out["release_threshold"]) == {22}
    assert set(out["value"]) == {"25-34"}  # 200 members each: far above 22
    assert (out["dp_count"] >= 22).all()
    plain = release(fam, feats, ("25-34", "35-44"), epsilon=1.0, threshold=20, alpha=None, seed=1)
    assert set(plain["release_threshold"]) == {20}


N_SEG, N_EMPTY, RUNS = 10, 200, 5  # 10,000 empty cells
EPS, THRESHOLD, ALPHA = 0.05, 5, 0.05  # scale 20 (noise sd ~28): far above the threshold


def empty_cell_releases(alpha: float | None, seed: int) -> int:
    fam, feats = population(n_seg=N_SEG, per_seg=30)
    empties = tuple(f"none{i}" for i in range(N_EMPTY))
    hits = 0
    for r in range(RUNS):
        out = release(
            fam,
            feats,
            ("25-34", *empties),
            epsilon=EPS,
            threshold=THRESHOLD,
            alpha=alpha,
            seed=seed + r,
        )
        hits += int(out["value"].str.startswith("none").sum())
    return hits


def test_empty_cells_are_released_with_at_most_the_stated_probability() -> None:
    """Each empty cell is released independently with probability q = P(Z > m) <= ALPHA.
    The test fails only if the count exceeds the Binomial(n, ALPHA) quantile at 1 - 1e-6:
    with a correct implementation (q <= ALPHA) its false-failure probability is below 1e-6
    (and the run is seeded, so it is deterministic)."""
    n = N_SEG * N_EMPTY * RUNS
    hits = empty_cell_releases(ALPHA, seed=100)
    assert hits <= stats.binom.ppf(1 - 1e-6, n, ALPHA)
    # and it is the margin doing it: the exact rate q, two-sided at 1e-6
    scale = noise_scale(Mechanism.DISCRETE_LAPLACE, loss=PrivacyLoss(epsilon=EPS), sensitivity=1)
    q = tail_gt(scale, THRESHOLD + release_margin(Mechanism.DISCRETE_LAPLACE, scale, ALPHA) - 1)
    assert q <= ALPHA
    lo, hi = stats.binom.ppf([1e-6 / 2, 1 - 1e-6 / 2], n, q)
    assert lo <= hits <= hi


def test_without_the_margin_noise_alone_passes_the_threshold() -> None:
    """The failure the margin prevents: at this noise, about 40% of empty cells pass a
    threshold of 5 (P(Z >= 5) = p^5 / (1 + p), p = exp(-1/20))."""
    n = N_SEG * N_EMPTY * RUNS
    hits = empty_cell_releases(None, seed=100)
    p = math.exp(-EPS)
    q = p**THRESHOLD / (1 + p)
    lo, hi = stats.binom.ppf([1e-6 / 2, 1 - 1e-6 / 2], n, q)
    assert lo <= hits <= hi and hits > 5 * ALPHA * n


# -- families end to end ----------------------------------------------------------------------


def test_families_pick_persona_families_and_split_epsilon_over_them(
    tables: Any, policy: Policy
) -> None:
    spec = parse_spec(
        with_personas("  families: [rfm, lifecycle]\n  false_release_probability: 0.05\n")
    )
    assert spec.personas is not None
    rel = build_segments(
        tables,
        policy,
        spec,
        unit_column="openid",
        ledger=big_ledger(),
        run_id="run-1",
        now=NOW,
        rng=DPRandom.for_testing(3),
        purpose=PURPOSE,
        columns=DEMO_COLUMNS,
    )
    assert set(rel.personas["family"]) <= {"rfm", "lifecycle"}
    assert set(rel.recommendations["family"]) <= {"rfm", "lifecycle"}
    recs = [r for r in rel.records if r.label.startswith("personas/")]
    n_dims = len(spec.personas.dimensions)
    assert {r.label.split("/")[1] for r in recs} == {"rfm", "lifecycle"}
    assert len(recs) == 2 * n_dims
    assert all(r.epsilon == pytest.approx(1.0 / (2 * n_dims)) for r in recs)
    assert sum(r.epsilon for r in recs) == pytest.approx(spec.personas.epsilon)
    # every listed value cleared threshold + margin
    assert (rel.personas["dp_count"] >= rel.personas["release_threshold"]).all()
    assert (
        rel.personas["release_threshold"] > policy.privacy.aggregation_threshold.threshold
    ).all()


def test_default_families_are_all_of_them(tables: Any, policy: Policy) -> None:
    rel = build_segments(
        tables,
        policy,
        parse_spec(SPEC_YAML),
        unit_column="openid",
        ledger=big_ledger(),
        run_id="run-1",
        now=NOW,
        rng=DPRandom.for_testing(3),
        purpose=PURPOSE,
        columns=DEMO_COLUMNS,
    )
    labels = {r.label.split("/")[1] for r in rel.records if r.label.startswith("personas/")}
    assert labels == {"rfm", "kmeans", "lifecycle", "rule:big_spenders_east"}
    thr = policy.privacy.aggregation_threshold.threshold
    assert set(rel.personas["release_threshold"]) == {thr}
