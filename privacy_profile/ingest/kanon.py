"""k-anonymity over declared quasi-identifiers: report and suppression to reach k.

Rows in equivalence classes smaller than k are suppressed (removed) and counted; missing
values form their own class value. The report carries sizes and counts only, never values.
"""

from __future__ import annotations

import pandas as pd

from privacy_profile.ingest.report import KAnonymityReport

__all__ = ["class_sizes", "enforce_k_anonymity"]


def class_sizes(frame: pd.DataFrame, quasi_identifiers: list[str]) -> pd.Series:
    """Per row: the size of its equivalence class over ``quasi_identifiers``."""
    if not len(frame):
        return pd.Series([], dtype="int64", index=frame.index)
    keys = [frame[c].astype("string").fillna("\0<missing>") for c in quasi_identifiers]
    return frame.groupby(keys, dropna=False, sort=False)[quasi_identifiers[0]].transform("size")


def enforce_k_anonymity(
    frame: pd.DataFrame, quasi_identifiers: list[str], k: int, *, table: str
) -> tuple[pd.DataFrame, KAnonymityReport]:
    """Suppress rows in classes below ``k``; return the kept rows and the report."""
    sizes = class_sizes(frame, quasi_identifiers)
    below = sizes < k
    n_classes = (
        int(
            frame.groupby(
                [frame[c].astype("string") for c in quasi_identifiers], dropna=False
            ).ngroups
        )
        if len(frame)
        else 0
    )
    small = frame[below.to_numpy(dtype=bool)]
    classes_below = (
        int(
            small.groupby(
                [small[c].astype("string") for c in quasi_identifiers], dropna=False
            ).ngroups
        )
        if len(small)
        else 0
    )
    kept = frame[~below.to_numpy(dtype=bool)]
    kept_sizes = sizes[~below]
    report = KAnonymityReport(
        table=table,
        quasi_identifiers=tuple(quasi_identifiers),
        k=k,
        rows=len(frame),
        classes=n_classes,
        smallest_class=int(sizes.min()) if len(sizes) else 0,
        classes_below_k=classes_below,
        rows_in_classes_below_k=int(below.sum()),
        rows_suppressed=int(below.sum()),
        smallest_class_after=int(kept_sizes.min()) if len(kept_sizes) else 0,
        satisfied=bool(not len(kept_sizes) or kept_sizes.min() >= k),
    )
    return kept, report
