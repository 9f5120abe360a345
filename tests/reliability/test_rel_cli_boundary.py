"""Issue 14 item 7: every command runs inside one error boundary; the cases the red team found
end in one clear message naming the file and the fix, exit code 1, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from _rel_helpers import POLICY, PURPOSE, SmallShop, copy_inputs
from click.testing import Result
from typer.testing import CliRunner

from privacy_profile.cli import app
from privacy_profile.cli import policy as policy_commands

runner = CliRunner()


def _clean_failure(result: Result, *needles: str) -> str:
    text = result.output + result.stderr
    assert result.exit_code == 1, text
    assert "Traceback" not in text
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for n in needles:
        assert n in result.stderr, (n, result.stderr)
    assert "fix:" in result.stderr
    return result.stderr


def _run(shop: SmallShop, out: Path, ledger: Path, inputs: Path | None = None) -> Result:
    args = ["run", "--policy", str(POLICY), "--purpose", PURPOSE, "--dev-keys"]
    args += [
        "--allow-development-keys-i-know",
        "--input",
        str(inputs or shop.input_dir),
        "--out",
        str(out),
        "--ledger",
        str(ledger),
    ]
    return runner.invoke(app, args)


def test_ledger_in_a_missing_folder(small_shop: SmallShop, tmp_path: Path) -> None:
    ledger = tmp_path / "no" / "such" / "ledger.sqlite"
    _clean_failure(_run(small_shop, tmp_path / "out", ledger), str(ledger), "does not exist")
    assert not ledger.parent.exists()


def test_ledger_is_a_directory(small_shop: SmallShop, tmp_path: Path) -> None:
    _clean_failure(_run(small_shop, tmp_path / "out", tmp_path), "is a folder")


def test_ledger_is_not_sqlite(small_shop: SmallShop, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("hello\n", encoding="utf-8")
    _clean_failure(_run(small_shop, tmp_path / "out", bogus), "not a SQLite database")
    result = runner.invoke(app, ["budget", "show", "--policy", str(POLICY), "--ledger", str(bogus)])
    _clean_failure(result, "not a SQLite database")
    assert bogus.read_text(encoding="utf-8") == "hello\n"


def test_run_out_is_a_file(small_shop: SmallShop, tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("keep me\n", encoding="utf-8")
    ledger = tmp_path / "ledger.sqlite"
    _clean_failure(_run(small_shop, target, ledger), "is a file")
    assert target.read_text(encoding="utf-8") == "keep me\n"


def test_lineage_doc_on_a_non_events_file(tmp_path: Path) -> None:
    f = tmp_path / "events.jsonl"
    f.write_text(json.dumps({"hello": "world"}) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["lineage", "doc", str(f), str(tmp_path / "doc")])
    assert result.exit_code == 1 and "Traceback" not in result.output + result.stderr
    assert str(f) in result.stderr


def test_policy_schema_to_a_missing_folder() -> None:
    result = runner.invoke(app, ["policy", "schema", "-o", "/nonexistent/dir/x.json"])
    _clean_failure(result, "/nonexistent/dir/x.json", "no such file or folder")


def test_header_only_orders_csv(small_shop: SmallShop, tmp_path: Path) -> None:
    inputs = copy_inputs(small_shop, tmp_path / "in")
    orders = inputs / "orders.csv"
    orders.write_text(orders.read_text("utf-8").splitlines()[0] + "\n", encoding="utf-8")
    result = _run(small_shop, tmp_path / "out", tmp_path / "ledger.sqlite", inputs)
    # a header-only table reads cleanly (no crash); pre-flight then refuses the run, charging
    # nothing, because an empty orders table cannot deliver what the policy asks
    assert result.exit_code == 1, result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert "pre-flight failed" in result.stderr and "no budget was spent" in result.stderr
    assert "table 'orders' (orders.csv) has no rows" in result.stderr


def test_unbalanced_quote_is_quarantined_with_its_row(
    small_shop: SmallShop, tmp_path: Path
) -> None:
    inputs = copy_inputs(small_shop, tmp_path / "in")
    orders = inputs / "orders.csv"
    lines = orders.read_text("utf-8").splitlines()
    lines[10] = lines[10].rsplit(",", 1)[0] + ',"unbalanced comment'
    orders.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "san"
    args = ["sanitize", "--policy", str(POLICY), "--purpose", PURPOSE, "--dev-keys"]
    result = runner.invoke(app, [*args, "--input", str(inputs), "--out", str(out)])
    assert result.exit_code == 0, result.output + result.stderr
    assert f"orders: {len(lines) - 1} in" in result.stdout
    q = pd.read_parquet(out / "quarantine" / "orders.parquet")
    # physical line 11 is record 10; only it is quarantined, every later row is read
    assert q.loc[q["_reason"] == "malformed_record", "_row"].tolist() == [10]


def test_list_typed_parquet_column(small_shop: SmallShop, tmp_path: Path) -> None:
    inputs = copy_inputs(small_shop, tmp_path / "in")
    df = pd.read_csv(inputs / "orders.csv", dtype=str)
    df["amount"] = [["1", "2"]] * len(df)
    (inputs / "orders.csv").unlink()
    df.to_parquet(inputs / "orders.parquet")
    text = POLICY.read_text("utf-8").replace("  orders:\n", "  orders:\n    format: parquet\n", 1)
    pol = tmp_path / "policy.yaml"
    pol.write_text(text, encoding="utf-8")
    args = ["sanitize", "--policy", str(pol), "--purpose", PURPOSE, "--dev-keys"]
    result = runner.invoke(app, [*args, "--input", str(inputs), "--out", str(tmp_path / "o")])
    _clean_failure(result, "orders.parquet", "amount", "nested")


def test_a_bug_is_reported_without_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def boom() -> str:
        raise ZeroDivisionError("secret 13800138000")

    monkeypatch.setattr(policy_commands, "policy_schema_text", boom)
    result = runner.invoke(app, ["policy", "schema"])
    assert result.exit_code == 3
    assert "ZeroDivisionError" in result.stderr and "13800138000" not in result.stderr
    assert "Traceback" not in result.output + result.stderr
