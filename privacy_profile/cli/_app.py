"""The root ``privacy-profile`` app, its two consoles and the one error boundary.

Every command runs inside :class:`_ErrorBoundary`: a library error (any PrivacyProfileError),
and a file-system, SQLite, Arrow or CSV error (translated by
:func:`privacy_profile._boundary.as_library_error`), becomes one clear message on stderr naming
the file and the fix, with exit code 1 (2 for usage errors, 3 for a bug, 130 for Ctrl-C); never
a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from privacy_profile._boundary import as_library_error
from privacy_profile.errors import PrivacyProfileError

__all__ = ["app", "call", "err", "out"]

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

T = TypeVar("T")


def _fail(e: Exception) -> NoReturn:
    """Print one clear message for ``e`` and exit: 1 for a problem with the user's files or
    settings (a library error, or a file-system / SQLite / Arrow / CSV error translated into
    one), 3 for a bug (no traceback unless PRIVACY_PROFILE_DEBUG=1)."""
    lib = as_library_error(e)
    if lib is not None:
        err.print(f"[bold red]error:[/] {escape(str(lib))}", markup=True)
        raise typer.Exit(1) from None
    if os.environ.get("PRIVACY_PROFILE_DEBUG") == "1":
        raise e
    err.print(
        f"[bold red]internal error:[/] {type(e).__name__} (a bug in privacy-profile, not in "
        "your files). Nothing more was released; run again with PRIVACY_PROFILE_DEBUG=1 for "
        "the traceback and report it.",
        markup=True,
    )
    raise typer.Exit(3) from None


class _ErrorBoundary(TyperGroup):
    """The one error boundary: every command (and sub-command) runs inside this ``invoke``."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            err.print("[bold red]interrupted[/]", markup=True)
            raise typer.Exit(130) from None
        except Exception as e:
            if type(e).__module__.split(".")[0] in ("typer", "click"):
                raise  # usage errors, help, exit codes: the framework's own handling
            _fail(e)


def call(fn: Callable[[], T]) -> T:
    """Call a library function; its errors reach the one boundary (:class:`_ErrorBoundary`)."""
    try:
        return fn()
    except PrivacyProfileError as e:
        _fail(e)


app = typer.Typer(
    name="privacy-profile",
    help="Privacy-preserving user profiling: consent-gated ingestion, pseudonymization, "
    "PII scanning and differentially private segments with auditable lineage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_ErrorBoundary,
)


def _version(value: bool) -> None:
    if value:
        from privacy_profile import __version__

        out.print(f"privacy-profile {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Privacy-preserving user profiling: consent-gated ingestion, pseudonymization, PII
    scanning and differentially private segments with auditable lineage."""
