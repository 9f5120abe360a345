"""Post-processing of a text's matches: presidio's duplicate removal replayed on plain tuples,
overlap resolution, and replacement of the found spans."""

from __future__ import annotations

from collections.abc import Callable

from privacy_profile.pii.types import Finding

__all__ = ["Raw", "apply_replacements", "remove_duplicates", "resolve_overlaps"]

Raw = tuple[str, int, int, float, str]
"""(entity type, start, end, score, recognizer name) of one match above the threshold."""


def remove_duplicates(raw: list[Raw]) -> list[Raw]:
    """presidio's ``EntityRecognizer.remove_duplicates`` on tuples, same order and result.

    Drops identical results and a result contained in another of the same type with an
    equal or higher score; returns them ordered by (-score, start, -length).
    """
    ranked = sorted(set(raw), key=lambda r: (r[0], r[1], -(r[2] - r[1]), -r[3]))
    kept: list[Raw] = []
    active: list[Raw] = []
    entity = None
    for r in ranked:
        if r[0] != entity:
            entity, active = r[0], []
        if r[3] == 0:
            continue
        active = [a for a in active if a[2] >= r[1]]
        if any(r[1] >= a[1] and r[2] <= a[2] and r[3] <= a[3] for a in active):
            continue
        kept.append(r)
        active.append(r)
    return sorted(kept, key=lambda r: (-r[3], r[1], -(r[2] - r[1])))


def resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Keep the best of overlapping findings: higher score, then longer, then earlier."""
    ranked = sorted(findings, key=lambda f: (-f.score, -(f.end - f.start), f.start))
    kept: list[Finding] = []
    for f in ranked:
        if all(f.end <= k.start or k.end <= f.start for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)


def apply_replacements(
    text: str, findings: list[Finding], replace: Callable[[Finding, str], str]
) -> str:
    """``text`` with every finding replaced (right to left, so spans hold)."""
    new = text
    for f in sorted(findings, key=lambda f: f.start, reverse=True):
        new = new[: f.start] + replace(f, text[f.start : f.end]) + new[f.end :]
    return new
