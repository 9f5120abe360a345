"""What the segment stage reads from a sanitize result: the pseudonymous tables with the unit
column, the per-unit opt-out flags, and the tokenizer of activation audiences."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from privacy_profile.ingest import SanitizeResult
from privacy_profile.ingest.tables import RemoteTable, TableMap
from privacy_profile.policy.model import Policy
from privacy_profile.segments.build import FLAGS_TABLE, OPT_OUT_COLUMN
from privacy_profile.segments.columns import unit_column, with_unit_column
from privacy_profile.segments.remote import table_of

__all__ = ["segment_tables", "tokenizer_for"]


def segment_tables(policy: Policy, result: SanitizeResult) -> TableMap:
    """The pseudonymous tables the segment stage reads (each table's subject column named as
    the unit column), plus the per-unit opt-out flags.

    A remote table of ``result.tables`` (a :class:`TableMap`) stays remote, its subject
    column renamed where its engine reads it
    (:func:`~privacy_profile.spark.segments.unit_table`); nothing is collected. The map
    shares ``result.tables.collected``: a later reader that collects one of its remote tables
    is recorded there, where the run's notes look."""
    unit = unit_column(policy)
    subjects = policy.subjects.table
    consent = policy.consent_table()
    local: dict[str, pd.DataFrame] = {}
    remote: dict[str, RemoteTable] = {}
    for name in result.tables:
        if name == consent:
            continue
        table = table_of(result.tables, name)
        if isinstance(table, pd.DataFrame):
            local[name] = table
        elif table is not None:
            from privacy_profile.spark.segments import unit_table

            spec = policy.tables.get(name)
            remote[name] = unit_table(table, spec.subject_column if spec else unit, unit)
    local = with_unit_column(policy, local)
    if subjects in local:
        users = local[subjects]
    else:  # a remote subjects table: its distinct units (the flags are per unit)
        from privacy_profile.spark.segments import distinct_rows

        users = distinct_rows(remote[subjects], [unit])
    flags = pd.DataFrame({unit: users[unit].astype("string")})
    flags[OPT_OUT_COLUMN] = flags[unit].isin(result.activation.opted_out)
    local[FLAGS_TABLE] = flags
    out = TableMap(local, remote)
    if isinstance(result.tables, TableMap):  # a collection here is the run's to report
        out.collected = result.tables.collected
    return out


def tokenizer_for(result: SanitizeResult) -> Callable[[pd.Series], pd.Series] | None:
    """Pseudonym -> activation token, or None when the purpose allows no activation."""
    tokens = result.activation.tokens
    if tokens is None or not result.activation.allowed:
        return None
    mapping = pd.Series(tokens["token"].to_numpy(), index=tokens["pseudonym"].to_numpy())

    def tokenize(pseudonyms: pd.Series) -> pd.Series:
        return pseudonyms.map(mapping)

    return tokenize
