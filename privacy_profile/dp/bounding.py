"""Contribution bounding per privacy unit, vectorized.

Each unit keeps at most ``max_groups_contributed`` of its groups and at most
``max_rows_per_group`` rows in each kept group, both chosen uniformly at random with the DP
generator (never "the first N"). diffprivlib assumes one row per person; this is the step that
makes its sensitivities true for multi-row data.

How (all numpy, no pandas groupby):

1. Rows are ordered by their (unit, group) pair code with an LSD radix sort on 16-bit digits
   (numpy's stable argsort of ``uint16`` is a counting sort: two linear passes for up to
   2^32 pairs, against an O(n log n) comparison sort of 64-bit keys). The order *inside* a
   pair does not matter: no random tie-break is needed, the choice below is random.
2. Run boundaries of the sorted codes give the pairs (row runs) and, since pair codes are
   unit-major, the runs of each unit.
3. Only a unit with more than k groups needs a choice: k of its runs, a uniformly random
   k-subset; only a kept run longer than m needs one: m of its rows, a uniformly random
   m-subset (:func:`_choose`: Robert Floyd's algorithm for small caps, else a random
   permutation made stable by segment). Everything else is kept as it is, so data within
   the caps costs no random draws.

The result has the distribution of "shuffle each unit's groups and each pair's rows uniformly,
keep the first k and m": every k-subset of a unit's groups and every m-subset of a kept pair's
rows equally likely, independently across units and pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from privacy_profile.dp.model import PrivacyUnit
from privacy_profile.dp.rng import DPRandom

__all__ = ["BoundedContributions", "bound_contributions"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

FLOYD_MAX_CAP = 32  # Floyd compares about cap / 2 times per candidate row; above, permute


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


def _radix_sort(codes: IntArray, n_codes: int) -> tuple[IntArray, list[IntArray]]:
    """Sort ``codes`` (integers in [0, n_codes)) stably ascending: LSD radix sort, one numpy
    counting sort (stable argsort of ``uint16``) per 16-bit digit, codes carried as ``uint32``
    when they fit. Returns the sorted codes and the permutation of each pass (see
    :func:`_take`); the composed order is never built, only looked up where needed."""
    q: npt.NDArray[np.unsignedinteger[Any]] = codes.astype(
        np.uint32 if n_codes <= 1 << 32 else np.uint64
    )
    steps: list[IntArray] = []
    for shift in range(0, _bits(n_codes), 16):
        step = np.argsort(((q >> shift) & 0xFFFF).astype(np.uint16), kind="stable")
        q = q[step]
        steps.append(step.astype(np.int64, copy=False))
    return q.astype(np.int64), steps


def _take(steps: list[IntArray], positions: IntArray) -> IntArray:
    """Original indices of the elements at ``positions`` of the sorted array."""
    for step in reversed(steps):
        positions = step[positions]
    return positions


def _run_starts(sorted_codes: IntArray) -> IntArray:
    """Start positions of the runs of equal values in a sorted array."""
    n = sorted_codes.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.flatnonzero(sorted_codes[1:] != sorted_codes[:-1]) + 1
    return np.concatenate((np.zeros(1, dtype=np.int64), change.astype(np.int64)))


def _choose(starts: IntArray, lengths: IntArray, cap: int, rng: DPRandom) -> IntArray:
    """For each segment [start, start + length) with length > cap: ``cap`` distinct positions
    chosen uniformly at random (every cap-subset equally likely, segments independent).

    Small caps use Robert Floyd's algorithm, vectorized over segments: for j = L - cap .. L - 1
    draw t uniform in [0, j] and take t, or j if t was taken already. Larger caps shuffle all
    positions with one random permutation, restore segment order with a stable sort (so each
    segment's positions are in uniformly random order) and keep the first ``cap``.
    """
    if starts.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    if cap <= FLOYD_MAX_CAP:
        chosen = np.empty((starts.shape[0], cap), dtype=np.int64)
        for t in range(cap):
            j = lengths - cap + t
            x = rng.below(j + 1)
            taken = (chosen[:, :t] == x[:, None]).any(axis=1)
            chosen[:, t] = np.where(taken, j, x)
        return (chosen + starts[:, None]).ravel()
    total = int(lengths.sum())
    seg = np.repeat(np.arange(starts.shape[0], dtype=np.int64), lengths)
    within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    # shuffle, then sort stably by segment: the layout of `seg` again, with each segment's
    # positions in uniformly random order; its first `cap` slots are the choice
    shuffled = rng.permutation(total)
    _, steps = _radix_sort(seg[shuffled], starts.shape[0])
    picked = _take([shuffled, *steps], np.flatnonzero(within < cap))
    return starts[seg[picked]] + within[picked]


def _keep_mask(
    starts: IntArray, lengths: IntArray, eligible: BoolArray, cap: int, rng: DPRandom
) -> BoolArray:
    """Over the concatenated segments: all positions of eligible segments of length <= cap,
    plus a uniformly random ``cap`` of each eligible longer one."""
    over = eligible & (lengths > cap)
    mask = np.repeat(eligible & ~over, lengths)
    mask[_choose(starts[over], lengths[over], cap, rng)] = True
    return mask


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
    k, m = unit.max_groups_contributed, unit.max_rows_per_group
    n = unit_codes.shape[0]

    # fast path: one row per unit (dp_count / dp_sum / dp_mean): every row is its own pair
    # (with more rows than units some unit has two: no count needed)
    if n <= n_units and (n == 0 or np.bincount(unit_codes, minlength=n_units).max() <= 1):
        return BoundedContributions(
            rows=np.arange(n, dtype=np.int64),
            row_group=group_codes.copy(),
            pair_group=group_codes.copy(),
            pair_rows=np.ones(n, dtype=np.int64),
        )

    pair = unit_codes * n_groups + group_codes
    pair_sorted, steps = _radix_sort(pair, n_units * n_groups)

    # one entry per (unit, group) run; runs of a unit are adjacent (unit-major codes)
    run_start = _run_starts(pair_sorted)
    run_len = np.diff(np.append(run_start, n))
    run_pair = pair_sorted[run_start]
    run_unit = run_pair // n_groups
    run_group = run_pair - run_unit * n_groups

    # at most k runs per unit, then at most m rows per kept run
    unit_start = _run_starts(run_unit)
    unit_runs = np.diff(np.append(unit_start, run_start.shape[0]))
    keep_run = _keep_mask(unit_start, unit_runs, np.ones(unit_start.shape[0], dtype=bool), k, rng)
    keep_pos = _keep_mask(run_start, run_len, keep_run, m, rng)

    # kept positions are in run order: each run's group repeated by its kept rows
    kept_in_run = np.where(keep_run, np.minimum(run_len, m), 0)
    return BoundedContributions(
        rows=_take(steps, np.flatnonzero(keep_pos)),
        row_group=np.repeat(run_group, kept_in_run),
        pair_group=run_group[keep_run],
        pair_rows=kept_in_run[keep_run],
    )
