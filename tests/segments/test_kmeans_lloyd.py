"""DP Lloyd k-means (privacy_profile.segments.kmeans.fit_dp_lloyd), tested in layers: the ledger
is charged per iteration before its noise, the noise scales follow from the public
parameters, the empirical noise matches them (seeded), a huge epsilon gives plain Lloyd, a
refused charge stops the fit; the start from released class means is post-processing. The
per-batch step summed over any split of the units is exactly the whole step, so the fit on
``UnitRows`` (one fold per iteration) releases what the array fit releases."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _segments_helpers import NOW, SPEC_YAML, parse_spec

from privacy_profile.dp import Bounds, BudgetLedger, BudgetWindow, DPRandom, PrivacyLoss
from privacy_profile.dp import mechanisms as mech
from privacy_profile.dp.model import Mechanism
from privacy_profile.errors import (
    BudgetExceededError,
    InputError,
    PolicyError,
    PrivacyParameterError,
)
from privacy_profile.segments._common import ReleaseContext
from privacy_profile.segments.kmeans import (
    COUNT_SHARE,
    KMeansFeatureParams,
    KMeansMethod,
    KMeansParams,
    KMeansPopulation,
    fit_dp_lloyd,
    fit_dp_lloyd_rows,
    init_from_class_means,
    lloyd_step,
    lloyd_sums,
    nearest,
    release_kmeans,
    require_runnable,
    scale_features,
)
from privacy_profile.segments.units import LocalUnitRows, UnitLabels, as_series


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


# --- the per-batch step and the fit on UnitRows (the engine seam) ----------------------------

FEATURES = (
    KMeansFeatureParams(name="a", bounds=Bounds(lower=0.0, upper=1.0)),
    KMeansFeatureParams(name="b", bounds=Bounds(lower=0.0, upper=10.0)),
    KMeansFeatureParams(name="c", bounds=Bounds(lower=0.0, upper=1000.0), log1p=True),
)


def frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """The blobs in original units (b times 10, c by expm1 of its log1p scale), with a unit
    column."""
    x = blobs(n, seed)
    return pd.DataFrame(
        {
            "u": [f"u{i:05d}" for i in range(n)],
            "a": x[:, 0],
            "b": x[:, 1] * 10.0,
            "c": np.expm1(x[:, 2] * np.log1p(1000.0)),
        }
    )


def params(iterations: int = 3, method: KMeansMethod = KMeansMethod.LLOYD) -> KMeansParams:
    return KMeansParams(k=3, features=FEATURES, iterations=iterations, method=method)


@dataclass(frozen=True)
class BatchedRows(LocalUnitRows):
    """LocalUnitRows whose fold runs the batch function on the given batch sizes (and sums),
    as an engine with several partitions would."""

    sizes: tuple[int, ...] = ()

    def fold(self, fn: Any, shape: tuple[int, ...]) -> np.ndarray:
        out = np.zeros(shape, dtype=np.float64)
        edges = np.cumsum([0, *self.sizes])
        assert edges[-1] == len(self.frame)
        for lo, hi in itertools.pairwise(edges):
            if hi > lo:
                out += fn(self.frame.iloc[lo:hi])
        return out


def splits(n: int, seed: int) -> tuple[int, ...]:
    g = np.random.default_rng(seed)
    cuts = np.sort(g.choice(np.arange(1, n), size=int(g.integers(1, 12)), replace=False))
    return tuple(int(s) for s in np.diff([0, *cuts, n]))


@pytest.mark.parametrize("seed", range(6))
def test_step_summed_over_any_batch_split_is_the_whole_step(seed: int) -> None:
    f = frame(500, seed)
    centers = np.random.default_rng(seed).random((3, 3))
    whole = lloyd_step(f, centers, params())
    assert whole.shape == (3, 4)
    # the whole-frame step is the array step on the scaled points (the pandas fit's quantities)
    scaled = scale_features(f, params())
    assert np.array_equal(whole, lloyd_sums(scaled, centers))
    assert whole[:, 0].sum() == len(f)
    sizes = splits(len(f), seed)
    edges = np.cumsum([0, *sizes])
    parts = [lloyd_step(f.iloc[lo:hi], centers, params()) for lo, hi in itertools.pairwise(edges)]
    assert np.array_equal(np.sum(parts, axis=0), whole)  # exactly, not approximately
    # the counts and sums are the nearest-centre counts and grid sums of the centred points
    lab = nearest(scaled, centers)
    step = mech.grid_step(0.5)
    for j in range(3):
        assert whole[j, 0] == (lab == j).sum()
        want = np.rint((scaled[lab == j] - 0.5) / step).sum(axis=0)
        assert np.array_equal(whole[j, 1:], want)


@pytest.mark.parametrize("init", ["starts", "random"])
def test_fit_on_rows_in_batches_releases_the_array_fit(init: str) -> None:
    f = frame(400, 3)
    starts = STARTS if init == "starts" else None
    a, b = ctx(seed=9), ctx(seed=9)
    want, want_rec = fit_dp_lloyd(
        scale_features(f, params()),
        k=3,
        loss=PrivacyLoss(epsilon=0.9),
        iterations=3,
        ctx=a,
        init_centers=starts,
    )
    rows = BatchedRows(f, sizes=splits(len(f), 1))
    got, got_rec = fit_dp_lloyd_rows(
        rows, params(), loss=PrivacyLoss(epsilon=0.9), ctx=b, init_centers=starts
    )
    assert np.array_equal(got, want)  # same DP random stream, same sums: the same centres
    assert got_rec == want_rec
    assert [(c.label, c.epsilon) for c in b.ledger.charges_for_run("r")] == [
        (c.label, c.epsilon) for c in a.ledger.charges_for_run("r")
    ]


def test_rows_fit_charges_each_iteration_before_its_fold_and_noise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = ctx()
    events: list[tuple[str, float]] = []
    orig = DPRandom.discrete_laplace

    def spy(self: DPRandom, scale: float, size: int) -> Any:
        events.append(("noise", c.ledger.spent().epsilon))
        return orig(self, scale, size)

    class Spied(BatchedRows):
        def fold(self, fn: Any, shape: tuple[int, ...]) -> np.ndarray:
            events.append((f"fold{shape}", c.ledger.spent().epsilon))
            return super().fold(fn, shape)

    monkeypatch.setattr(DPRandom, "discrete_laplace", spy)
    f = frame(300)
    fit_dp_lloyd_rows(
        Spied(f, sizes=(100, 200)),
        params(iterations=2),
        loss=PrivacyLoss(epsilon=0.8),
        ctx=c,
        init_centers=STARTS,
    )
    # the missing-value check first (nothing charged), then per iteration: charge, fold, noise
    assert events == [
        ("fold(3,)", 0.0),
        ("fold(3, 4)", pytest.approx(0.4)),
        ("noise", pytest.approx(0.4)),
        ("noise", pytest.approx(0.4)),
        ("fold(3, 4)", pytest.approx(0.8)),
        ("noise", pytest.approx(0.8)),
        ("noise", pytest.approx(0.8)),
    ]


def test_rows_with_a_missing_feature_refused_before_any_charge() -> None:
    f = frame(200)
    f.loc[150, "b"] = np.nan
    c = ctx()
    with pytest.raises(InputError, match="'b' has missing values"):
        fit_dp_lloyd_rows(
            BatchedRows(f, sizes=(100, 100)), params(), loss=PrivacyLoss(epsilon=1), ctx=c
        )
    assert c.ledger.charges_for_run("r") == []
    with pytest.raises(InputError, match="'b' has missing values"):  # the pandas path too
        release_kmeans(f, params(), loss=PrivacyLoss(epsilon=1), ctx=c)
    assert c.ledger.charges_for_run("r") == []


def test_release_on_rows_matches_pandas_and_labels_stay_with_the_rows() -> None:
    f = frame(500, 4)
    a, b = ctx(seed=21), ctx(seed=21)
    want = release_kmeans(f, params(), loss=PrivacyLoss(epsilon=2.0), ctx=a, init_centers=STARTS)
    got = release_kmeans(
        BatchedRows(f, sizes=splits(len(f), 2)),
        params(),
        loss=PrivacyLoss(epsilon=2.0),
        ctx=b,
        init_centers=STARTS,
    )
    assert isinstance(want.assignment, pd.Series)
    assert isinstance(got.assignment, UnitLabels)
    assert np.array_equal(got.centroids_scaled, want.centroids_scaled)
    pd.testing.assert_frame_equal(got.table, want.table)
    assert got.records == want.records
    pd.testing.assert_series_equal(
        as_series(got.assignment).astype(object), want.assignment, check_dtype=False
    )
    assert [(c.label, c.epsilon) for c in b.ledger.charges_for_run("r")] == [
        (c.label, c.epsilon) for c in a.ledger.charges_for_run("r")
    ]


def test_diffprivlib_on_rows_refused_before_any_charge() -> None:
    c = ctx()
    with pytest.raises(PolicyError, match=r"segmentation\.kmeans\.method") as err:
        release_kmeans(
            LocalUnitRows(frame(100)),
            params(method=KMeansMethod.DIFFPRIVLIB),
            loss=PrivacyLoss(epsilon=1),
            ctx=c,
        )
    assert "lloyd" in str(err.value)
    assert c.ledger.charges_for_run("r") == []
    # the check alone, for a caller releasing several families before k-means
    require_runnable(KMeansMethod.DIFFPRIVLIB, frame(10))  # pandas: runs
    require_runnable(KMeansMethod.LLOYD, LocalUnitRows(frame(10)))
    with pytest.raises(PolicyError):
        require_runnable(KMeansMethod.DIFFPRIVLIB, LocalUnitRows(frame(10)))


def test_population_predicate_matches_the_pandas_filter() -> None:
    f = pd.DataFrame(
        {
            "u": ["a", "b", "c", "d", "e"],
            "frequency": [0, 2, 1, 3, 0],
            "monetary": [np.nan, 10.0, np.nan, 5.0, 1.0],
            "tenure_days": [1.0, 2.0, 3.0, np.nan, 5.0],
        },
        index=[10, 11, 12, 13, 14],  # any index: the mask is positional
    )
    paid = KMeansPopulation(("frequency", "monetary"), paid_only=True)(f)
    assert paid.tolist() == [False, True, False, True, False]
    anyone = KMeansPopulation(("tenure_days",), paid_only=False)(f)
    assert anyone.tolist() == [True, True, True, False, True]
    kept = LocalUnitRows(f).where(KMeansPopulation(("monetary", "tenure_days"), paid_only=True))
    assert kept.to_pandas()["u"].tolist() == ["b"]


@pytest.mark.parametrize("with_rfm_release", [False, True])
def test_kmeans_runner_on_rows_releases_what_it_releases_on_pandas(with_rfm_release: bool) -> None:
    """The registered k-means runner: the population filter (paid order, every feature
    present) as ``where`` on rows, the start from released RFM class means, the release."""
    from privacy_profile.policy.releases import ReleaseId, SegmentFamily
    from privacy_profile.segments import families  # noqa: F401  (registers the runners)
    from privacy_profile.segments.features import UnitFeatures
    from privacy_profile.segments.registry import BuildState, registry

    g = np.random.default_rng(8)
    n = 600
    table = pd.DataFrame(
        {
            "u": [f"u{i:05d}" for i in range(n)],
            "recency_days": np.where(g.random(n) < 0.05, np.nan, g.uniform(0, 730, n)),
            "frequency": g.integers(0, 12, n).astype(np.int64),
            "monetary": g.lognormal(5, 1.2, n),
        }
    )
    rfm_table = pd.DataFrame(
        {
            "suppressed": [False, False, True, False],
            "dp_size": [120, 80, 0, 200],
            "mean_recency_days": [30.0, 400.0, np.nan, 200.0],
            "mean_frequency": [8.0, 1.0, np.nan, 3.0],
            "mean_monetary": [900.0, 60.0, np.nan, 300.0],
        }
    )
    run = next(e.run for e in registry() if e.family is SegmentFamily.KMEANS)
    assert run is not None
    out = []
    for rows in (table, BatchedRows(table, sizes=splits(n, 4))):
        st = BuildState(
            features=UnitFeatures(
                table=rows,  # type: ignore[arg-type]  # the table kept by an engine
                categories=pd.DataFrame(),
                activity=pd.DataFrame(),
                dropped={},
            ),
            spec=parse_spec(SPEC_YAML),
            ctx=ctx(seed=31),
            now=NOW,
            unit_column="u",
            max_categories_per_user=3,
            domains={},
            rfm_table=rfm_table if with_rfm_release else None,
        )
        run(st, {ReleaseId(SegmentFamily.KMEANS): 1.0})
        out.append(st)
    want, got = out
    pd.testing.assert_frame_equal(got.tables[0], want.tables[0])
    assert got.records == want.records
    assert [(c.label, c.epsilon) for c in got.ctx.ledger.charges_for_run("r")] == [
        (c.label, c.epsilon) for c in want.ctx.ledger.charges_for_run("r")
    ]
    a, b = want.families[0].assignment, got.families[0].assignment
    assert isinstance(a, pd.Series) and isinstance(b, UnitLabels)  # labels kept with the rows
    b = as_series(b)
    # units without an order or without recency are not clustered
    kept = (table["frequency"] > 0) & table["recency_days"].notna()
    assert a.index.tolist() == table.loc[kept, "u"].tolist()
    assert b.index.tolist() == a.index.tolist() and b.astype(object).tolist() == a.tolist()
