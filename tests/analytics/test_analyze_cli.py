"""The `analyze` commands: thin calls over the library, outputs through the release guard."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from privacy_profile.cli import app
from privacy_profile.demo import generate_demo_data
from privacy_profile.dp import ChargeRequest, PrivacyLoss
from privacy_profile.dp.policy_ledger import open_ledger
from privacy_profile.policy.loader import load_policy

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "wechat_shop.yaml"
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
runner = CliRunner()


@pytest.fixture(scope="module")
def sanitized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("an")
    data = generate_demo_data(root, n_users=1500, seed=3, now=NOW, policy=load_policy(POLICY))
    out = root / "sanitized"
    result = runner.invoke(
        app,
        ["sanitize", "--policy", str(POLICY), "--purpose", "marketing.advertising.profiling",
         "--input", str(data.input_dir), "--out", str(out), "--dev-keys"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out, data.input_dir


@pytest.mark.parametrize("kind", ["funnel", "ab", "retention", "kpi"])
def test_analyze_writes_dp_outputs(kind: str, sanitized: tuple[Path, Path], tmp_path: Path) -> None:
    data, inputs = sanitized
    ledger, out = tmp_path / "ledger.sqlite", tmp_path / "out"
    common = ["--policy", str(POLICY), "--data", str(data), "--ledger", str(ledger),
              "--out", str(out), "--date", "2026-11-30"]  # fmt: skip
    extra = ["--costs", str(inputs)] if kind == "kpi" else []
    words = {
        "funnel": ["analyze", "funnel"],
        "ab": ["analyze", "ab"],
        "retention": ["analyze", "retention"],
        "kpi": ["analyze", "kpi"],
    }[kind]
    result = runner.invoke(app, [*words, *common, *extra])
    assert result.exit_code == 0, result.output
    spent = {"funnel": 0.1, "ab": 0.2, "retention": 0.05, "kpi": 0.05}[kind]
    assert f"epsilon spent: {spent:g}" in result.output
    assert (out / "analytics.json").is_file()
    first = {"funnel": "funnel.csv", "ab": "ab_arms.csv", "retention": "retention.csv",
             "kpi": "kpi.csv"}[kind]  # fmt: skip
    table = pd.read_csv(out / first)
    assert len(table) > 0
    # no pseudonym of the sanitized tables in any output
    pseudonyms = set(pd.read_parquet(data / "campaign_sends.parquet")["openid"].astype(str))
    for f in out.iterdir():
        text = f.read_text(encoding="utf-8")
        assert not any(p in text for p in list(pseudonyms)[:500])


def test_analyze_refuses_when_the_budget_is_spent(
    sanitized: tuple[Path, Path], tmp_path: Path
) -> None:
    data, _ = sanitized
    ledger = tmp_path / "ledger.sqlite"
    args = ["analyze", "ab", "--policy", str(POLICY), "--data", str(data), "--ledger",
            str(ledger), "--out", str(tmp_path / "o"), "--date", "2026-11-30"]  # fmt: skip
    with open_ledger(ledger, load_policy(POLICY)) as book:  # another release spent 9.9
        book.charge_many(
            run_id="earlier",
            requests=[ChargeRequest(mechanism="laplace", loss=PrivacyLoss(epsilon=9.9),
                                    sensitivity=1.0, label="earlier")],
        )  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "Nothing was computed or released" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()
    with open_ledger(ledger, load_policy(POLICY)) as book:
        assert book.spent().epsilon == pytest.approx(9.9)


def test_analyze_mde_needs_no_data() -> None:
    result = runner.invoke(
        app,
        ["analyze", "mde", "--baseline-rate", "0.06", "--users-per-arm", "4000",
         "--epsilon", "0.5"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "minimum detectable lift" in result.output
    bad = runner.invoke(
        app, ["analyze", "mde", "--baseline-rate", "1.5", "--users-per-arm", "10", "--epsilon", "1"]
    )
    assert bad.exit_code == 1 and "baseline_rate" in bad.output
