from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from privacy_profile.dp import BoundedContributions, DPRandom, PrivacyUnit, bound_contributions
from privacy_profile.dp.bounding import FLOYD_MAX_CAP

P_MIN = 1e-4  # false-positive rate of each seeded chi-square test (p-value cut-off)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 4)), min_size=1, max_size=200),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(0, 2**32),
)
def test_caps_hold_and_counts_agree(rows: list[tuple[int, int]], k: int, m: int, seed: int) -> None:
    units = np.array([r[0] for r in rows], dtype=np.int64)
    groups = np.array([r[1] for r in rows], dtype=np.int64)
    unit = PrivacyUnit(column="u", max_groups_contributed=k, max_rows_per_group=m)
    b = bound_contributions(units, groups, 7, 5, unit=unit, rng=DPRandom.for_testing(seed))
    kept_u, kept_g = units[b.rows], groups[b.rows]
    assert len(set(b.rows.tolist())) == b.rows.size
    assert np.array_equal(kept_g, b.row_group)
    for u in range(7):
        mine = kept_g[kept_u == u]
        assert len(set(mine.tolist())) <= k
        assert all((mine == g).sum() <= m for g in set(mine.tolist()))
        # a unit keeps min(k, its groups) groups and min(m, its rows) rows in each
        its_groups = set(groups[units == u].tolist())
        assert len(set(mine.tolist())) == min(k, len(its_groups))
        for g in set(mine.tolist()):
            assert (mine == g).sum() == min(m, ((units == u) & (groups == g)).sum())
    assert b.pair_rows.sum() == b.rows.size
    assert np.array_equal(
        np.bincount(b.pair_group, minlength=5),
        np.bincount(np.unique(kept_u * 5 + kept_g) % 5, minlength=5),
    )


def test_rows_and_groups_are_chosen_uniformly() -> None:
    # one unit, 4 groups with 5 rows each; keep 2 groups and 1 row per group.
    units = np.zeros(20, dtype=np.int64)
    groups = np.repeat(np.arange(4), 5)
    unit = PrivacyUnit(column="u", max_groups_contributed=2, max_rows_per_group=1)
    rng = DPRandom.for_testing(11)
    hits = np.zeros(20)
    trials = 4000
    for _ in range(trials):
        b = bound_contributions(units, groups, 1, 4, unit=unit, rng=rng)
        hits[b.rows] += 1
    # each row is kept with probability (2/4) * (1/5) = 0.1; not "the first N"
    res = stats.chisquare(hits, np.full(20, hits.sum() / 20))
    assert res.pvalue >= P_MIN
    assert hits.sum() == trials * 2


def _check_exact_caps(
    units: np.ndarray, groups: np.ndarray, b: BoundedContributions, k: int, m: int
) -> None:
    """Every unit keeps exactly min(k, its groups) groups and, in each kept group, exactly
    min(m, its rows) of its own rows; the pair and row views agree."""
    assert np.unique(b.rows).size == b.rows.size
    assert np.array_equal(groups[b.rows], b.row_group)
    kept = pd.DataFrame({"u": units[b.rows], "g": groups[b.rows]})
    have = pd.DataFrame({"u": units, "g": groups}).groupby(["u", "g"]).size()
    got = kept.groupby(["u", "g"]).size()
    assert (got == np.minimum(have.loc[got.index], m)).all()
    per_unit = got.groupby(level="u").size()
    want = have.groupby(level="u").size().clip(upper=k)
    assert per_unit.reindex(want.index, fill_value=0).equals(want)
    assert b.pair_rows.sum() == b.rows.size
    assert np.array_equal(np.sort(b.pair_group), np.sort(got.index.get_level_values("g")))
    assert np.array_equal(
        np.bincount(b.pair_group, weights=b.pair_rows, minlength=groups.max() + 1),
        np.bincount(b.row_group, minlength=groups.max() + 1),
    )


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 40)), min_size=1, max_size=600),
    st.sampled_from([1, 2, 5, FLOYD_MAX_CAP, FLOYD_MAX_CAP + 1, 40]),
    st.sampled_from([1, 3, FLOYD_MAX_CAP, FLOYD_MAX_CAP + 1, 50]),
    st.sampled_from([(31, 41), (1 << 12, 1 << 12), (1 << 20, 1 << 14)]),
    st.integers(0, 2**32),
)
def test_caps_are_exact_on_every_path(
    rows: list[tuple[int, int]], k: int, m: int, sizes: tuple[int, int], seed: int
) -> None:
    # caps on both sides of FLOYD_MAX_CAP (Floyd / permutation), and declared code ranges
    # needing 1, 2 or 3 radix passes (2^34 pair codes: 64-bit digits)
    units = np.array([r[0] for r in rows], dtype=np.int64)
    groups = np.array([r[1] for r in rows], dtype=np.int64)
    unit = PrivacyUnit(column="u", max_groups_contributed=k, max_rows_per_group=m)
    b = bound_contributions(units, groups, *sizes, unit=unit, rng=DPRandom.for_testing(seed))
    _check_exact_caps(units, groups, b, k, m)


def test_heavy_units_and_pairs_are_capped_exactly() -> None:
    # 300 units, up to 60 groups each, up to 80 rows per pair: many over both caps
    gen = np.random.default_rng(5)
    n_groups = gen.integers(1, 61, size=300)
    pairs_u = np.repeat(np.arange(300), n_groups)
    pairs_g = np.concatenate([gen.choice(60, size=c, replace=False) for c in n_groups])
    n_rows = gen.integers(1, 81, size=pairs_u.size)
    units, groups = np.repeat(pairs_u, n_rows), np.repeat(pairs_g, n_rows)
    perm = gen.permutation(units.size)
    units, groups = units[perm], groups[perm]
    for k, m in [(3, 3), (1, 1), (10, 40), (40, 10), (60, 80)]:
        unit = PrivacyUnit(column="u", max_groups_contributed=k, max_rows_per_group=m)
        b = bound_contributions(units, groups, 300, 60, unit=unit, rng=DPRandom.for_testing(k))
        _check_exact_caps(units, groups, b, k, m)


def test_one_row_per_unit_keeps_everything() -> None:
    unit = PrivacyUnit(column="u", max_groups_contributed=1, max_rows_per_group=1)
    groups = np.array([2, 0, 1, 2], dtype=np.int64)
    b = bound_contributions(np.array([3, 1, 0, 2]), groups, 5, 3, unit=unit, rng=DPRandom())
    assert np.array_equal(b.rows, np.arange(4))
    assert np.array_equal(b.row_group, groups) and np.array_equal(b.pair_group, groups)
    assert np.array_equal(b.pair_rows, np.ones(4))
    empty = np.zeros(0, dtype=np.int64)
    b = bound_contributions(empty, empty, 0, 1, unit=unit, rng=DPRandom())
    assert b.rows.size == b.row_group.size == b.pair_group.size == b.pair_rows.size == 0


def _subset_counts(chosen: np.ndarray, n: int, size: int) -> np.ndarray:
    """How often each ``size``-subset of range(n) was chosen (rows of ``chosen``)."""
    index = {c: i for i, c in enumerate(itertools.combinations(range(n), size))}
    counts = np.zeros(len(index))
    for row in np.sort(chosen, axis=1).tolist():
        counts[index[tuple(row)]] += 1
    return counts


@pytest.mark.parametrize(
    ("n_groups", "k"),
    [(5, 2), (4, 1), (6, 5), (FLOYD_MAX_CAP + 2, FLOYD_MAX_CAP + 1)],
)
def test_each_subset_of_a_units_groups_is_equally_likely(n_groups: int, k: int) -> None:
    # 4000 independent units, each with n_groups groups of 1..n_groups rows (a group's row
    # count must not matter) and rows shuffled; chi-square over all C(n_groups, k) subsets.
    # Seeded; P_MIN is the false-positive rate of each test.
    n_units = 4000
    per_group = np.arange(1, n_groups + 1)
    units = np.repeat(np.arange(n_units), per_group.sum())
    groups = np.tile(np.repeat(np.arange(n_groups), per_group), n_units)
    perm = np.random.default_rng(1).permutation(units.size)
    units, groups = units[perm], groups[perm]
    unit = PrivacyUnit(column="u", max_groups_contributed=k, max_rows_per_group=n_groups)
    b = bound_contributions(
        units, groups, n_units, n_groups, unit=unit, rng=DPRandom.for_testing(2024 + k)
    )
    kept = np.unique(units[b.rows] * n_groups + groups[b.rows])
    chosen = (kept % n_groups).reshape(n_units, k)
    counts = _subset_counts(chosen, n_groups, k)
    assert counts.sum() == n_units
    assert stats.chisquare(counts).pvalue >= P_MIN
    # and per group (the marginal asked for: each group kept with probability k / n_groups)
    marginal = np.bincount(chosen.ravel(), minlength=n_groups)
    assert stats.chisquare(marginal).pvalue >= P_MIN


@pytest.mark.parametrize(
    ("n_rows", "m"), [(5, 2), (3, 1), (7, 6), (FLOYD_MAX_CAP + 2, FLOYD_MAX_CAP + 1)]
)
def test_each_subset_of_a_pairs_rows_is_equally_likely(n_rows: int, m: int) -> None:
    # 4000 units with one pair of n_rows rows each, rows shuffled; chi-square over all
    # C(n_rows, m) subsets of a pair's rows (numbered in their original order).
    n_units = 4000
    units = np.repeat(np.arange(n_units), n_rows)
    perm = np.random.default_rng(3).permutation(units.size)
    units = units[perm]
    groups = np.zeros(units.size, dtype=np.int64)
    unit = PrivacyUnit(column="u", max_groups_contributed=1, max_rows_per_group=m)
    b = bound_contributions(
        units, groups, n_units, 1, unit=unit, rng=DPRandom.for_testing(4048 + m)
    )
    # rank of each row among its unit's rows, in original row order
    rank = np.empty(units.size, dtype=np.int64)
    order = np.argsort(units, kind="stable")
    rank[order] = np.tile(np.arange(n_rows), n_units)
    kept = b.rows[np.argsort(units[b.rows], kind="stable")]
    chosen = rank[kept].reshape(n_units, m)
    counts = _subset_counts(chosen, n_rows, m)
    assert stats.chisquare(counts).pvalue >= P_MIN
    assert stats.chisquare(np.bincount(chosen.ravel(), minlength=n_rows)).pvalue >= P_MIN
