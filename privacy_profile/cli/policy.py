"""``privacy-profile policy ...``: validate, explain and describe policy files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from privacy_profile.cli._app import call, err, out
from privacy_profile.cli._common import load_policy
from privacy_profile.errors import PrivacyProfileError
from privacy_profile.policy.explain import explain_policy
from privacy_profile.policy.loader import load_policy_file
from privacy_profile.policy.schema import policy_schema_text

__all__ = ["policy_app"]

policy_app = typer.Typer(help="Validate, explain and describe policy files.", no_args_is_help=True)


@policy_app.command("validate")
def policy_validate(
    files: Annotated[list[Path], typer.Argument(help="Policy YAML files to validate.")],
) -> None:
    """Validate policy files; print every problem with file, line and field."""
    failed = 0
    for f in files:
        try:
            lp = load_policy_file(f)
        except PrivacyProfileError as e:
            failed += 1
            err.print(f"[bold red]invalid[/] {e}", markup=True)
        else:
            out.print(f"[green]valid[/] {f} ({lp.policy.name}, {lp.digest[:19]}...)", markup=True)
    if failed:
        raise typer.Exit(1)


@policy_app.command("explain")
def policy_explain(
    file: Annotated[Path, typer.Argument(help="The policy YAML file.")],
) -> None:
    """Print a plain-language summary a compliance officer can read and sign (Markdown)."""
    lp = load_policy(file)
    sys.stdout.write(explain_policy(lp.policy, digest=lp.digest))


@policy_app.command("example")
def policy_example(
    name: Annotated[
        str, typer.Argument(help="The example's name, e.g. wechat_shop (see the list below).")
    ],
) -> None:
    """Print a shipped example policy (wechat_shop, wechat_shop_strict, taobao_userbehavior,
    uci_online_retail) to start your own from."""
    from privacy_profile.policies import example_policy_text

    sys.stdout.write(call(lambda: example_policy_text(name)))


@policy_app.command("schema")
def policy_schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the policy JSON Schema (for editors; committed as policies/policy.schema.json)."""
    text = policy_schema_text()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        out.print(f"wrote {output}")
