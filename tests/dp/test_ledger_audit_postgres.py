"""`run --ledger postgresql://...` then `audit verify --ledger postgresql://...`: the audit reads
both the run's charges and the dataset's budget row from PostgreSQL (read-only), and catches an
edited budget row or a backdated charge there."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from privacy_profile.cli import app
from privacy_profile.demo import generate_demo_data
from privacy_profile.policy import load_policy_file

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "wechat_shop.yaml"
PURPOSE = "marketing.advertising.profiling"
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)

runner = CliRunner()


@pytest.fixture
def audit_db(pg_url: str) -> str:
    """A database of its own in the session's cluster (the policy's dataset name is fixed)."""
    import psycopg

    name = f"audit_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return pg_url.rsplit("/", 1)[0] + f"/{name}"


def _sql(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)


@pytest.mark.slow  # a whole pipeline run
def test_audit_verify_reads_charges_and_budget_from_postgresql(
    audit_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MARKETING", "REPORTING", "CUSTODIAN"):
        monkeypatch.setenv(f"PRIVACY_PROFILE_KEY_{name}", secrets.token_hex(32))
    policy = load_policy_file(POLICY).policy
    data = generate_demo_data(tmp_path / "in", n_users=1000, seed=3, now=NOW, policy=policy)
    out = tmp_path / "out"
    run = runner.invoke(
        app,
        [
            "run", "--policy", str(POLICY), "--purpose", PURPOSE,
            "--input", str(data.input_dir), "--out", str(out), "--ledger", audit_db,
        ],
    )  # fmt: skip
    assert run.exit_code == 0, run.output + run.stderr
    assert not list(tmp_path.rglob("*.sqlite")), "the run wrote a SQLite ledger"
    run_dir = next(p for p in (out / "runs").iterdir() if p.is_dir())
    verify = ["audit", "verify", str(run_dir), "--ledger", audit_db, "--no-pii-scan"]
    ok = runner.invoke(app, verify)
    assert ok.exit_code == 0, ok.output + ok.stderr
    assert "charge(s) match the lineage" in ok.stdout
    # the budget row is read from PostgreSQL: raising it there is caught
    _sql(audit_db, "UPDATE budgets SET epsilon_units = epsilon_units * 2")
    raised = runner.invoke(app, verify)
    assert raised.exit_code == 1
    assert "the budget was edited" in raised.stderr
    _sql(audit_db, "UPDATE budgets SET epsilon_units = epsilon_units / 2")
    assert runner.invoke(app, verify).exit_code == 0
    # so are the charges: a backdated charge is caught
    _sql(
        audit_db,
        "UPDATE charges SET charged_at = '2026-01-01T00:00:00+00:00' "
        "WHERE charge_id = (SELECT MIN(charge_id) FROM charges)",
    )
    backdated = runner.invoke(app, verify)
    assert backdated.exit_code == 1
    assert "backdated" in backdated.stderr
