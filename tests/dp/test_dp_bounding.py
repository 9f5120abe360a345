from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from privacy_profile.dp import DPRandom, PrivacyUnit, bound_contributions

P_MIN = 1e-4  # false-positive rate of the seeded chi-square test


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
