"""Segment families, typed release ids and the one check of the segmentation's epsilon split.

Every DP release of a run has a :class:`ReleaseId`: its family and, for families with several
releases (rule segments), its name. It is rendered ``rfm``, ``kmeans``, ``rule:big_spenders``;
the ledger labels of its charges are ``<release id>/<part>`` (``rfm/classes``,
``rule:big_spenders/size``), so lineage attributes every charge to its exact release with
:meth:`ReleaseId.of_label`.

:func:`epsilon_split_issues` is the only place that checks the split: each release within
``privacy.max_epsilon_per_query``, their sum within ``privacy.epsilon_budget``. The policy
validator and :func:`privacy_profile.segments.check_against_policy` both report its findings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from privacy_profile.errors import PolicyError

__all__ = ["ReleaseId", "SegmentFamily", "SplitIssue", "epsilon_split_issues"]


class SegmentFamily(StrEnum):
    """The segment families, in the order a run releases them. ``recommendations`` are
    post-processing of the ``personas`` release (no epsilon of their own)."""

    RFM = "rfm"
    KMEANS = "kmeans"
    LIFECYCLE = "lifecycle"
    RULE = "rule"
    PERSONAS = "personas"
    RECOMMENDATIONS = "recommendations"
    TREE = "tree"


#: Families with one release per declared item (rule segments); the others have one release.
NAMED_FAMILIES = frozenset({SegmentFamily.RULE})


@dataclass(frozen=True, order=True)
class ReleaseId:
    """One DP release: ``family`` and, for rule segments, the rule's ``name``."""

    family: SegmentFamily
    name: str | None = None

    def __post_init__(self) -> None:
        named = self.family in NAMED_FAMILIES
        if named and not self.name:
            raise PolicyError(f"a {self.family.value} release needs a name")
        if not named and self.name is not None:
            raise PolicyError(f"a {self.family.value} release has no name (got {self.name!r})")
        if self.name is not None and ("/" in self.name or ":" in self.name):
            raise PolicyError(f"release name {self.name!r} may not contain '/' or ':'")

    def __str__(self) -> str:
        return self.family.value if self.name is None else f"{self.family.value}:{self.name}"

    def label(self, part: str) -> str:
        """The ledger label of one charge of this release: ``<release id>/<part>``."""
        return f"{self}/{part}"

    @classmethod
    def parse(cls, text: str) -> ReleaseId:
        """The release id rendered as ``text`` (``rfm``, ``rule:big_spenders``)."""
        family, sep, name = text.partition(":")
        try:
            fam = SegmentFamily(family)
        except ValueError:
            raise PolicyError(f"unknown segment family in release id {text!r}") from None
        return cls(fam, name if sep else None)

    @classmethod
    def of_label(cls, label: str) -> ReleaseId:
        """The release a ledger label belongs to (the part before the first ``/``)."""
        return cls.parse(label.partition("/")[0])

    @classmethod
    def of_segment(cls, family: str, segment: str) -> ReleaseId:
        """The release of one row of the segments table (its ``family`` and ``segment``)."""
        fam = SegmentFamily(family)
        return cls(fam, segment if fam in NAMED_FAMILIES else None)

    def field_path(self) -> tuple[str, ...]:
        """Where the policy sets this release's epsilon (``segmentation.<family>.epsilon``;
        ``segmentation.rules_epsilon`` for rule segments)."""
        if self.family is SegmentFamily.RULE:
            return ("segmentation", "rules_epsilon")
        return ("segmentation", self.family.value, "epsilon")


@dataclass(frozen=True)
class SplitIssue:
    """One problem of the epsilon split: the policy field, the message and the fix."""

    path: tuple[str, ...]
    message: str
    hint: str


def epsilon_split_issues(
    releases: Mapping[ReleaseId, float], *, max_epsilon_per_query: float, epsilon_budget: float
) -> list[SplitIssue]:
    """Every release above ``max_epsilon_per_query``, and the sum if above ``epsilon_budget``."""
    issues = [
        SplitIssue(
            rid.field_path(),
            f"release {str(rid)!r} spends epsilon {eps:g}, above privacy.max_epsilon_per_query "
            f"{max_epsilon_per_query:g}",
            "lower this release's epsilon",
        )
        for rid, eps in releases.items()
        if eps > max_epsilon_per_query
    ]
    total = sum(releases.values())
    if total > epsilon_budget:
        issues.append(
            SplitIssue(
                ("segmentation",),
                f"the segmentation releases sum to epsilon {total:g}, above "
                f"privacy.epsilon_budget {epsilon_budget:g}: one run could never complete",
                "lower the epsilons of the segmentation releases",
            )
        )
    return issues
