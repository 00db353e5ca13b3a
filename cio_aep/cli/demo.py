"""`cio-aep demo` (not implemented yet)."""

from __future__ import annotations

import typer

from cio_aep.errors import UsageError


def demo() -> None:
    """Not implemented yet."""
    raise UsageError("demo is not implemented yet")


def register(app: typer.Typer) -> None:
    app.command(name="demo")(demo)
