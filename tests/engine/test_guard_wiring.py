"""The release guard through the engine's own wiring: ingestion fills the run's identifier
index, the engine hands it to the one release guard, and planted forms of raw identifiers of
the input are refused in any output (formatted phones, +86/0086, full-width digits, upper-case
ids, a nickname inside a note, ids inside URLs and JSON strings, e-mails in another case)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from privacy_profile import Release, engine, open_ledger, sanitize_then_segment, scanner_for
from privacy_profile.demo import generate_demo_data
from privacy_profile.dp import DPRandom
from privacy_profile.errors import LeakDetectedError
from privacy_profile.ingest import KeyRing
from privacy_profile.lineage import ReleaseGuard
from privacy_profile.lineage.recorder import read_events
from privacy_profile.policy import load_policy_file
from privacy_profile.stages import release as release_stage

ROOT = Path(__file__).resolve().parents[2]
PURPOSE = "marketing.advertising.profiling"
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
EMAIL_COLUMN = """      email:
        category: user.contact.email
        role: direct_identifier
        treatment: drop
"""
RAW = "raw identifier value of the input (keyed-hash match)"


@dataclass
class Shop:
    root: Path
    input_dir: Path
    policy: Path
    user: dict[str, str]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    """The demo shop (small) with an e-mail column added to the users table and the policy."""
    root = tmp_path_factory.mktemp("guard_wiring")
    text = (ROOT / "policies" / "wechat_shop.yaml").read_text(encoding="utf-8")
    anchor = "      nickname:\n        category: user.name\n"
    assert text.count(anchor) == 1
    stock = load_policy_file(ROOT / "policies" / "wechat_shop.yaml")
    data = generate_demo_data(root, n_users=1000, seed=3, now=NOW, policy=stock.policy)
    policy = root / "policy.yaml"
    policy.write_text(text.replace(anchor, EMAIL_COLUMN + anchor), encoding="utf-8")
    users = pd.read_csv(data.input_dir / "users.csv", dtype=str, keep_default_na=False)
    users["email"] = [f"Shopper.{i:04d}@Example.com" for i in range(len(users))]
    users.to_csv(data.input_dir / "users.csv", index=False)
    complete = (
        (users["phone"] != "") & (users["unionid"] != "") & (users["nickname"].str.len() >= 3)
    )
    full = users[complete].iloc[0]
    return Shop(root, data.input_dir, policy, {k: str(v) for k, v in full.items()})


def _run(
    shop: Shop, name: str, plant: Callable[[dict[str, Any]], None] | None, mp: pytest.MonkeyPatch
) -> tuple[Release | LeakDetectedError, Path, list[ReleaseGuard]]:
    """Run the engine; ``plant`` edits the marketing documents the engine releases."""
    guards: list[ReleaseGuard] = []
    real_for_run = ReleaseGuard.for_run
    real_docs = release_stage.marketing_documents

    def spy_for_run(*args: Any, **kwargs: Any) -> ReleaseGuard:
        guards.append(real_for_run(*args, **kwargs))
        return guards[-1]

    def planted_docs(seg: Any) -> dict[str, Any]:
        docs = dict(real_docs(seg))
        if plant is not None:
            plant(docs)
        return docs

    mp.setattr(engine.ReleaseGuard, "for_run", spy_for_run)
    mp.setattr(release_stage, "marketing_documents", planted_docs)
    loaded = load_policy_file(shop.policy)
    out = shop.root / name
    out.mkdir()
    run_id = f"0190aaaa-0000-7000-8000-00000000000{len(name) % 10}"
    with open_ledger(out / "ledger.sqlite", loaded.policy) as ledger:
        try:
            result: Release | LeakDetectedError = sanitize_then_segment(
                shop.input_dir,
                loaded,
                PURPOSE,
                KeyRing.development(loaded.policy),
                ledger,
                out,
                scanner=scanner_for(loaded.policy),
                rng=DPRandom.for_testing(7),
                now=NOW,
                run_id=run_id,
            )
        except LeakDetectedError as e:
            result = e
    return result, out / "runs" / run_id, guards


def _fullwidth(digits: str) -> str:
    return "".join(chr(ord(c) - ord("0") + ord("０")) for c in digits)


def _forms(u: dict[str, str]) -> list[tuple[str, str]]:
    p, oid, nick, mail = u["phone"], u["openid"], u["nickname"], u["email"]
    return [
        (f"{p[:3]}-{p[3:7]}-{p[7:]}", "phone"),
        (f"{p[:3]} {p[3:7]} {p[7:]}", "phone"),
        (f"({p[:3]}){p[3:]}", "phone"),
        (f"+86 {p}", "phone"),
        (f"0086-{p[:3]}-{p[3:]}", "phone"),
        (_fullwidth(p), "phone"),
        (f"call {p[:3]}-{p[3:7]}-{p[7:]} now", "phone"),
        (oid.upper(), "openid"),
        (f"VIP {nick}的订单", "name"),
        (f"https://shop.example/item?openid={oid}&from=share", "openid"),
        (json.dumps({"user": {"openid": oid}}), "openid"),
        (mail.upper(), "email"),
        (f"contact: {mail.swapcase()}.", "email"),
        (u["unionid"].upper(), "unionid"),
    ]


def test_planted_forms_are_refused_through_the_engine(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    forms = _forms(shop.user)

    def plant(docs: dict[str, Any]) -> None:
        docs["planted.csv"] = pd.DataFrame({"segment": "x", "cell": [c for c, _ in forms]})
        docs["segments.json"] = {**docs["segments.json"], "note": forms[8][0]}

    result, run_dir, guards = _run(shop, "refused", plant, monkeypatch)
    assert isinstance(result, LeakDetectedError), "the release was not refused"
    assert len(guards) == 1
    assert {"email", "name", "openid", "phone", "unionid"} <= set(guards[0].identifiers.labels)
    message = result.message
    assert "release refused" in message
    assert f"output 'planted.csv', column 'cell', row 0: {RAW}: phone" in message
    assert f"output 'segments.json', column '$.note': {RAW}: name" in message
    for value in shop.user.values():
        if len(value) >= 4:
            assert value not in message
    # the engine's own guard (its index filled by the engine's sanitize) refuses every form,
    # each alone, naming file, column and category, never the value
    guard = guards[0]
    for cell, category in forms:
        with pytest.raises(LeakDetectedError) as err:
            guard.check({"planted.csv": pd.DataFrame({"cell": [cell]})})
            pytest.fail(f"not refused: a {category} form")
        assert f"output 'planted.csv', column 'cell', row 0: {RAW}: {category}" in err.value.message
        assert cell not in err.value.message
    # nothing was written, and the lineage records the failure
    marketing = run_dir / "marketing"
    assert not marketing.exists() or not any(marketing.iterdir())
    assert read_events(run_dir / "lineage" / "events.jsonl")[-1]["eventType"] == "FAIL"


def test_clean_release_passes_and_evidence_writers_use_the_same_guard(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    benign = [
        "重要价值客户 / important value",
        "Champions",
        "rfm:champions",
        "1184.0",
        "17",
        "2026-11-30",
        "marketing.advertising.profiling",
    ]

    def plant(docs: dict[str, Any]) -> None:
        docs["benign.csv"] = pd.DataFrame({"cell": benign, "n": range(len(benign))})

    result, run_dir, guards = _run(shop, "clean", plant, monkeypatch)
    assert isinstance(result, Release), result
    names = {p.name for p in result.marketing_files}
    assert {"benign.csv", "segments.csv", "segments.json"} <= names
    guard = guards[0]
    # the run id is public; labels, aggregates and the bilingual segment names passed
    assert result.run_id in (run_dir / "marketing" / "segments.json").read_text(encoding="utf-8")
    # quarantine evidence and activation audiences are checked by this same guard
    tampered = {"audience_x.csv": pd.DataFrame({"token": [f"{shop.user['phone']}"]})}
    with pytest.raises(LeakDetectedError, match=r"'audience_x\.csv', column 'token'.*: phone"):
        guard.check_identifiers(tampered, what="activation audiences")
    evidence = pd.DataFrame({"_row": [3], "nickname": [f"备注 {shop.user['nickname']}"]})
    with pytest.raises(LeakDetectedError, match=r"column 'nickname'.*: name"):
        guard.check_identifiers({"users.csv": evidence}, what="quarantine evidence")
