"""The segment-family registry: each family registers, once, the function that releases it.

A family's releases and their epsilon shares are declared by the policy
(:data:`privacy_profile.policy.segmentation.FAMILY_RELEASES`, typed
:class:`~privacy_profile.policy.releases.ReleaseId`); here each family adds the runner that
spends exactly those shares, and :func:`registry` hands them to ``build_segments`` in release
order. Runners read what earlier families released from a :class:`BuildState` (k-means starts
from the RFM class means, personas describe every family, the tree explains one segment).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy_profile.dp import MechanismRecord
from privacy_profile.errors import PolicyError
from privacy_profile.policy.releases import ReleaseId, SegmentFamily
from privacy_profile.policy.segmentation import FAMILY_RELEASES, SegmentationSpec
from privacy_profile.segments._common import SEGMENT_COLUMNS, ReleaseContext
from privacy_profile.segments.features import UnitFeatures
from privacy_profile.segments.personas import Family
from privacy_profile.segments.units import UnitLabels

__all__ = [
    "BuildState",
    "FamilyEntry",
    "FamilyRunner",
    "register",
    "register_derived",
    "registry",
]


@dataclass(kw_only=True)
class BuildState:
    """One ``build_segments`` call: its inputs, and what each family released so far."""

    features: UnitFeatures
    """The per-unit features: ``features.table`` is a pandas frame, or the rows an engine
    keeps (:class:`~privacy_profile.segments.units.UnitRows`), which every family reads where
    they are."""
    spec: SegmentationSpec
    ctx: ReleaseContext
    now: dt.datetime
    unit_column: str
    max_categories_per_user: int
    domains: Mapping[str, tuple[str, ...]]
    tables: list[pd.DataFrame] = field(default_factory=list)
    records: list[MechanismRecord] = field(default_factory=list)
    families: list[Family] = field(default_factory=list)
    rfm_table: pd.DataFrame | None = None
    # per rule, every unit's membership: for a pandas features table a boolean array aligned
    # with its rows; for rows kept by an engine (UnitRows) a UnitLabels over a boolean column
    # (one row per unit, in unit order; as_series reads it)
    rule_members: dict[str, npt.NDArray[np.bool_] | UnitLabels] = field(default_factory=dict)
    personas: pd.DataFrame = field(default_factory=pd.DataFrame)
    recommendations: pd.DataFrame = field(default_factory=pd.DataFrame)
    tree_rules: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)
    """What the run's notes should say (e.g. per-unit columns an engine's rows gave this
    process)."""

    def segments(self) -> pd.DataFrame:
        """The segments table of every family released so far."""
        if not self.tables:
            return pd.DataFrame(columns=list(SEGMENT_COLUMNS))
        return pd.concat(self.tables, ignore_index=True)


FamilyRunner = Callable[[BuildState, Mapping[ReleaseId, float]], None]
"""Releases one family: given the build state and the family's releases with their epsilon."""


@dataclass(frozen=True)
class FamilyEntry:
    """One registered family: its releases (from the policy) and its runner; a family whose
    tables another family's release produces (recommendations) names it in ``produced_by``."""

    family: SegmentFamily
    releases: Callable[[SegmentationSpec], dict[ReleaseId, float]]
    run: FamilyRunner | None
    produced_by: SegmentFamily | None = None


_REGISTRY: dict[SegmentFamily, FamilyEntry] = {}


def register(
    family: SegmentFamily, *, produced_by: SegmentFamily | None = None
) -> Callable[[FamilyRunner], FamilyRunner]:
    """Register ``family``'s runner (once)."""

    def add(run: FamilyRunner) -> FamilyRunner:
        if family in _REGISTRY:
            raise PolicyError(f"segment family {family.value!r} is registered twice")
        _REGISTRY[family] = FamilyEntry(family, FAMILY_RELEASES[family], run, produced_by)
        return run

    return add


def register_derived(family: SegmentFamily, *, produced_by: SegmentFamily) -> None:
    """Register a family without releases of its own (post-processing of ``produced_by``)."""
    if family in _REGISTRY:
        raise PolicyError(f"segment family {family.value!r} is registered twice")
    _REGISTRY[family] = FamilyEntry(family, FAMILY_RELEASES[family], None, produced_by)


def registry() -> tuple[FamilyEntry, ...]:
    """Every family, in release order; refuses an incomplete registry (the runners register
    when :mod:`privacy_profile.segments.families` is imported, as ``build_segments`` does)."""
    missing = [f.value for f in SegmentFamily if f not in _REGISTRY]
    if missing:
        raise PolicyError(f"segment families without a runner: {', '.join(missing)}")
    return tuple(_REGISTRY[f] for f in SegmentFamily)
