"""Identity links: several accounts of one person become one privacy unit.

:func:`link_identities` runs after pseudonymization (every id is a pseudonym of the purpose's
domain) and before any bounding or aggregation: each table's subject pseudonym found among the
policy's linked accounts is replaced by its person's pseudonym. Unlinked accounts stay
separate units; an account linked to more than one person is ambiguous and stays unlinked
(counted). Opt-outs follow the person: one opted-out account opts the person out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from privacy_profile.policy.model import Policy

__all__ = ["LinkResult", "link_identities"]


@dataclass(frozen=True)
class LinkResult:
    """The linked tables and the counts for the ingest report (no data value)."""

    tables: dict[str, pd.DataFrame]
    opted_out: frozenset[str]
    tokens: pd.DataFrame | None
    counts: dict[str, int]


def _links(policy: Policy, tables: Mapping[str, pd.DataFrame]) -> tuple[pd.Series, int]:
    """account pseudonym -> person pseudonym, and the number of ambiguous accounts."""
    pairs = []
    for link in policy.identity_links:
        frame = tables.get(link.table)
        if frame is None or link.account_column not in frame or link.person_column not in frame:
            continue
        p = frame[[link.account_column, link.person_column]].dropna()
        p.columns = pd.Index(["account", "person"])
        pairs.append(p.astype("string"))
    if not pairs:
        return pd.Series(dtype="string"), 0
    allp = pd.concat(pairs, ignore_index=True).drop_duplicates()
    allp = allp.loc[allp["account"] != allp["person"]]
    per_account = allp.groupby("account")["person"].nunique()
    ambiguous = per_account.index[per_account > 1]
    ok = allp.loc[~allp["account"].isin(ambiguous)]
    return ok.set_index("account")["person"], len(ambiguous)


def link_identities(
    policy: Policy,
    tables: dict[str, pd.DataFrame],
    opted_out: frozenset[str],
    tokens: pd.DataFrame | None,
) -> LinkResult:
    """Replace linked account pseudonyms by person pseudonyms in every table's subject
    column (see the module doc)."""
    if not policy.identity_links:
        return LinkResult(tables, opted_out, tokens, {})
    mapping, ambiguous = _links(policy, tables)
    out: dict[str, pd.DataFrame] = {}
    linked: set[str] = set()
    for name, frame in tables.items():
        spec = policy.tables.get(name)
        if spec is None or spec.subject_column not in frame.columns or mapping.empty:
            out[name] = frame
            continue
        ids = frame[spec.subject_column].astype("string")
        hit = ids.isin(mapping.index)
        linked.update(ids[hit].dropna().unique().tolist())
        frame = frame.copy()
        frame[spec.subject_column] = ids.where(~hit, ids.map(mapping))
        out[name] = frame
    persons = {str(mapping[a]) for a in linked}
    opted = frozenset(str(mapping.get(p, p)) for p in opted_out)
    if tokens is not None and len(tokens):
        ps = tokens["pseudonym"].astype("string")
        tokens = tokens.assign(pseudonym=ps.map(mapping).fillna(ps))
        tokens = tokens.drop_duplicates("pseudonym").reset_index(drop=True)
        tokens = tokens.loc[~tokens["pseudonym"].isin(opted)].reset_index(drop=True)
    counts = {
        "accounts_linked": len(linked),
        "persons_linked": len(persons),
        "accounts_ambiguous_unlinked": ambiguous,
    }
    return LinkResult(out, opted, tokens, counts)
