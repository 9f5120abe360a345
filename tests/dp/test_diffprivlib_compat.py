"""Every diffprivlib piece the project relies on, so an upgrade that breaks it fails CI.

Our vectorized samplers are checked against diffprivlib's reference mechanisms (seeded
two-sample tests, false-positive rate 1e-4 each).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from diffprivlib.mechanisms import Geometric, Laplace
from diffprivlib.tools import mean as dpl_mean
from diffprivlib.tools import quantile as dpl_quantile
from diffprivlib.utils import PrivacyLeakWarning
from scipy import stats

from privacy_profile.dp import DPRandom, Mechanism, PrivacyLoss, noise_scale
from privacy_profile.dp._diffprivlib import strict_diffprivlib
from privacy_profile.dp.mechanisms import add_noise, grid_step, noise_sd
from privacy_profile.errors import PrivacyParameterError

P_MIN = 1e-4


def test_geometric_matches_our_discrete_laplace() -> None:
    eps, sens = 0.5, 3
    ref = Geometric(epsilon=eps, sensitivity=sens, random_state=1)
    theirs = np.array([ref.randomise(0) for _ in range(3000)])
    scale = noise_scale(Mechanism.DISCRETE_LAPLACE, loss=PrivacyLoss(epsilon=eps), sensitivity=sens)
    ours = DPRandom.for_testing(1).discrete_laplace(scale, 3000)
    assert stats.mannwhitneyu(theirs, ours).pvalue >= P_MIN
    assert stats.levene(theirs, ours).pvalue >= P_MIN


def test_laplace_matches_our_grid_laplace() -> None:
    # our real-valued noise is discrete Laplace on a fine grid: indistinguishable from
    # diffprivlib's continuous Laplace at this sample size, with the same variance
    eps, sens = 0.5, 2.0
    ref = Laplace(epsilon=eps, sensitivity=sens, random_state=2)
    theirs = np.array([ref.randomise(0.0) for _ in range(3000)])
    grid = Mechanism.DISCRETE_LAPLACE_GRID
    scale = noise_scale(grid, loss=PrivacyLoss(epsilon=eps), sensitivity=sens)
    step = grid_step(sens)
    ours = add_noise(np.zeros(3000), grid, scale, DPRandom.for_testing(2), step=step)
    assert stats.ks_2samp(theirs, ours).pvalue >= P_MIN
    assert ref.variance(0.0) == pytest.approx(noise_sd(grid, scale, step=step) ** 2, rel=1e-6)


def test_bounds_from_data_is_an_error_not_a_warning() -> None:
    with pytest.raises(PrivacyParameterError, match="policy"), strict_diffprivlib():
        dpl_mean(np.arange(10.0), epsilon=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyLeakWarning)  # only to show it *is* that warning
        with pytest.raises(PrivacyLeakWarning), warnings.catch_warnings():
            warnings.simplefilter("error", PrivacyLeakWarning)
            dpl_mean(np.arange(10.0), epsilon=1.0)


def test_quantile_with_policy_bounds_runs_strictly() -> None:
    with strict_diffprivlib():
        q = dpl_quantile(np.arange(100.0), 0.5, epsilon=1e6, bounds=(0, 100), random_state=0)
    assert q == pytest.approx(49.5, abs=1.0)
