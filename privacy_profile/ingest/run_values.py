"""The pseudonyms and tokens a sanitize result holds, each once: what the release guard must
also refuse in any output beside the raw identifiers."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from privacy_profile.ingest.sanitize import SanitizeResult
from privacy_profile.policy.model import Policy, Pseudonymize, Tokenize

__all__ = ["pseudonym_values"]


def pseudonym_values(policy: Policy, result: SanitizeResult) -> Iterator[str]:
    """Each distinct pseudonym and token of the run, once (the same pseudonym is in every
    table of a domain; de-duplicating before ``str`` keeps this linear in distinct values)."""
    columns: list[pd.Series] = []
    for tname in result.tables:
        spec = policy.tables.get(tname)
        if spec is None:
            continue
        have = result.tables.columns(tname)
        held = result.tables.remote(tname)
        for cname, col in spec.columns.items():
            if not isinstance(col.treatment, Pseudonymize | Tokenize) or cname not in have:
                continue
            # rows an engine kept: their distinct values only (unit scale), never the rows
            columns.append(
                held.distinct([cname]).iloc[:, 0]
                if held is not None
                else result.tables[tname][cname]
            )
    tokens = result.activation.tokens
    if tokens is not None:
        columns.append(tokens["token"])
    seen: set[str] = set()
    for values in columns:
        for v in values.dropna().unique():
            s = str(v)
            if s not in seen:
                seen.add(s)
                yield s
