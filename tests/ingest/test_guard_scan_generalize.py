"""Identifiers in sanitized tables, free-text scan, generalization and k-anonymity."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _ingest_helpers import NOW, PURPOSE, Shop, make_policy

from privacy_profile.errors import InputError, LeakDetectedError
from privacy_profile.ingest import IdentifierIndex, KeyRing, sanitize, write_sanitized
from privacy_profile.ingest.generalize import GeneralizeParams, generalize_column
from privacy_profile.ingest.kanon import enforce_k_anonymity
from privacy_profile.policy.model import (
    AgeBand,
    CityToProvince,
    DateTruncate,
    DateUnit,
    NumericRound,
    Policy,
    TopBottomCode,
)


def test_write_refuses_a_tampered_result_and_leaves_nothing(
    shop: Shop, policy: Policy, keys: KeyRing, tmp_path: Path
) -> None:
    res = sanitize(shop.dir, policy, PURPOSE, keys, now=NOW)
    res.tables["orders"].loc[0, "category"] = f"note for {shop.users['ok']} today"
    out = tmp_path / "out"
    with pytest.raises(LeakDetectedError, match=r"orders\.category"):
        write_sanitized(res, out)
    assert not out.exists()
    assert list(tmp_path.glob(".out*")) == []


def test_sanitize_fills_the_given_index_with_normalised_identifiers(
    shop: Shop, policy: Policy, keys: KeyRing
) -> None:
    index = IdentifierIndex()
    res = sanitize(shop.dir, policy, PURPOSE, keys, now=NOW, identifiers=index)
    assert res.identifiers is index and len(index) > 0
    oid = shop.users["ok"]
    found = index.find([f"https://x.example/?openid={oid.upper()}", "nothing here"])
    assert [label for label, mask in found.items() if mask[0]] and not any(
        mask[1] for mask in found.values()
    )
    assert oid not in repr(index) and oid not in repr(vars(index))


@dataclass(frozen=True)
class _Result:
    series: pd.Series
    counts: Mapping[str, int]
    errored: pd.Index


@dataclass
class _ColumnReport:
    share: float

    def flags(self, threshold: float = 0.1) -> tuple[str, ...]:
        return ("CN_MOBILE",) if self.share >= threshold else ()


@dataclass
class FakeScanner:
    """Replaces 11-digit mobiles with <CN_MOBILE>; cells containing 'ERR' fail to scan."""

    calls: list[str] = field(default_factory=list)

    def redact_series(
        self, series: pd.Series, *, replace: Callable[[Any, str], str] | None = None
    ) -> _Result:
        self.calls.append("redact")
        s = series.astype("string")
        n = int(s.str.count(r"1\d{10}").fillna(0).sum())
        out = s.str.replace(r"1\d{10}", "<CN_MOBILE>", regex=True)
        err = s.index[s.str.contains("ERR").fillna(False).to_numpy(dtype=bool)]
        out[err] = pd.NA
        return _Result(out, {"CN_MOBILE": n} if n else {}, err)

    def scan_texts(self, texts: Sequence[str | None]) -> list[list[Any]]:
        self.calls.append("texts")  # the re-scan of redacted text finds nothing left
        return [[] if t is None or not re.search(r"1\d{10}", t) else [object()] for t in texts]

    def scan_column(self, series: pd.Series) -> _ColumnReport:
        self.calls.append("column")
        s = series.dropna().astype(str)
        return _ColumnReport(float(s.str.contains(r"1\d{10}").mean()) if len(s) else 0.0)


def test_scan_columns_redacted_with_scanner_and_dropped_without(
    shop: Shop, policy: Policy, keys: KeyRing
) -> None:
    ev = pd.read_csv(shop.dir / "events.csv", dtype=str)
    ev["search_keyword"] = "shoes"
    ev.loc[0, "search_keyword"] = "call 13900001111"
    ev.loc[1, "search_keyword"] = "ERR text"
    ev.to_csv(shop.dir / "events.csv", index=False)
    res = sanitize(shop.dir, policy, PURPOSE, keys, now=NOW, scanner=FakeScanner())
    kw = res.tables["events"]["search_keyword"]
    assert "call <CN_MOBILE>" in set(kw) and kw.isna().sum() == 1
    rep = res.report.tables["events"]
    assert rep.scan_findings["search_keyword"] == {"CN_MOBILE": 1}
    assert rep.scan_cells_blanked == {"search_keyword": 1}
    without = sanitize(shop.dir, policy, PURPOSE, keys, now=NOW)
    assert "search_keyword" not in without.tables["events"].columns
    assert "fail closed" in without.report.tables["events"].scan_columns_dropped["search_keyword"]


def test_column_scan_refuses_or_drops_identifier_columns(shop: Shop, keys: KeyRing) -> None:
    ev = pd.read_csv(shop.dir / "events.csv", dtype=str)
    ev["category"] = [f"1390000{i:04d}" for i in range(len(ev))]
    ev.to_csv(shop.dir / "events.csv", index=False)
    with pytest.raises(InputError, match=r"events\.category.*CN_MOBILE"):
        sanitize(shop.dir, make_policy(), PURPOSE, keys, now=NOW, scanner=FakeScanner())

    def drop(d: dict) -> None:
        d["pii_scan"]["undeclared_identifier_columns"] = "drop"

    res = sanitize(shop.dir, make_policy(drop), PURPOSE, keys, now=NOW, scanner=FakeScanner())
    assert "category" not in res.tables["events"].columns
    assert "category" in res.report.tables["events"].scan_columns_dropped


def test_generalizations() -> None:
    p = GeneralizeParams(now=dt.datetime(2026, 6, 1))
    bd = pd.Series(pd.to_datetime(["2012-06-02", "2012-06-01", "1950-01-01", None]))
    out, unmapped = generalize_column(bd, AgeBand(bands=[0, 14, 18, 65]), p)
    assert out.tolist()[:3] == ["0-13", "14-17", "65+"] and pd.isna(out[3]) and unmapped == 0
    ts = pd.Series(pd.to_datetime(["2026-03-04 05:06:07"]))
    assert generalize_column(ts, DateTruncate(unit=DateUnit.HOUR), p)[0][0] == pd.Timestamp(
        "2026-03-04 05:00"
    )
    assert generalize_column(ts, DateTruncate(unit=DateUnit.YEAR), p)[0][0] == pd.Timestamp(
        "2026-01-01"
    )
    cities = pd.Series(["杭州市", "杭州", "330106", "朝阳区", "Atlantis", "北京市", None])
    prov, unmapped = generalize_column(cities, CityToProvince(), p)
    assert prov.tolist()[:3] == ["浙江省", "浙江省", "浙江省"]
    assert pd.isna(prov[3])  # 朝阳区 exists in Beijing and Liaoning: ambiguous, suppressed
    assert pd.isna(prov[4]) and prov[5] == "北京市" and unmapped == 2
    num = pd.Series([1.0, 7.4, 500.0])
    assert generalize_column(num, NumericRound(step=5), p)[0].tolist() == [0.0, 5.0, 500.0]
    clipped = generalize_column(num, TopBottomCode(lower=2, upper=100), p)[0]
    assert clipped.tolist() == [2.0, 7.4, 100.0]


def test_k_anonymity_suppresses_small_classes() -> None:
    df = pd.DataFrame(
        {"age": ["18-24"] * 5 + ["25-34"] * 2 + [None] * 3, "g": ["f"] * 5 + ["m"] * 2 + ["f"] * 3}
    )
    kept, rep = enforce_k_anonymity(df, ["age", "g"], 3, table="users")
    assert rep.classes == 3 and rep.smallest_class == 2 and rep.classes_below_k == 1
    assert rep.rows_suppressed == 2 and len(kept) == 8 and rep.smallest_class_after == 3
    assert rep.satisfied


def test_k_anonymity_applied_in_sanitize(shop: Shop, keys: KeyRing) -> None:
    def k3(d: dict) -> None:
        d["privacy"]["k_anonymity"]["k"] = 3

    res = sanitize(shop.dir, make_policy(k3), PURPOSE, keys, now=NOW)
    rep = res.report.tables["users"]
    assert rep.k_anonymity is not None and rep.k_anonymity.k == 3
    assert rep.excluded.get("k_anonymity_suppressed", 0) == rep.k_anonymity.rows_suppressed > 0
    sizes = res.tables["users"].groupby(["birthdate", "gender", "city"], dropna=False).size()
    assert sizes.min() >= 3
    assert rep.reconciles()
