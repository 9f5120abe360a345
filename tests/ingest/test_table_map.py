"""TableMap: local frames and remote tables behind one mapping; a remote table is collected
only when read as a pandas frame, and that is recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pytest

from privacy_profile.ingest.links import link_identities
from privacy_profile.ingest.tables import RemoteTable, TableMap
from privacy_profile.policy.model import Policy


@dataclass
class FakeRemote:
    """A remote table over a pandas frame that counts how often it was collected."""

    data: pd.DataFrame
    engine: str = "fake"
    collects: int = 0
    links: tuple[str, pd.Series] | None = field(default=None, repr=False)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.data.columns)

    @property
    def rows(self) -> int:
        return len(self.data)

    def frame(self) -> Any:
        return self.data

    def distinct(self, columns: Sequence[str]) -> pd.DataFrame:
        return self.data[list(columns)].dropna().drop_duplicates().astype("string")

    def to_pandas(self) -> pd.DataFrame:
        self.collects += 1
        out = self.data.copy()
        if self.links is not None:
            col, mapping = self.links
            ids = out[col].astype("string")
            out[col] = ids.where(~ids.isin(mapping.index), ids.map(mapping))
        return out

    def with_links(self, column: str, mapping: pd.Series) -> RemoteTable:
        return FakeRemote(self.data, links=(column, mapping))


def test_remote_is_collected_once_on_read_and_recorded() -> None:
    users = pd.DataFrame({"user": ["a", "b"]})
    events = FakeRemote(pd.DataFrame({"user": ["a", "a", "b"], "kind": ["v", "c", "v"]}))
    t = TableMap({"users": users}, {"events": events}, order=["events", "users"])
    assert isinstance(events, RemoteTable)
    assert list(t) == ["events", "users"] and len(t) == 2 and "events" in t
    assert t.rows("events") == 3 and t.columns("events") == ("user", "kind")
    assert t.remote("events") is events and t.remote("users") is None
    assert t.collected == [] and events.collects == 0
    assert dict(t.local_items()).keys() == {"users"}
    pd.testing.assert_frame_equal(t["events"], events.data)
    _ = t["events"]
    assert events.collects == 1 and t.collected == ["events"]
    with pytest.raises(KeyError):
        _ = t["nope"]


def test_a_table_is_local_or_remote_not_both_and_order_names_them_all() -> None:
    frame = pd.DataFrame({"x": [1]})
    with pytest.raises(ValueError, match="both local and remote"):
        TableMap({"a": frame}, {"a": FakeRemote(frame)})
    with pytest.raises(ValueError, match="does not name"):
        TableMap({"a": frame}, order=["a", "b"])


def test_replace_keeps_the_order_and_the_other_tables() -> None:
    a, b = pd.DataFrame({"x": [1]}), FakeRemote(pd.DataFrame({"y": [2]}))
    t = TableMap({"a": a}, {"b": b}, order=["b", "a"])
    u = t.replace("b", pd.DataFrame({"y": [3]}))
    assert list(u) == ["b", "a"] and u.remote("b") is None and int(u["b"]["y"][0]) == 3
    assert t.remote("b") is b  # the original is unchanged


def test_identity_links_reach_a_remote_table_without_collecting_it(
    linked_policy: Policy,
) -> None:
    users = pd.DataFrame({"openid": ["a1", "a2", "b1"], "unionid": ["P", "P", "Q"]})
    orders = FakeRemote(pd.DataFrame({"openid": ["a1", "a2", "b1", "c1"], "amount": [1, 2, 3, 4]}))
    res = link_identities(
        linked_policy, TableMap({"users": users}, {"orders": orders}), frozenset({"a2"}), None
    )
    held = res.tables.remote("orders")
    assert held is not None and orders.collects == 0
    assert res.counts["accounts_linked"] == 3 and res.counts["persons_linked"] == 2
    assert res.tables["orders"]["openid"].tolist() == ["P", "P", "Q", "c1"]
    assert res.opted_out == frozenset({"P"})


@pytest.fixture
def linked_policy(tmp_path: Any) -> Policy:
    from test_identity_links import _policy

    return _policy(tmp_path)
