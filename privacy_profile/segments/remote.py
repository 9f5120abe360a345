"""The segment stage's tables where they live: a table an engine keeps (a
:class:`~privacy_profile.ingest.tables.RemoteTable` of a
:class:`~privacy_profile.ingest.tables.TableMap`) is read as such, never collected, and the
per-unit features of remote orders / events tables are computed by that engine
(:mod:`privacy_profile.spark.segments`); local tables keep the pandas code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

import pandas as pd

from privacy_profile.ingest.tables import RemoteTable, TableMap
from privacy_profile.segments.features import FeatureParams, UnitFeatures, compute_features

__all__ = ["SegmentTable", "columns_of", "table_of", "unit_features"]

SegmentTable: TypeAlias = pd.DataFrame | RemoteTable
"""A table of the segment stage: a pandas frame, or a table its engine keeps."""


def table_of(tables: Mapping[str, pd.DataFrame], name: str | None) -> SegmentTable | None:
    """The table ``name`` of ``tables`` without collecting it: the remote table of a
    :class:`TableMap` (even once collected), else the pandas frame; None when absent."""
    if name is None:
        return None
    if isinstance(tables, TableMap) and (remote := tables.remote(name)) is not None:
        return remote
    return tables.get(name)


def columns_of(table: SegmentTable) -> tuple[str, ...]:
    """The table's column names."""
    if isinstance(table, pd.DataFrame):
        return tuple(str(c) for c in table.columns)
    return table.columns


def unit_features(tables: Mapping[str, pd.DataFrame], params: FeatureParams) -> UnitFeatures:
    """Per-unit features: on the engine holding the orders or events table when one of them
    is remote (:func:`~privacy_profile.spark.segments.spark_unit_features`: the table kept
    there as :class:`~privacy_profile.segments.units.UnitRows` whose ``to_pandas()`` is the
    pandas engine's table, the same categories, no activity rows; call
    :meth:`~privacy_profile.segments.features.UnitFeatures.close` when done), else
    :func:`~privacy_profile.segments.features.compute_features`."""
    c = params.columns
    names = (
        c.orders.table if c.orders is not None else None,
        c.events.table if c.events is not None else None,
        c.users,
    )
    found = {n: t for n in names if n is not None and (t := table_of(tables, n)) is not None}
    if any(not isinstance(t, pd.DataFrame) for n, t in found.items() if n != c.users):
        from privacy_profile.spark.segments import spark_unit_features

        return spark_unit_features(found, params)
    return compute_features(tables, params)
