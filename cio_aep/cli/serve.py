"""`cio-aep serve` (not implemented yet)."""

from __future__ import annotations

import typer

from cio_aep.errors import UsageError


def serve() -> None:
    """Not implemented yet."""
    raise UsageError("serve is not implemented yet")


def register(app: typer.Typer) -> None:
    app.command(name="serve")(serve)
