"""Per-row checks once every identifier is indexed (issue 14, item 9): a kept cell equal to
another user's identifier, or holding a phone number, quarantines its row instead of refusing
the run; the evidence holds digests, never the raw value; counts reconcile. And rows of
subjects that k-anonymity suppressed leave the other tables (excluded, counted)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from _ingest_helpers import NOW, PURPOSE, Shop, make_policy

from privacy_profile.errors import ScanError
from privacy_profile.ingest import KeyRing, sanitize, write_sanitized
from privacy_profile.ingest.row_checks import (
    KEPT_IDENTIFIER,
    KEPT_PHONE,
    RESCAN_ERROR,
    phone_cells,
    rescan,
)
from privacy_profile.ingest.table_stage import K_SUBJECT_SUPPRESSED, K_SUPPRESSED
from privacy_profile.policy.model import Policy


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("13912345678", True),
        ("139-1234-5678", True),
        ("139 1234 5678", True),
        ("(139)12345678", True),
        ("+86 139 1234 5678", True),
        ("0086-13912345678", True),
        ("８６１３９１２３４５６７８", True),  # full-width digits
        ("call 13912345678 now", True),
        ("电话13912345678", True),
        ("item0", False),
        ("A1", False),
        ("12912345678", False),  # 12x is not a mobile prefix
        ("1391234567", False),  # ten digits
        ("2026013912345678", False),  # inside a longer run of digits
        ("SKU13912345678", False),  # glued to letters (documented limit, as the index)
        ("", False),
    ],
)
def test_phone_cells(text: str, phone: bool) -> None:
    assert phone_cells([text, "plain"]).tolist() == [phone, False]


def _all_cells(frame: pd.DataFrame) -> set[str]:
    return {str(v) for col in frame.columns for v in frame[col].dropna()}


def test_a_kept_cell_equal_to_another_users_identifier_quarantines_its_row(
    shop: Shop, policy: Policy, keys: KeyRing, tmp_path: Path
) -> None:
    clean = sanitize(shop.dir, policy, PURPOSE, keys, now=NOW)
    ev = pd.read_csv(shop.dir / "events.csv", dtype=str)
    planted = shop.users["withdrawn"]  # another user's raw openid in a kept column
    ev.loc[0, "item_id"] = planted
    ev.loc[1, "item_id"] = f"see {shop.users['ok'].upper()}"  # inside a cell, other case
    ev.to_csv(shop.dir / "events.csv", index=False)
    res = sanitize(shop.dir, policy, PURPOSE, keys, now=NOW)  # the run is not refused
    rep = res.report.tables["events"]
    assert rep.quarantined.get(KEPT_IDENTIFIER) == 2
    assert rep.accepted_rows == clean.report.tables["events"].accepted_rows - 2
    assert rep.reconciles() and res.report.reconciles()
    q = res.quarantine["events"]
    hits = q[q["_reason"] == KEPT_IDENTIFIER]
    assert sorted(hits["_row"].tolist()) == [1, 2]  # record numbers of the planted rows
    assert set(hits["_column"]) == {"item_id"}
    assert hits["item_id"].str.startswith("hmac:").all()  # digested, never raw
    for frame in (*res.tables.values(), *res.quarantine.values()):
        cells = _all_cells(frame)
        assert planted not in cells and not any(shop.users["ok"].upper() in c for c in cells)
    files = write_sanitized(res, tmp_path / "out")  # internal files hold no raw value either
    for p in files:
        data = p.read_bytes()
        assert planted.encode() not in data and shop.users["ok"].upper().encode() not in data
    written = pq.read_table(tmp_path / "out" / "quarantine" / "events.parquet").to_pandas()
    assert (written["_reason"] == KEPT_IDENTIFIER).sum() == 2


def test_a_phone_in_a_kept_id_like_column_quarantines_its_row(
    shop: Shop, policy: Policy, keys: KeyRing
) -> None:
    """Below the column scan's threshold (2 of many cells), each phone-shaped cell of a kept
    id-like column quarantines its row, whoever's number it is."""
    ev = pd.read_csv(shop.dir / "events.csv", dtype=str)
    ev.loc[0, "item_id"] = "139-1234-5678"  # nobody's phone in the input
    ev.loc[6, "item_id"] = "+86 13912345679"  # rows 0-2 and 6-8: admitted users' events
    ev.loc[1, "item_id"] = "2026013912345678"  # a long numeric id: not a phone
    ev.to_csv(shop.dir / "events.csv", index=False)
    res = sanitize(shop.dir, policy, PURPOSE, keys, now=NOW)
    rep = res.report.tables["events"]
    assert rep.quarantined.get(KEPT_PHONE) == 2
    assert rep.reconciles()
    q = res.quarantine["events"]
    assert sorted(q.loc[q["_reason"] == KEPT_PHONE, "_row"].tolist()) == [1, 7]
    cells = _all_cells(q) | _all_cells(res.tables["events"])
    assert "139-1234-5678" not in cells and "+86 13912345679" not in cells
    assert "2026013912345678" in set(res.tables["events"]["item_id"])


def test_rows_of_subjects_suppressed_by_k_anonymity_leave_the_other_tables(
    shop: Shop, keys: KeyRing
) -> None:
    """k so large that every subject is suppressed in the users table: their events and orders
    are excluded too (before: 47 members suppressed and 0 order exclusions)."""
    base = make_policy()
    strict = make_policy(lambda d: d["privacy"]["k_anonymity"].__setitem__("k", 1000))
    kept = sanitize(shop.dir, base, PURPOSE, keys, now=NOW).report.tables
    res = sanitize(shop.dir, strict, PURPOSE, keys, now=NOW)
    users = res.report.tables["users"]
    assert users.excluded[K_SUPPRESSED] == kept["users"].accepted_rows > 0
    for table in ("events", "orders"):
        rep = res.report.tables[table]
        assert kept[table].accepted_rows > 0
        assert rep.excluded.get(K_SUBJECT_SUPPRESSED) == kept[table].accepted_rows
        assert rep.accepted_rows == 0 and len(res.tables[table]) == 0
        assert rep.reconciles()
    for table in kept:  # nothing excluded for that reason when k-anonymity suppresses nobody
        assert K_SUBJECT_SUPPRESSED not in kept[table].excluded


@dataclass(frozen=True)
class _Finding:
    entity_type: str
    start: int
    end: int


@dataclass(frozen=True)
class _Redacted:
    series: pd.Series
    counts: dict[str, int]
    errored: pd.Index


@dataclass
class LeakyScanner:
    """Its redaction misses a name (the first pass lets "张伟" through, as a weak model can);
    its scan of texts finds names, mobiles and its own tags."""

    fail: bool = False
    scanned: list[str] = field(default_factory=list)

    def redact_series(
        self, series: pd.Series, *, replace: Callable[[Any, str], str] | None = None
    ) -> _Redacted:
        s = series.astype("string").str.replace(r"1\d{10}", "<PHONE_NUMBER>", regex=True)
        return _Redacted(s, {}, s.index[:0])

    def scan_texts(self, texts: Sequence[str | None]) -> list[list[_Finding]]:
        if self.fail:
            raise ScanError("the model failed")
        self.scanned.extend(t for t in texts if t is not None)
        out: list[list[_Finding]] = []
        for t in texts:
            pattern = r"张伟|1\d{10}|PHONE_NUMBER"  # also inside its own tag: not a residue
            found = [_Finding("PII", m.start(), m.end()) for m in re.finditer(pattern, t or "")]
            out.append(found)
        return out

    def scan_column(self, series: pd.Series) -> Any:
        class _Flags:
            def flags(self, threshold: float = 0.05) -> tuple[str, ...]:
                return ()

        return _Flags()


def test_rescan_blanks_residual_pii_outside_tags_only() -> None:
    text = pd.Series(["发票抬头张伟", "call <PHONE_NUMBER>", None, "shoes", "发票抬头张伟"])
    out, counts = rescan(LeakyScanner(), text)
    assert out.isna().tolist() == [True, False, True, False, True]
    assert counts == {"PII": 2}
    blanked, failed = rescan(LeakyScanner(fail=True), text)
    assert blanked.isna().all() and failed == {RESCAN_ERROR: 4}  # fail closed


def test_sanitized_free_text_is_rescanned_and_a_residue_blanked(
    shop: Shop, policy: Policy, keys: KeyRing, tmp_path: Path
) -> None:
    ev = pd.read_csv(shop.dir / "events.csv", dtype=str)
    ev["search_keyword"] = "shoes"
    ev.loc[0, "search_keyword"] = "发票抬头张伟"  # missed by the first pass
    ev.loc[1, "search_keyword"] = "call 13900001111"  # redacted by the first pass
    ev.to_csv(shop.dir / "events.csv", index=False)
    scanner = LeakyScanner()
    res = sanitize(shop.dir, policy, PURPOSE, keys, now=NOW, scanner=scanner)
    assert "call <PHONE_NUMBER>" in scanner.scanned  # the redacted text is what is re-scanned
    rep = res.report.tables["events"]
    assert rep.rescan_cells_blanked == {"search_keyword": {"PII": 1}}
    kw = res.tables["events"]["search_keyword"]
    assert not kw.astype("string").str.contains("张伟").fillna(False).any()
    assert "call <PHONE_NUMBER>" in set(kw.dropna())
    assert rep.reconciles()  # a blanked cell keeps its row
    files = write_sanitized(res, tmp_path / "out")
    assert not any("张伟".encode() in p.read_bytes() for p in files)
