"""Contribution bounding per privacy unit, vectorized.

Each unit keeps at most ``max_groups_contributed`` of its groups and at most
``max_rows_per_group`` rows in each kept group, both chosen uniformly at random with the DP
generator (never "the first N"). diffprivlib assumes one row per person; this is the step that
makes its sensitivities true for multi-row data.

One sort does it: rows are sorted by a packed 63-bit key (unit, group, random tie-break, row
index), the rank of a row inside its (unit, group) run decides if it is kept, then the runs of
each unit are ranked by a random key to keep at most the allowed groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from privacy_profile.dp.model import PrivacyUnit
from privacy_profile.dp.rng import DPRandom

__all__ = ["BoundedContributions", "bound_contributions"]

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class BoundedContributions:
    """The rows and (unit, group) pairs that survive bounding.

    ``rows``: indices of kept rows; ``row_group``: their group codes; ``pair_group``: the group
    code of each kept (unit, group) pair; ``pair_rows``: rows kept in that pair.
    """

    rows: IntArray
    row_group: IntArray
    pair_group: IntArray
    pair_rows: IntArray


def _bits(n: int) -> int:
    return max(int(n - 1).bit_length(), 1)


def _rank_in_runs(sorted_keys: IntArray) -> tuple[IntArray, IntArray]:
    """For a sorted array: (position of each element inside its run of equal keys, run id)."""
    n = sorted_keys.shape[0]
    starts = np.empty(n, dtype=bool)
    if n:
        starts[0] = True
        np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=starts[1:])
    run_id = np.cumsum(starts, dtype=np.int64) - 1
    start_pos = np.flatnonzero(starts)
    rank = np.arange(n, dtype=np.int64) - start_pos[run_id]
    return rank, run_id


def _sorted_by_random(major: IntArray, n_major: int, rng: DPRandom) -> tuple[IntArray, IntArray]:
    """Order of ``major`` codes ascending, ties in uniformly random order.

    Returns (sorted major codes, original indices). Packs (major, random, index) into one int64
    when it fits (a single fast sort), else falls back to lexsort.
    """
    n = major.shape[0]
    b_major = _bits(n_major)
    b_index = _bits(n)
    b_rand = 63 - b_major - b_index
    if b_rand >= 12:  # ties (rare) fall back to row order: harmless for privacy
        key = rng.integers(1 << b_rand, n)
        key <<= b_index
        key |= np.arange(n, dtype=np.int64)
        key |= major << (b_rand + b_index)
        key.sort()
        index = key & ((1 << b_index) - 1)
        key >>= b_rand + b_index
        return key, index
    rand_f = rng.random(n)
    order = np.lexsort((rand_f, major)).astype(np.int64)
    return major[order], order


def bound_contributions(
    unit_codes: IntArray,
    group_codes: IntArray,
    n_units: int,
    n_groups: int,
    *,
    unit: PrivacyUnit,
    rng: DPRandom,
) -> BoundedContributions:
    """Bound contributions; codes are dense integers in [0, n_units) and [0, n_groups)."""
    unit_codes = np.asarray(unit_codes, dtype=np.int64)
    group_codes = np.asarray(group_codes, dtype=np.int64)
    pair = unit_codes * n_groups + group_codes
    pair_sorted, rows = _sorted_by_random(pair, n_units * n_groups, rng)
    rank, run_id = _rank_in_runs(pair_sorted)

    # one entry per (unit, group) run
    run_start = np.flatnonzero(rank == 0)
    run_pair = pair_sorted[run_start]
    run_unit = run_pair // n_groups
    run_group = run_pair - run_unit * n_groups
    run_len = np.diff(np.append(run_start, pair_sorted.shape[0]))

    # keep at most max_groups_contributed runs per unit, chosen at random
    units_sorted, run_order = _sorted_by_random(run_unit, n_units, rng)
    run_rank_sorted, _ = _rank_in_runs(units_sorted)
    keep_run = np.empty(run_unit.shape[0], dtype=bool)
    keep_run[run_order] = run_rank_sorted < unit.max_groups_contributed

    keep_row = (rank < unit.max_rows_per_group) & keep_run[run_id]
    kept_rows = rows[keep_row]
    return BoundedContributions(
        rows=kept_rows,
        row_group=group_codes[kept_rows],
        pair_group=run_group[keep_run],
        pair_rows=np.minimum(run_len[keep_run], unit.max_rows_per_group),
    )
