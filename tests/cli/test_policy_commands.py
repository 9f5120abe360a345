"""The `policy` commands: validate, explain, schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from ruamel.yaml import YAML
from typer.testing import CliRunner

from privacy_profile.cli import app

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "wechat_shop.yaml"
BROKEN = ROOT / "tests" / "fixtures" / "broken_policies"
runner = CliRunner()


def test_validate_passes_on_example_policies() -> None:
    files = [str(p) for p in sorted((ROOT / "policies").glob("*.yaml"))]
    result = runner.invoke(app, ["policy", "validate", *files])
    assert result.exit_code == 0, result.output
    assert result.output.count("valid") == len(files)


def test_validate_fails_with_line_and_field_and_no_traceback() -> None:
    bad = BROKEN / "identifier_kept.yaml"
    result = runner.invoke(app, ["policy", "validate", str(POLICY), str(bad)])
    assert result.exit_code == 1
    assert "identifier_kept.yaml:32" in result.stderr
    assert "tables.users.columns.phone.treatment" in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_validate_missing_file_is_a_clear_error() -> None:
    result = runner.invoke(app, ["policy", "validate", "no/such/policy.yaml"])
    assert result.exit_code == 1
    assert "cannot read policy file" in result.stderr


def test_explain_summarises_what_a_compliance_officer_signs() -> None:
    result = runner.invoke(app, ["policy", "explain", str(POLICY)])
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    for expected in (
        "marketing.advertising.profiling",
        "PIPIA-2026-014",
        "Users under 14 are excluded unless a guardian's consent is recorded",
        "epsilon = 2",
        "epsilon = 10",
        "No group with fewer than 50 people",
        "10-anonymous",
        "| phone | `user.contact.phone_number` | direct_identifier | dropped",
        "key id `mkt-2026-11`, read from env:PRIVACY_PROFILE_KEY_MARKETING",
    ):
        assert expected in text, expected


def test_explain_differs_for_the_strict_variant() -> None:
    strict = runner.invoke(
        app, ["policy", "explain", str(ROOT / "policies" / "wechat_shop_strict.yaml")]
    )
    assert strict.exit_code == 0
    assert "excluded from profiling altogether" in strict.stdout
    assert "Activation: not allowed" in strict.stdout
    assert "calendar month" in strict.stdout


def test_explain_on_broken_policy_exits_1() -> None:
    result = runner.invoke(app, ["policy", "explain", str(BROKEN / "inline_secret.yaml")])
    assert result.exit_code == 1
    assert "inline secret" in result.stderr


def test_schema_validates_the_example_policies(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    result = runner.invoke(app, ["policy", "schema", "--output", str(out)])
    assert result.exit_code == 0
    schema = json.loads(out.read_text(encoding="utf-8"))
    yaml = YAML(typ="safe")
    for path in sorted((ROOT / "policies").glob("*.yaml")):
        doc = json.loads(json.dumps(yaml.load(path.read_text(encoding="utf-8")), default=str))
        jsonschema.validate(doc, schema)


def test_schema_rejects_an_unknown_field() -> None:
    result = runner.invoke(app, ["policy", "schema"])
    schema = json.loads(result.stdout)
    yaml = YAML(typ="safe")
    doc = json.loads(json.dumps(yaml.load(POLICY.read_text(encoding="utf-8")), default=str))
    doc["privacy"]["epsilon"] = 1
    try:
        jsonschema.validate(doc, schema)
    except jsonschema.ValidationError as e:
        assert "epsilon" in e.message
    else:
        raise AssertionError("schema accepted an unknown field")


def test_no_args_prints_help() -> None:
    result = runner.invoke(app, [])
    assert "policy" in result.output
