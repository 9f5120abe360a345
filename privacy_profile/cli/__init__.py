"""The `privacy-profile` command line: a thin layer over the library.

Each command calls one library function. This package assembles the app from one module per
command group (:mod:`.policy`, :mod:`.audit`, :mod:`.pipeline`, :mod:`.init`, :mod:`.budget`,
:mod:`.analyze`, :mod:`.rights`); :mod:`._common` holds the options they share. Every command
runs inside the one error boundary of :mod:`._app` (``_ErrorBoundary``): a library error, and a
file-system, SQLite, Arrow or CSV error (translated by
:func:`privacy_profile._boundary.as_library_error`), becomes one clear message on stderr naming
the file and the fix, with exit code 1 (2 for usage errors, 3 for a bug, 130 for Ctrl-C); never
a traceback.
"""

from __future__ import annotations

from privacy_profile.cli._app import app
from privacy_profile.cli.analyze import analyze_app
from privacy_profile.cli.audit import audit_app, lineage_app
from privacy_profile.cli.budget import budget_app
from privacy_profile.cli.init import init_cmd
from privacy_profile.cli.pipeline import demo_cmd, run_cmd, sanitize_cmd
from privacy_profile.cli.policy import policy_app
from privacy_profile.cli.rights import rights_app

__all__ = ["app", "main"]

# Registration order is the order of `privacy-profile --help`.
app.add_typer(policy_app, name="policy")
app.add_typer(audit_app, name="audit")
app.add_typer(lineage_app, name="lineage")
app.command("sanitize")(sanitize_cmd)
app.command("run")(run_cmd)
app.command("demo")(demo_cmd)
app.command("init")(init_cmd)
app.add_typer(budget_app, name="budget")
app.add_typer(analyze_app, name="analyze")
app.add_typer(rights_app, name="rights")


def main() -> None:
    """Console-script entry point."""
    app()
