"""The `rights` commands, and `run`/`sanitize`/`audit verify` with a rights register."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pandas as pd
import pytest
from _rights_helpers import NOW, POLICY, PURPOSE
from typer.testing import CliRunner

from privacy_profile.cli import app
from privacy_profile.demo import generate_demo_data
from privacy_profile.ingest import KeyRing
from privacy_profile.policy import load_policy_file
from privacy_profile.rights import identify

runner = CliRunner()


@pytest.fixture
def env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MARKETING", "REPORTING", "CUSTODIAN"):
        monkeypatch.setenv(f"PRIVACY_PROFILE_KEY_{name}", secrets.token_hex(32))


def _ok(args: list[str], stdin: str | None = None) -> str:
    result = runner.invoke(app, args, input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


def test_rights_commands_end_to_end(env_keys: None, tmp_path: Path) -> None:
    policy = load_policy_file(POLICY).policy
    data = generate_demo_data(tmp_path, n_users=1500, seed=5, now=NOW, policy=policy)
    out, store, reg = tmp_path / "out", tmp_path / "store", tmp_path / "rights.sqlite"
    runlog = out / "runs" / "runlog.jsonl"
    common = ["--policy", str(POLICY), "--purpose", PURPOSE, "--input", str(data.input_dir)]
    ledger = ["--ledger", str(tmp_path / "ledger.sqlite")]
    _ok(["run", *common, "--out", str(out), *ledger])
    _ok(["sanitize", *common, "--out", str(store)])
    users = pd.read_parquet(store / "users.parquet")
    keys = KeyRing.from_policy(policy)
    raw = next(
        r
        for r in pd.read_csv(data.input_dir / "users.csv", dtype=str)["openid"].dropna()
        if identify(r, policy, keys).pseudonyms["marketing_analytics"] in set(users["openid"])
    )
    reg_args = ["--policy", str(POLICY), "--register", str(reg), "--runlog", str(runlog)]
    text = _ok(["rights", "submit", "erase", "--subject-id", "-", *reg_args], stdin=raw + "\n")
    request_id = text.split()[1]
    assert re.search(r"due \d{4}-\d{2}-\d{2}", text)
    assert (reg.stat().st_mode & 0o777) == 0o600
    assert raw.encode() not in reg.read_bytes()
    assert raw not in runlog.read_text(encoding="utf-8")
    status = _ok(["rights", "status", "--policy", str(POLICY), "--register", str(reg)])
    assert request_id in status and "open" in status
    mine = ["rights", "status", "--policy", str(POLICY), "--register", str(reg), "--subject-id"]
    assert request_id in _ok([*mine, raw])
    assert "no requests" in _ok([*mine, "o_somebody_else"])
    done = _ok(
        [
            "rights", "process", request_id, *reg_args,
            "--store", str(store), "--runs", str(out / "runs"),
        ]
    )  # fmt: skip
    assert "completed" in done and "store_rows_removed" in done
    p = identify(raw, policy, keys).pseudonyms["marketing_analytics"]
    assert p not in set(pd.read_parquet(store / "users.parquet")["openid"])
    # the next sanitize and run suppress the subject before anything else
    _ok(["sanitize", *common, "--out", str(store), "--rights-register", str(reg)])
    assert p not in set(pd.read_parquet(store / "users.parquet")["openid"])
    run_text = _ok(["run", *common, "--out", str(out), *ledger, "--rights-register", str(reg)])
    assert "suppressed_erasure_request" in run_text
    run_dir = sorted((out / "runs").glob("*/lineage"))[0].parent
    audit = [
        "audit", "verify", str(run_dir), *ledger, "--no-pii-scan",
        "--rights-register", str(reg),
    ]  # fmt: skip
    assert "request(s) match the run log" in _ok(audit)
    assert "completed" in _ok(["rights", "status", "--policy", str(POLICY), "--register", str(reg)])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["erase", "--subject-id", "   "], "malformed subject id"),
        (["erase", "--subject-id", "a\x00b"], "malformed subject id"),
        (["opt-out", "--subject-id", "o123", "--purpose", "no.such.use"], "unknown purpose"),
        (["opt-out", "--subject-id", "o123", "--scope", "forever"], "unknown opt-out scope"),
        (["forget", "--subject-id", "o123"], "unknown request kind"),
        (["correct", "--subject-id", "o123", "--set", "users.openid=x"], "cannot be corrected"),
    ],
)
def test_bad_requests_are_clear_errors(
    env_keys: None, tmp_path: Path, args: list[str], message: str
) -> None:
    reg = tmp_path / "r.sqlite"
    extra = ["--policy", str(POLICY), "--register", str(reg), "--runlog", str(tmp_path / "l")]
    result = runner.invoke(app, ["rights", "submit", *args, *extra])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert "o123" not in result.output


def test_process_needs_an_existing_register(tmp_path: Path) -> None:
    args = ["--policy", str(POLICY), "--register", str(tmp_path / "none.sqlite")]
    result = runner.invoke(app, ["rights", "process", "rq-x", *args, "--runlog", "l.jsonl"])
    assert result.exit_code == 1 and "does not exist" in result.output
    assert not (tmp_path / "none.sqlite").exists()
