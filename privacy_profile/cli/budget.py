"""``privacy-profile budget ...``: inspect the privacy-budget ledger and plan refreshes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from privacy_profile.cli._app import call, err, out
from privacy_profile.cli._common import PolicyOption, load_policy

__all__ = ["budget_app"]

budget_app = typer.Typer(
    help="Inspect the privacy-budget ledger and plan refreshes.", no_args_is_help=True
)


@budget_app.command("show")
def budget_show(
    policy: PolicyOption,
    ledger: Annotated[Path, typer.Option("--ledger", help="The SQLite budget ledger.")],
) -> None:
    """Show the budget spent and left in the current window for the policy's dataset."""
    from privacy_profile.dp.policy_ledger import budget_status

    loaded = load_policy(policy)
    status = call(lambda: budget_status(ledger, loaded.policy))
    out.print(status)


@budget_app.command("plan")
def budget_plan(
    policy: PolicyOption,
    cadence: Annotated[
        str, typer.Option("--cadence", help="How often segments are refreshed: daily or weekly.")
    ] = "daily",
) -> None:
    """Show how much each refresh may spend so the budget lasts its window, and the expected
    noise of each release, under pure epsilon and under zCDP (nothing is charged)."""
    from privacy_profile.dp.policy_plan import plan_policy_refreshes

    if cadence not in ("daily", "weekly"):
        err.print("[bold red]error:[/] --cadence must be daily or weekly", markup=True)
        raise typer.Exit(2)
    loaded = load_policy(policy)
    plan = call(lambda: plan_policy_refreshes(loaded.policy, cadence))
    out.print(plan.render(), markup=False)
