"""`cio-aep events` (not implemented yet)."""

from __future__ import annotations

import typer

from cio_aep.errors import UsageError


def events() -> None:
    """Not implemented yet."""
    raise UsageError("events is not implemented yet")


def register(app: typer.Typer) -> None:
    app.command(name="events")(events)
