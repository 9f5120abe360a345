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

from privacy_profile.ingest.tables import RemoteTable, TableMap
from privacy_profile.policy.model import Policy

__all__ = ["LinkResult", "link_identities", "linked_ids"]


@dataclass(frozen=True)
class LinkResult:
    """The linked tables and the counts for the ingest report (no data value)."""

    tables: TableMap
    opted_out: frozenset[str]
    tokens: pd.DataFrame | None
    counts: dict[str, int]


def linked_ids(ids: pd.Series, mapping: pd.Series) -> pd.Series:
    """``ids`` (as strings) with each linked account replaced by its person (``mapping``:
    account pseudonym -> person pseudonym); other values unchanged."""
    ids = ids.astype("string")
    return ids.where(~ids.isin(mapping.index), ids.map(mapping))


def _links(policy: Policy, tables: TableMap) -> tuple[pd.Series, int]:
    """account pseudonym -> person pseudonym, and the number of ambiguous accounts."""
    pairs = []
    for link in policy.identity_links:
        if link.table not in tables:
            continue
        columns = tables.columns(link.table)
        if link.account_column not in columns or link.person_column not in columns:
            continue
        held = tables.remote(link.table)
        wanted = [link.account_column, link.person_column]
        # a table kept by an engine: its distinct pairs only (unit scale), never its rows
        p = held.distinct(wanted) if held is not None else tables[link.table][wanted].dropna()
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
    tables: Mapping[str, pd.DataFrame],
    opted_out: frozenset[str],
    tokens: pd.DataFrame | None,
) -> LinkResult:
    """Replace linked account pseudonyms by person pseudonyms in every table's subject
    column (see the module doc); a table an engine kept is linked where it is (on read)."""
    if not isinstance(tables, TableMap):
        tables = TableMap(tables)
    if not policy.identity_links:
        return LinkResult(tables, opted_out, tokens, {})
    mapping, ambiguous = _links(policy, tables)
    out: dict[str, pd.DataFrame] = {}
    kept: dict[str, RemoteTable] = {}
    linked: set[str] = set()
    for name in tables:
        spec = policy.tables.get(name)
        held = tables.remote(name)
        if spec is None or spec.subject_column not in tables.columns(name) or mapping.empty:
            if held is not None:
                kept[name] = held
            else:
                out[name] = tables[name]
            continue
        if held is not None:
            ids = held.distinct([spec.subject_column]).iloc[:, 0].astype("string")
            linked.update(ids[ids.isin(mapping.index)].tolist())
            kept[name] = held.with_links(spec.subject_column, mapping)
            continue
        frame = tables[name]
        ids = frame[spec.subject_column].astype("string")
        hit = ids.isin(mapping.index)
        linked.update(ids[hit].dropna().unique().tolist())
        frame = frame.copy()
        frame[spec.subject_column] = linked_ids(ids, mapping)
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
    return LinkResult(TableMap(out, kept, order=list(tables)), opted, tokens, counts)
