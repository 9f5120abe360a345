"""What the segment stage reads from a sanitize result: the pseudonymous tables with the unit
column, the per-unit opt-out flags, and the tokenizer of activation audiences."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from privacy_profile.ingest import SanitizeResult
from privacy_profile.policy.model import Policy
from privacy_profile.segments.build import FLAGS_TABLE, OPT_OUT_COLUMN
from privacy_profile.segments.columns import unit_column, with_unit_column

__all__ = ["segment_tables", "tokenizer_for"]


def segment_tables(policy: Policy, result: SanitizeResult) -> dict[str, pd.DataFrame]:
    """The pseudonymous tables the segment stage reads (each table's subject column named as
    the unit column), plus the per-unit opt-out flags."""
    unit = unit_column(policy)
    subjects = policy.subjects.table
    consent = policy.consent_table()
    tables = with_unit_column(policy, {k: v for k, v in result.tables.items() if k != consent})
    users = tables[subjects]
    flags = pd.DataFrame({unit: users[unit].astype("string")})
    flags[OPT_OUT_COLUMN] = flags[unit].isin(result.activation.opted_out)
    tables[FLAGS_TABLE] = flags
    return tables


def tokenizer_for(result: SanitizeResult) -> Callable[[pd.Series], pd.Series] | None:
    """Pseudonym -> activation token, or None when the purpose allows no activation."""
    tokens = result.activation.tokens
    if tokens is None or not result.activation.allowed:
        return None
    mapping = pd.Series(tokens["token"].to_numpy(), index=tokens["pseudonym"].to_numpy())

    def tokenize(pseudonyms: pd.Series) -> pd.Series:
        return pseudonyms.map(mapping)

    return tokenize
