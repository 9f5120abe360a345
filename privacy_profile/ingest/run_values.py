"""The pseudonyms and tokens a sanitize result holds, each once: what the release guard must
also refuse in any output beside the raw identifiers."""

from __future__ import annotations

from collections.abc import Iterator

from privacy_profile.ingest.sanitize import SanitizeResult
from privacy_profile.policy.model import Policy, Pseudonymize, Tokenize

__all__ = ["pseudonym_values"]


def pseudonym_values(policy: Policy, result: SanitizeResult) -> Iterator[str]:
    """Each distinct pseudonym and token of the run, once (the same pseudonym is in every
    table of a domain; de-duplicating before ``str`` keeps this linear in distinct values)."""
    columns = [
        frame[cname]
        for tname, frame in result.tables.items()
        if (spec := policy.tables.get(tname)) is not None
        for cname, col in spec.columns.items()
        if isinstance(col.treatment, Pseudonymize | Tokenize) and cname in frame.columns
    ]
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
