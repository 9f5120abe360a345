"""The reservation lease a policy declares (``privacy.ledger_lease_seconds``) reaches the
ledger ``open_ledger`` opens and the reservation it records; ``run --ledger-lease`` overrides
it; a lease below one second is refused with the policy's file and line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from privacy_profile import PolicyError, load_policy
from privacy_profile.cli import app
from privacy_profile.dp import BudgetLedger, PrivacyLoss, policy_ledger
from privacy_profile.dp.policy_ledger import ledger_lease, open_ledger
from privacy_profile.errors import InputError
from privacy_profile.policies import example_policy_text

T0 = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
PURPOSE = "marketing.advertising.profiling"
runner = CliRunner()


def _policy_file(tmp_path: Path, lease: str | None) -> Path:
    """The packaged example policy with ``ledger_lease_seconds`` set (or left out)."""
    text = example_policy_text()
    marker = "  budget_dataset: wechat-shop-users\n"
    assert marker in text
    if lease is not None:
        text = text.replace(marker, f"{marker}  ledger_lease_seconds: {lease}\n")
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _lease_until(ledger: BudgetLedger, run: str) -> str:
    row = ledger._conn.execute(
        "SELECT lease_until FROM reservations WHERE dataset = ? AND run_id = ?",
        (ledger.dataset, run),
    ).fetchone()
    return str(row[0])


def test_the_default_lease_is_five_minutes(tmp_path: Path) -> None:
    policy = load_policy(_policy_file(tmp_path, None))
    assert policy.privacy.ledger_lease_seconds == 300
    assert ledger_lease(policy) == dt.timedelta(minutes=5)


def test_the_policys_lease_reaches_the_reservation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = load_policy(_policy_file(tmp_path, "7"))
    real_open = BudgetLedger.open.__func__  # type: ignore[attr-defined]

    def at_t0(cls: type[BudgetLedger], path: str | Path, **kw: Any) -> BudgetLedger:
        return real_open(cls, path, clock=lambda: T0, **kw)  # type: ignore[no-any-return]

    monkeypatch.setattr(BudgetLedger, "open", classmethod(at_t0))
    with open_ledger(tmp_path / "ledger.sqlite", policy) as ledger:
        assert ledger.lease == dt.timedelta(seconds=7)
        ledger.reserve("run-1", PrivacyLoss(epsilon=0.1), heartbeat=False)
        assert _lease_until(ledger, "run-1") == (T0 + dt.timedelta(seconds=7)).isoformat()
    # an explicit lease (the CLI's override) wins over the policy's
    with open_ledger(tmp_path / "ledger.sqlite", policy, lease=dt.timedelta(seconds=42)) as led:
        led.reserve("run-2", PrivacyLoss(epsilon=0.1), heartbeat=False)
        assert _lease_until(led, "run-2") == (T0 + dt.timedelta(seconds=42)).isoformat()


BAD_LEASES = [("0", "greater than or equal to 1"), ("-5", "greater than or equal to 1")]
BAD_LEASES += [("1.5", "valid integer")]


@pytest.mark.parametrize(("value", "fragment"), BAD_LEASES)
def test_a_bad_lease_is_refused_with_its_line(tmp_path: Path, value: str, fragment: str) -> None:
    path = _policy_file(tmp_path, value)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    (issue,) = [i for i in info.value.issues if i.field == "privacy.ledger_lease_seconds"]
    assert fragment in issue.message
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[issue.line - 1] == f"  ledger_lease_seconds: {value}"  # type: ignore[operator]
    assert f"{path}:{issue.line}" in str(info.value)


def _spy_open(monkeypatch: pytest.MonkeyPatch) -> list[dt.timedelta]:
    """Make `run` stop right after opening its ledger, recording the ledger's lease."""
    seen: list[dt.timedelta] = []
    real = policy_ledger.open_ledger

    def spy(path: str | Path, policy: Any, **kw: Any) -> BudgetLedger:
        with real(path, policy, **kw) as ledger:
            seen.append(ledger.lease)
        raise InputError("stopped by the test after opening the ledger")

    monkeypatch.setattr(policy_ledger, "open_ledger", spy)
    return seen


OVERRIDES = [(None, [], 300), ("7", [], 7), ("7", ["--ledger-lease", "11"], 11)]
OVERRIDES += [(None, ["--ledger-lease", "2"], 2)]


@pytest.mark.parametrize(("policy_lease", "option", "expected"), OVERRIDES)
def test_cli_ledger_lease_overrides_the_policy(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    policy_lease: str | None,
    option: list[str],
    expected: int,
) -> None:
    seen = _spy_open(monkeypatch)
    args = ["run", "--policy", str(_policy_file(tmp_path, policy_lease)), "--purpose", PURPOSE]
    args += ["--input", str(tmp_path), "--out", str(tmp_path / "out")]
    args += ["--ledger", str(tmp_path / "ledger.sqlite"), *option]
    args += ["--dev-keys", "--allow-development-keys-i-know"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.stderr
    assert "stopped by the test" in result.stderr
    assert seen == [dt.timedelta(seconds=expected)]


def test_cli_refuses_a_lease_below_one_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _spy_open(monkeypatch)
    args = ["run", "--policy", str(_policy_file(tmp_path, None)), "--purpose", PURPOSE]
    args += ["--input", str(tmp_path), "--out", str(tmp_path / "out")]
    args += ["--ledger", str(tmp_path / "ledger.sqlite"), "--ledger-lease", "0", "--dev-keys"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "--ledger-lease" in result.stderr
    assert "Traceback" not in result.stderr
    assert seen == []
