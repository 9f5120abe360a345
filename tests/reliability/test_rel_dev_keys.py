"""Issue 14 item 6: development keys only in demo runs. `run --dev-keys` is refused (nothing
charged) unless the loud flag is given; then the run is marked and `audit verify` says so."""

from __future__ import annotations

from pathlib import Path

from _rel_helpers import POLICY, PURPOSE, SmallShop
from typer.testing import CliRunner

from privacy_profile.cli import app

runner = CliRunner()


def _args(shop: SmallShop, out: Path) -> list[str]:
    return [
        "run", "--policy", str(POLICY), "--purpose", PURPOSE, "--dev-keys",
        "--input", str(shop.input_dir), "--out", str(out), "--ledger", str(out / "l.sqlite"),
    ]  # fmt: skip


def test_run_with_dev_keys_is_refused_before_anything(
    small_shop: SmallShop, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = runner.invoke(app, _args(small_shop, out))
    assert result.exit_code == 1
    assert "development keys are for the demo only" in result.stderr
    assert "--allow-development-keys-i-know" in result.stderr
    assert list(out.iterdir()) == []  # no ledger created, nothing charged, no run folder


def test_acknowledged_dev_keys_are_reported_by_audit(small_shop: SmallShop, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = runner.invoke(app, [*_args(small_shop, out), "--allow-development-keys-i-know"])
    assert result.exit_code == 0, result.output + result.stderr
    assert "DEVELOPMENT KEYS" in result.stderr
    run_dir = next(p for p in (out / "runs").iterdir() if p.is_dir())
    audit = runner.invoke(
        app, ["audit", "verify", str(run_dir), "--ledger", str(out / "l.sqlite"), "--no-pii-scan"]
    )
    assert audit.exit_code == 0, audit.output + audit.stderr
    assert "DEVELOPMENT keys" in audit.stdout
