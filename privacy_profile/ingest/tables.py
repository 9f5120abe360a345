"""The sanitized tables of a run: in this process (pandas) or kept by the engine that computed
them (:class:`RemoteTable`, e.g. Spark DataFrames over staged Parquet files), behind one
mapping, :class:`TableMap`.

A stage that can run where a remote table lives asks for it with :meth:`TableMap.remote` and
works on the engine's frame (:meth:`RemoteTable.frame`); any other reader gets a pandas frame
from ``tables[name]``, which collects a remote table into this process once and records that it
did (:attr:`TableMap.collected`, named in the run's notes): correct everywhere, scalable where a
stage was written for the engine.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import pandas as pd

__all__ = ["RemoteTable", "TableMap"]


@runtime_checkable
class RemoteTable(Protocol):
    """A sanitized table whose rows stay with the engine that computed them.

    Its columns and dtypes are those the pandas loop gives the same table; its row order is
    unspecified (the pandas table's order is the input's record order)."""

    @property
    def engine(self) -> str:
        """The engine holding the rows (``"spark"``)."""
        ...

    @property
    def columns(self) -> tuple[str, ...]: ...

    @property
    def rows(self) -> int:
        """The number of rows (exact; known without a pass over the data)."""
        ...

    def frame(self) -> Any:
        """The engine's DataFrame of the rows (a ``pyspark.sql.DataFrame`` for Spark)."""
        ...

    def distinct(self, columns: Sequence[str]) -> pd.DataFrame:
        """The distinct non-null combinations of ``columns`` (all of them non-null), collected:
        for values of unit scale (pseudonyms, account links), never whole rows."""
        ...

    def to_pandas(self) -> pd.DataFrame:
        """Every row, collected into this process (record order, a fresh RangeIndex)."""
        ...

    def with_links(self, column: str, mapping: pd.Series) -> RemoteTable:
        """The same rows with the values of ``column`` found in ``mapping``'s index replaced
        by their mapped value when read (identity links: account -> person pseudonym)."""
        ...


class TableMap(Mapping[str, pd.DataFrame]):
    """Table name -> pandas frame; a remote table is collected on first access (and cached).

    ``remote(name)`` returns the :class:`RemoteTable` itself (None for a local table);
    ``collected`` names the remote tables some reader collected into this process."""

    def __init__(
        self,
        local: Mapping[str, pd.DataFrame] | None = None,
        remote: Mapping[str, RemoteTable] | None = None,
        *,
        order: Sequence[str] | None = None,
    ) -> None:
        self._local: dict[str, pd.DataFrame] = dict(local or {})
        self._remote: dict[str, RemoteTable] = dict(remote or {})
        both = set(self._local) & set(self._remote)
        if both:
            raise ValueError(f"tables both local and remote: {sorted(both)}")
        self._order = [*self._local, *self._remote]
        if order is not None:  # the given order first (e.g. the run's table order)
            if set(order) != set(self._order):
                raise ValueError(f"order {list(order)} does not name the tables {self._order}")
            self._order = list(order)
        self.collected: list[str] = []

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name in self._local:
            return self._local[name]
        table = self._remote[name]  # KeyError for an unknown table, as a dict
        frame = table.to_pandas()
        self._local[name] = frame
        self.collected.append(name)
        return frame

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._local or name in self._remote

    def remote(self, name: str) -> RemoteTable | None:
        """The remote table ``name`` (even when already collected), or None when local."""
        return self._remote.get(name)

    @property
    def remote_names(self) -> tuple[str, ...]:
        return tuple(self._remote)

    def rows(self, name: str) -> int:
        """The table's row count, without collecting it."""
        r = self._remote.get(name)
        return r.rows if r is not None else len(self._local[name])

    def columns(self, name: str) -> tuple[str, ...]:
        """The table's columns, without collecting it."""
        r = self._remote.get(name)
        return r.columns if r is not None else tuple(str(c) for c in self._local[name].columns)

    def local_items(self) -> Iterator[tuple[str, pd.DataFrame]]:
        """The tables held in this process (remote ones only once collected)."""
        return iter(list(self._local.items()))

    def replace(self, name: str, table: pd.DataFrame | RemoteTable) -> TableMap:
        """A new map with ``name`` replaced (local or remote), the others shared."""
        local = {k: v for k, v in self._local.items() if k != name and k not in self._remote}
        remote = {k: v for k, v in self._remote.items() if k != name}
        if isinstance(table, pd.DataFrame):
            local[name] = table
        else:
            remote[name] = table
        order = list(self._order) if name in self else [*self._order, name]
        out = TableMap(local, remote, order=order)
        out.collected = [c for c in self.collected if c != name]
        return out
