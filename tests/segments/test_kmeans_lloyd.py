"""DP Lloyd k-means (privacy_profile.segments.kmeans.fit_dp_lloyd), tested in layers: the ledger
is charged per iteration before its noise, the noise scales follow from the public
parameters, the empirical noise matches them (seeded), a huge epsilon gives plain Lloyd, a
refused charge stops the fit; the start from released class means is post-processing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from _segments_helpers import parse_spec

from privacy_profile.dp import BudgetLedger, BudgetWindow, DPRandom, PrivacyLoss
from privacy_profile.dp import mechanisms as mech
from privacy_profile.dp.model import Mechanism
from privacy_profile.errors import BudgetExceededError, PrivacyParameterError
from privacy_profile.segments._common import ReleaseContext
from privacy_profile.segments.kmeans import (
    COUNT_SHARE,
    fit_dp_lloyd,
    init_from_class_means,
    nearest,
)


def ctx(budget: float = 1e9, seed: int = 5) -> ReleaseContext:
    return ReleaseContext(
        ledger=BudgetLedger.in_memory(
            dataset="k", budget=PrivacyLoss(epsilon=budget), window=BudgetWindow.lifetime()
        ),
        run_id="r",
        rng=DPRandom.for_testing(seed),
        unit_column="u",
        threshold=0,
    )


def blobs(n: int = 3000, seed: int = 0) -> np.ndarray:
    """Three well separated blobs in [0, 1]^3 (one row per unit)."""
    g = np.random.default_rng(seed)
    means = np.array([[0.2, 0.2, 0.2], [0.8, 0.3, 0.6], [0.4, 0.8, 0.8]])
    x = means[g.integers(0, 3, n)] + g.normal(0, 0.05, (n, 3))
    return np.asarray(np.clip(x, 0, 1), dtype=np.float64)


STARTS = np.array([[0.3, 0.3, 0.3], [0.7, 0.4, 0.5], [0.5, 0.7, 0.7]])


def plain_lloyd(x: np.ndarray, c: np.ndarray, iterations: int) -> np.ndarray:
    c = c.copy()
    for _ in range(iterations):
        lab = nearest(x, c)
        c = np.array([x[lab == j].mean(axis=0) for j in range(c.shape[0])])
    return c


def test_each_iteration_charged_before_its_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    c = ctx()
    eps, iters = 0.9, 3
    seen: list[tuple[int, float]] = []
    orig = DPRandom.discrete_laplace

    def spy(self: DPRandom, scale: float, size: int) -> Any:
        seen.append((size, c.ledger.spent().epsilon))
        return orig(self, scale, size)

    monkeypatch.setattr(DPRandom, "discrete_laplace", spy)
    _, records = fit_dp_lloyd(
        blobs(), k=3, loss=PrivacyLoss(epsilon=eps), iterations=iters, ctx=c, init_centers=STARTS
    )
    per = eps / iters
    # iteration i draws count noise (k values) and grid sum noise (k * d values), both after
    # i charges of eps/iters
    assert [n for n, _ in seen] == [3, 9] * iters
    assert [s for _, s in seen] == pytest.approx([per * (i // 2 + 1) for i in range(2 * iters)])
    charges = c.ledger.charges_for_run("r")
    assert [ch.label for ch in charges] == [
        f"kmeans/fit:iter{i}:{part}" for i in range(1, iters + 1) for part in ("counts", "sums")
    ]
    assert [ch.epsilon for ch in charges] == pytest.approx(
        [per * COUNT_SHARE, per * (1 - COUNT_SHARE)] * iters
    )
    assert [ch.sensitivity for ch in charges] == [1.0, 1.5] * iters  # 1 count; d/2 centred sums
    assert sum(r.epsilon for r in records) == pytest.approx(eps)


def test_noise_scales_come_from_the_public_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Mechanism, float, float]] = []
    orig = mech.noise_scale

    def spy(m: Mechanism, *, loss: PrivacyLoss, sensitivity: float) -> float:
        calls.append((m, loss.epsilon, sensitivity))
        return orig(m, loss=loss, sensitivity=sensitivity)

    monkeypatch.setattr(mech, "noise_scale", spy)
    fit_dp_lloyd(blobs(), k=3, loss=PrivacyLoss(epsilon=1.0), iterations=4, ctx=ctx())
    assert calls == [
        (Mechanism.DISCRETE_LAPLACE, pytest.approx(0.25 * COUNT_SHARE), 1.0),
        (Mechanism.DISCRETE_LAPLACE_GRID, pytest.approx(0.25 * (1 - COUNT_SHARE)), 1.5),
    ]


def test_noise_has_the_stated_spread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seeded: the empirical variance of 3,000 count and 9,000 sum noise draws is within 20%
    of the stated one. The sample variance of Laplace-type noise (kurtosis 6) has a relative
    sd of sqrt(5 / n), about 4% and 2.4% here, so 20% is more than 4 sd: a correct
    implementation fails with probability below 1e-4 over seeds (this seed is fixed)."""
    drawn: dict[Mechanism, list[np.ndarray]] = {
        Mechanism.DISCRETE_LAPLACE: [],
        Mechanism.DISCRETE_LAPLACE_GRID: [],
    }
    orig = mech.add_noise

    def spy(values: np.ndarray, m: Mechanism, scale: float, rng: DPRandom, **kw: Any) -> np.ndarray:
        out = orig(values, m, scale, rng, **kw)
        grid = kw.get("step") or 1.0  # grid values come in grid units
        drawn[m].append(np.asarray(out, dtype=np.float64) - values * grid)
        return out

    monkeypatch.setattr(mech, "add_noise", spy)
    eps, iters = 0.6, 3
    c = ctx(seed=11)
    x = blobs(300)
    for _ in range(334):
        fit_dp_lloyd(x, k=3, loss=PrivacyLoss(epsilon=eps), iterations=iters, ctx=c)
    count_scale = 1.0 / (eps / iters * COUNT_SHARE)
    sum_scale = 1.5 / (eps / iters * (1 - COUNT_SHARE))
    counts = np.concatenate(drawn[Mechanism.DISCRETE_LAPLACE])
    sums = np.concatenate(drawn[Mechanism.DISCRETE_LAPLACE_GRID])
    assert counts.size == 334 * iters * 3 and sums.size == 334 * iters * 9
    want_c = mech.noise_sd(Mechanism.DISCRETE_LAPLACE, count_scale) ** 2
    want_s = mech.noise_sd(Mechanism.DISCRETE_LAPLACE_GRID, sum_scale, step=2.0**-21) ** 2
    assert counts.var() == pytest.approx(want_c, rel=0.2)
    assert sums.var() == pytest.approx(want_s, rel=0.2)
    assert abs(counts.mean()) < 4 * np.sqrt(want_c / counts.size)


def test_huge_epsilon_is_plain_lloyd() -> None:
    x = blobs()
    got, _ = fit_dp_lloyd(
        x, k=3, loss=PrivacyLoss(epsilon=1e9), iterations=5, ctx=ctx(), init_centers=STARTS
    )
    assert got == pytest.approx(plain_lloyd(x, STARTS, 5), abs=1e-4)
    # and plain Lloyd from these starts finds the blobs
    assert got[np.argsort(got[:, 0])][:, 0] == pytest.approx([0.2, 0.4, 0.8], abs=0.02)


def test_refused_charge_stops_the_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    c = ctx(budget=0.5)  # covers one iteration of 0.4, not two
    draws: list[str] = []
    orig = DPRandom.discrete_laplace

    def spy(self: DPRandom, *a: Any, **k: Any) -> Any:
        draws.append("discrete_laplace")
        return orig(self, *a, **k)

    monkeypatch.setattr(DPRandom, "discrete_laplace", spy)
    with pytest.raises(BudgetExceededError):
        fit_dp_lloyd(
            blobs(), k=3, loss=PrivacyLoss(epsilon=0.8), iterations=2, ctx=c, init_centers=STARTS
        )
    assert c.ledger.spent().epsilon == pytest.approx(0.4)
    assert draws == ["discrete_laplace"] * 2  # counts and sums; none for the refused one


def test_bad_arguments_refused() -> None:
    with pytest.raises(PrivacyParameterError, match="iteration"):
        fit_dp_lloyd(blobs(), k=3, loss=PrivacyLoss(epsilon=1), iterations=0, ctx=ctx())
    with pytest.raises(PrivacyParameterError, match="shape"):
        fit_dp_lloyd(
            blobs(), k=2, loss=PrivacyLoss(epsilon=1), iterations=1, ctx=ctx(), init_centers=STARTS
        )


def test_init_from_class_means_is_a_weighted_kmeans_of_them() -> None:
    cand = np.array([[0.1, 0.1], [0.2, 0.1], [0.9, 0.9], [0.8, 0.9], [0.15, 0.12]])
    sizes = [300.0, 100.0, 50.0, 150.0, -3.0]  # a negative DP size weighs nothing
    got = init_from_class_means(cand, sizes, 2)
    got = got[np.argsort(got[:, 0])]
    assert got[0] == pytest.approx([0.125, 0.1])
    assert got[1] == pytest.approx([0.825, 0.9])
    # fewer candidates than k: public grid points fill in
    assert init_from_class_means(cand[:1], [10.0], 3).shape == (3, 2)
    with pytest.raises(PrivacyParameterError):
        init_from_class_means(np.empty((0, 2)), [], 2)


def test_spec_method_and_iterations() -> None:
    from _segments_helpers import SPEC_YAML
    from pydantic import ValidationError

    spec = parse_spec(SPEC_YAML)
    assert spec.kmeans is not None
    assert (spec.kmeans.method.value, spec.kmeans.lloyd_iterations()) == ("lloyd", 3)
    rand = SPEC_YAML.replace("  init: rfm_classes\n", "  init: random\n")
    assert parse_spec(rand).kmeans.lloyd_iterations() == 5  # type: ignore[union-attr]
    two = SPEC_YAML.replace("  init: rfm_classes\n", "  init: random\n  iterations: 2\n")
    assert parse_spec(two).kmeans.lloyd_iterations() == 2  # type: ignore[union-attr]
    text = SPEC_YAML.replace(
        "  init: rfm_classes\n", "  init: rfm_classes\n  method: diffprivlib\n"
    )
    assert parse_spec(text).kmeans.method.value == "diffprivlib"  # type: ignore[union-attr]
    for bad in ("  iterations: 0\n", "  iterations: 21\n", "  method: sklearn\n"):
        with pytest.raises(ValidationError):
            parse_spec(SPEC_YAML.replace("  init: rfm_classes\n", "  init: rfm_classes\n" + bad))
