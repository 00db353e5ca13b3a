"""The `cio-aep` Typer application: registers every command and handles errors once.

Command modules import only Typer and light core modules at import time; heavy libraries
(httpx, uvicorn, httptools, rich tables) are imported inside the commands that use them, so that
`build-url` and `--version` start as fast as Typer allows.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from cio_aep import __version__
from cio_aep.cli.common import PlainParamsMixin
from cio_aep.errors import CioAepError, ExitCode


class _Group(PlainParamsMixin, TyperGroup):
    """Catches every expected error in one place: one line on stderr, the documented exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CioAepError as err:
            sys.stderr.write(f"error: {err}\n")
            raise typer.Exit(int(err.exit_code)) from None
        except BrokenPipeError:
            # `cio-aep ... | head`: the reader went away; not an error worth a traceback.
            raise typer.Exit(int(ExitCode.OK)) from None


app = typer.Typer(
    cls=_Group,
    name="cio-aep",
    help=(
        "Get Customer.io reporting webhooks into Adobe Experience Platform right, before going "
        "live: source schema, Data Prep mapping, webhook URL, test events, a local AEP endpoint "
        "and bulk replay."
    ),
    no_args_is_help=True,
    add_completion=False,
    # A traceback with locals could show a signing key: keep developer tracebacks plain.
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"cio-aep {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            callback=_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Exit codes: 0 ok, 1 checks failed or events rejected, 2 usage or unreadable input,
    3 network failure, 130 interrupted."""


def _register() -> None:
    # Imported here, not at the top, only to keep the registration list in one place.
    from cio_aep.cli import (
        build_url,
        demo,
        events,
        generate_schema,
        replay,
        send_test_event,
        serve,
        validate_events,
        validate_mapping,
    )

    for module in (
        generate_schema,
        validate_mapping,
        build_url,
        send_test_event,
        events,
        validate_events,
        serve,
        replay,
        demo,
    ):
        module.register(app)


_register()


def run() -> None:
    """Console-script entry point."""
    app()
