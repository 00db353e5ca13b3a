"""`cio-aep validate-events` (not implemented yet)."""

from __future__ import annotations

import typer

from cio_aep.errors import UsageError


def validate_events() -> None:
    """Not implemented yet."""
    raise UsageError("validate-events is not implemented yet")


def register(app: typer.Typer) -> None:
    app.command(name="validate-events")(validate_events)
