"""`cio-aep replay` (not implemented yet)."""

from __future__ import annotations

import typer

from cio_aep.errors import UsageError


def replay() -> None:
    """Not implemented yet."""
    raise UsageError("replay is not implemented yet")


def register(app: typer.Typer) -> None:
    app.command(name="replay")(replay)
