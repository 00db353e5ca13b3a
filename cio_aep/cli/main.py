"""The `cio-aep` Typer application: registers every command and handles errors once.

Command modules import only Typer and light core modules at import time; heavy libraries
(httpx, uvicorn, httptools, rich tables) are imported inside the commands that use them, so that
`build-url` and `--version` start as fast as Typer allows.
"""

from __future__ import annotations

import os
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
            try:
                return super().invoke(ctx)
            finally:
                # Here rather than at interpreter exit, so that a full disk is reported below.
                if sys.stdout is not None:
                    sys.stdout.flush()
        except CioAepError as err:
            sys.stderr.write(f"error: {err}\n")
            raise typer.Exit(int(err.exit_code)) from None
        except BrokenPipeError:
            # `cio-aep ... | head`: the reader went away; not an error worth a traceback.
            _silence_stdout()
            raise typer.Exit(int(ExitCode.OK)) from None
        except OSError as err:
            # Files we read or write are wrapped in CioAepError with their name; what is
            # left is standard output failing (a full disk, /dev/full, a dead terminal).
            if not _flushed():
                _silence_stdout()
            where = err.filename if err.filename else "cannot write the output"
            sys.stderr.write(f"error: {where}: {err.strerror or err}\n")
            raise typer.Exit(int(ExitCode.USAGE)) from None


def _flushed() -> bool:
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
        return True
    except OSError:
        return False


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null: the interpreter's own last flush must not fail (and print) again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _reserve_standard_fds() -> None:
    """A process started with fd 0, 1 or 2 closed gets /dev/null there.

    Otherwise the next file or socket opened takes that number: uvloop aborts when it closes a
    socket numbered 0-2, and data meant for stdout could land in another file. sys.stdin stays
    None, so that `-` still says that standard input is closed.
    """
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            opened = os.open(os.devnull, os.O_RDWR)
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)
    if sys.stdout is None:
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115  # lives as long as the process
    if sys.stderr is None:
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115


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
    _reserve_standard_fds()
    app()
