"""The example policies shipped in the package are byte-identical to the repository's
``policies/`` (the source of truth), validate, and are reachable by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from privacy_profile.cli import app
from privacy_profile.errors import PolicyError
from privacy_profile.policies import example_names, example_policy_path, example_policy_text
from privacy_profile.policy import load_policy_file

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("policies/*.yaml"), *ROOT.glob("policies/examples/*.yaml")])
runner = CliRunner()


def test_every_repository_policy_is_packaged_identically() -> None:
    assert SOURCES, "no policies found in the repository"
    assert sorted(p.stem for p in SOURCES) == example_names()
    for src in SOURCES:
        packaged = example_policy_path(src.stem)
        assert packaged.read_bytes() == src.read_bytes(), (
            f"{packaged} differs from {src}: copy the repository's policy into the package"
        )


@pytest.mark.parametrize("name", example_names())
def test_packaged_policy_validates(name: str) -> None:
    assert load_policy_file(example_policy_path(name)).policy.name


def test_unknown_example_is_a_policy_error_naming_the_choices() -> None:
    with pytest.raises(PolicyError, match="wechat_shop_strict"):
        example_policy_path("../../etc/passwd")


def test_cli_policy_example_prints_the_packaged_policy() -> None:
    result = runner.invoke(app, ["policy", "example", "wechat_shop"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == example_policy_text("wechat_shop")
    bad = runner.invoke(app, ["policy", "example", "nope"])
    assert bad.exit_code == 1
    assert "no example policy named 'nope'" in bad.stderr
    assert "Traceback" not in bad.output


def test_cli_version() -> None:
    from importlib.metadata import version

    import privacy_profile

    assert privacy_profile.__version__ == version("privacy_profile")  # pyproject agrees
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"privacy-profile {privacy_profile.__version__}"
