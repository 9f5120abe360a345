"""``privacy-profile analyze ...``: private marketing analytics on sanitized tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from privacy_profile.cli._app import call, err, out
from privacy_profile.cli._common import PolicyOption, load_policy

__all__ = ["analyze_app"]

analyze_app = typer.Typer(
    help="Private marketing analytics on sanitized tables (DP aggregates only).",
    no_args_is_help=True,
)
DataOption = Annotated[
    Path, typer.Option("--data", help="Sanitized Parquet tables (`sanitize --out`).")
]
LedgerOption = Annotated[Path, typer.Option("--ledger", help="The SQLite budget ledger.")]
AnalyzeOutOption = Annotated[Path, typer.Option("--out", help="Where the outputs are written.")]
DateOption = Annotated[
    str | None, typer.Option("--date", help="Run date YYYY-MM-DD (retention cohorts) [today].")
]


def _analyze(
    kind: str,
    policy: Path,
    data: Path,
    ledger: Path,
    out_dir: Path,
    date: str | None,
    costs: Path | None = None,
) -> None:
    """Run one analysis of the policy on the sanitized tables, charging the ledger."""
    from privacy_profile.analytics.from_policy import analyze_sanitized
    from privacy_profile.dp.policy_ledger import open_ledger
    from privacy_profile.errors import InputError

    loaded = load_policy(policy)
    try:
        now = dt.datetime.fromisoformat(date) if date else dt.datetime.now(dt.UTC)
    except ValueError:
        err.print(f"[bold red]error:[/] --date {date!r} is not YYYY-MM-DD", markup=True)
        raise typer.Exit(2) from None
    if not ledger.parent.is_dir():
        err.print(f"[bold red]error:[/] {InputError(f'no folder for the ledger {ledger}')}")
        raise typer.Exit(1)
    with call(lambda: open_ledger(ledger, loaded.policy)) as book:
        res = call(
            lambda: analyze_sanitized(
                kind, data, loaded.policy, ledger=book, out_dir=out_dir, now=now, cost_dir=costs
            )
        )
    for f in res.files:
        out.print(f"wrote {f}")
    out.print(f"epsilon spent: {res.epsilon_spent:g}")


def _analysis_command(kind: str, doc: str) -> Callable[..., None]:
    """The command of one analysis that needs only the common options."""

    def command(
        policy: PolicyOption,
        data: DataOption,
        ledger: LedgerOption,
        out_dir: AnalyzeOutOption,
        date: DateOption = None,
    ) -> None:
        _analyze(kind, policy, data, ledger, out_dir, date)

    command.__name__ = f"analyze_{kind}"
    command.__doc__ = doc
    return command


for _kind, _doc in (
    ("funnel", "DP funnel of the policy's steps: users per step, conversion, 95% intervals."),
    ("ab", "DP A/B read-outs of the policy's experiments: rates, lift, test, detectable effect."),
    (
        "retention",
        "DP retention cohorts by first activity (weekly or monthly, as the policy says).",
    ),
):
    analyze_app.command(_kind)(_analysis_command(_kind, _doc))


@analyze_app.command("kpi")
def analyze_kpi(
    policy: PolicyOption,
    data: DataOption,
    ledger: LedgerOption,
    out_dir: AnalyzeOutOption,
    costs: Annotated[
        Path, typer.Option("--costs", help="Folder holding the public campaign cost table.")
    ],
    date: DateOption = None,
) -> None:
    """DP campaign KPIs (CTR, conversion, AOV) and ROI against the public cost table."""
    _analyze("kpi", policy, data, ledger, out_dir, date, costs)


@analyze_app.command("mde")
def analyze_mde(
    baseline_rate: Annotated[float, typer.Option("--baseline-rate", help="Control conversion.")],
    users_per_arm: Annotated[int, typer.Option("--users-per-arm", help="Planned arm size.")],
    epsilon: Annotated[float, typer.Option("--epsilon", help="Epsilon of the read-out.")],
) -> None:
    """Minimum detectable effect of an A/B read-out before the test (no data, no budget)."""
    from privacy_profile.analytics import minimum_detectable_effect
    from privacy_profile.dp import PrivacyLoss

    m = call(
        lambda: minimum_detectable_effect(
            baseline_rate=baseline_rate,
            users_per_arm=users_per_arm,
            loss=PrivacyLoss(epsilon=epsilon),
        )
    )
    out.print(
        f"minimum detectable lift: {100 * m.relative:.1f}% relative "
        f"({100 * m.absolute:.2f} percentage points); without DP noise "
        f"{100 * m.relative_without_noise:.1f}%"
    )
