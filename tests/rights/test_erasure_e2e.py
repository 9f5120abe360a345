"""Erasure, access and opt-out end to end on the demo shop (issue 17's acceptance tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from _rights_helpers import NOW, PURPOSE, World

from privacy_profile.errors import AuditError, InputError
from privacy_profile.ingest.pseudonymize import Tokenizer
from privacy_profile.ingest.suppress import SUPPRESSED_ERASURE
from privacy_profile.lineage.audit import verify_rights_register, verify_run
from privacy_profile.policy.model import RightsSpec
from privacy_profile.rights import RightsRegister, identify, process_request
from privacy_profile.rights import _files as files


def _values_in(path: Path) -> set[str]:
    """Every string cell (Parquet, CSV) or the whole text (other files) of an output."""
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        return {str(v) for c in frame.columns for v in frame[c].dropna().unique()}
    return {path.read_text(encoding="utf-8", errors="replace")}


def _occurs(world: World, secrets: set[str]) -> list[str]:
    """Outputs (everything but the raw input and the register) holding any of ``secrets``."""
    hits = []
    for p in sorted(world.root.rglob("*")):
        if not p.is_file() or "input" in p.relative_to(world.root).parts:
            continue
        if p.name.startswith("rights.sqlite") or p.suffix in (".sqlite", ".png", ".svg"):
            continue
        values = _values_in(p)
        if any(s in v for v in values for s in secrets):
            hits.append(str(p.relative_to(world.root)))
    return hits


def _store_rows(world: World, table: str, pseudonym: str) -> pd.DataFrame:
    frame = pd.read_parquet(world.store / f"{table}.parquet")
    return frame[frame["openid"] == pseudonym].reset_index(drop=True)


def test_access_returns_exactly_their_rows(world: World, tmp_path: Path) -> None:
    raw = world.subjects_everywhere()[1]
    ident = identify(raw, world.loaded.policy, world.keys)
    p = ident.pseudonyms["marketing_analytics"]
    with world.register() as reg:
        req = reg.submit("access", raw, world.keys)
        out = process_request(
            reg, req.request_id, stores=[world.store], runs=[world.runs], export_dir=tmp_path / "x"
        )
    doc = json.loads((tmp_path / "x" / "access.json").read_text(encoding="utf-8"))
    for table in ("users", "events", "orders"):
        expected = _store_rows(world, table, p)
        got = [s for s in doc["sources"] if s["table"] == table and s["kind"] == "rows"]
        assert len(got) == 1 and len(got[0]["rows"]) == len(expected) > 0
        assert {r["openid"] for r in got[0]["rows"]} == {p}
    assert out.summary["rows_found"] == doc["row_count"] >= 3
    assert doc["audiences"], "the subject was chosen in some audience"
    assert {a["run_id"] for a in doc["audiences"]} == {world.release.run_id}
    page = (tmp_path / "x" / "access.html").read_text(encoding="utf-8")
    assert "个人信息查阅答复" in page and "Access request response" in page
    assert "差分隐私" in page and "differentially private" in page
    assert raw not in page and raw not in json.dumps(doc)
    assert ((tmp_path / "x" / "access.json").stat().st_mode & 0o777) == 0o600
    assert out.request.completed is not None


def test_access_export_is_never_under_a_marketing_output(world: World) -> None:
    raw = world.subjects_everywhere()[1]
    bad = world.release.run_dir / "marketing" / "export"
    with world.register() as reg:
        req = reg.submit("access", raw, world.keys)
        with pytest.raises(Exception, match="marketing output"):
            process_request(reg, req.request_id, stores=[world.store], export_dir=bad)
        assert reg.request(req.request_id).is_open
    assert not bad.exists()


def test_opt_out_removes_the_token_from_audiences_on_disk(world: World) -> None:
    raw = world.subjects_everywhere()[2]
    assert world.keys.custodian is not None
    token = Tokenizer(world.keys.custodian).tokenize_values([raw])[0]
    before = [a for a in world.release.activation_files if token in a.read_text(encoding="utf-8")]
    assert before
    with world.register() as reg:
        req = reg.submit("opt-out", raw, world.keys, purpose="marketing.advertising.profiling")
        out = process_request(reg, req.request_id, runs=[world.runs])
        sup = reg.suppression()
    assert out.summary["audience_tokens_removed"] == len(before)
    for a in world.release.activation_files:
        assert token not in a.read_text(encoding="utf-8")
    # activation only: still profiled, never targeted by the next run
    p = identify(raw, world.loaded.policy, world.keys).pseudonyms["marketing_analytics"]
    assert p in sup.activation_excluded("marketing_analytics", "marketing.advertising.profiling")
    assert p not in sup.excluded("marketing_analytics", "marketing.advertising.profiling")
    # the rewritten audiences are recorded again: the run still verifies
    verify_run(world.release.run_dir, ledger_path=world.root / "ledger.sqlite")


def test_erase_then_run_again_leaves_no_trace(world: World) -> None:
    raw = world.subjects_everywhere()[0]
    ident = identify(raw, world.loaded.policy, world.keys)
    assert world.keys.custodian is not None
    token = Tokenizer(world.keys.custodian).tokenize_values([raw])[0]
    secrets = {*ident.pseudonyms.values(), token}
    assert _occurs(world, secrets), "the subject is on disk before the erasure"
    with world.register() as reg:
        req = reg.submit("erase", raw, world.keys)
        out = process_request(reg, req.request_id, stores=[world.store], runs=[world.runs])
        assert out.summary["store_rows_removed"] >= 3
        assert out.summary["audience_tokens_removed"] >= 1
        assert _occurs(world, secrets) == []
        # later runs and sanitize apply the suppression list before anything else
        again = world.run(reg, seed=9)
        world.sanitize(reg)
        assert reg.request(req.request_id).completed is not None
        n = verify_rights_register(reg.path, world.run_log.path)
        assert n >= 1
    assert _occurs(world, secrets) == []
    for table in ("users", "events", "orders", "consents"):
        raw_rows = world.raw(table)
        theirs = int((raw_rows["openid"].str.strip() == raw).sum())
        assert theirs > 0
        assert again.ingest.tables[table].excluded[SUPPRESSED_ERASURE] == theirs
    assert again.ingest.reconciles()
    assert again.ingest.rights[f"subjects_{SUPPRESSED_ERASURE}"] == 1
    # the lineage of the later run shows the suppression (counts per reason)
    assert SUPPRESSED_ERASURE in again.lineage_markdown.read_text(encoding="utf-8")
    # the first run's audiences were rewritten and recorded again: it still verifies
    verify_run(world.release.run_dir, ledger_path=world.root / "ledger.sqlite")


def test_a_crash_mid_erasure_leaves_the_old_file_and_the_request_open(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = world.subjects_everywhere()[3]
    events = world.store / "events.parquet"
    before = events.read_bytes()
    calls = {"n": 0}
    real = files._filtered

    def failing(*args: object, **kw: object) -> object:
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError("disk full (injected)")
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(files, "_filtered", failing)
    monkeypatch.setattr(files, "BATCH_ROWS", 1000)  # several batches: fail in the middle
    with world.register() as reg:
        req = reg.submit("erase", raw, world.keys)
        with pytest.raises(OSError, match="injected"):
            process_request(reg, req.request_id, stores=[world.store], runs=[world.runs])
        assert reg.request(req.request_id).is_open
        assert calls["n"] == 2
        left = sorted(p.name for p in world.store.iterdir() if p.name.startswith("."))
        assert left == [], "no temporary file is left behind"
        monkeypatch.setattr(files, "_filtered", real)
        # the crash hit the first file rewritten: it is the old file, byte for byte
        assert events.read_bytes() == before
        out = process_request(reg, req.request_id, stores=[world.store], runs=[world.runs])
        assert out.request.completed is not None
        assert out.summary["store_rows_removed"] > 0
        assert events.read_bytes() != before
        assert pd.read_parquet(events).shape[0] > 0


def test_the_register_must_match_the_log(world: World, tmp_path: Path) -> None:
    import shutil
    import sqlite3

    raw = world.subjects_everywhere()[1]
    with world.register() as reg:
        reg.submit("access", raw, world.keys)
        path = reg.path
    copy = tmp_path / "copy.sqlite"
    shutil.copy(path, copy)
    verify_rights_register(copy, world.run_log.path)
    conn = sqlite3.connect(copy)
    with conn:
        conn.execute("UPDATE requests SET due = '2099-01-01T00:00:00+00:00'")
    conn.close()
    with pytest.raises(AuditError, match="differs from run log"):
        verify_rights_register(copy, world.run_log.path)
    shutil.copy(path, copy)
    conn = sqlite3.connect(copy)
    with conn:
        conn.execute("DELETE FROM requests")
    conn.close()
    with pytest.raises(AuditError, match="missing from the register"):
        verify_rights_register(copy, world.run_log.path)


def test_correction_is_merged_by_the_next_run(world: World) -> None:
    from privacy_profile.ingest import sanitize

    raw = world.subjects_everywhere()[1]
    # the shipped policy lists no correctable column: this one lets a person fix their channel
    policy = world.loaded.policy.model_copy(
        update={"rights": RightsSpec(correctable_columns=["users.channel"])}
    )
    p = identify(raw, policy, world.keys).pseudonyms["marketing_analytics"]
    before = _store_rows(world, "users", p)["channel"].iloc[0]
    new = "offline_qr" if before != "offline_qr" else "ads"
    with RightsRegister(world.root / "rights.sqlite", policy, run_log=world.run_log) as reg:
        with pytest.raises(InputError, match="cannot be corrected"):
            reg.submit("correct", raw, world.keys, corrections={"users.city": "杭州市"})
        req = reg.submit("correct", raw, world.keys, corrections={"users.channel": new})
        pending = sanitize(
            world.data.input_dir, policy, PURPOSE, world.keys,
            now=NOW, suppression=reg.suppression(),
        )  # fmt: skip
        users = pending.tables["users"]
        assert users.loc[users["openid"] == p, "channel"].tolist() == [before]
        out = process_request(reg, req.request_id)
        assert out.summary["corrections_activated"] == 1
        after = sanitize(
            world.data.input_dir, policy, PURPOSE, world.keys,
            now=NOW, suppression=reg.suppression(),
        )  # fmt: skip
    users = after.tables["users"]
    assert users.loc[users["openid"] == p, "channel"].tolist() == [new]
    assert after.report.rights["cells_corrected"] == 1
    assert after.report.reconciles()


def test_opting_out_of_profiling_drops_the_subject_from_that_purpose(world: World) -> None:
    from privacy_profile.ingest import sanitize
    from privacy_profile.ingest.suppress import SUPPRESSED_OPT_OUT

    raw = world.subjects_everywhere()[2]
    p = identify(raw, world.loaded.policy, world.keys).pseudonyms["marketing_analytics"]
    with world.register() as reg:
        req = reg.submit("opt-out", raw, world.keys, purpose=PURPOSE, scope="profiling")
        process_request(reg, req.request_id, runs=[world.runs])
        sup = reg.suppression()
    res = sanitize(world.data.input_dir, world.loaded.policy, PURPOSE, world.keys, now=NOW,
                   suppression=sup)  # fmt: skip
    for table in ("users", "events", "orders"):
        assert p not in set(res.tables[table]["openid"])
    assert res.report.tables["users"].excluded[SUPPRESSED_OPT_OUT] >= 1
    assert res.report.reconciles()
    # another purpose is not affected by an opt-out from this one
    other = "analytics.reporting.campaign_insights"
    q = identify(raw, world.loaded.policy, world.keys).pseudonyms["campaign_reporting"]
    assert q not in sup.excluded("campaign_reporting", other)
