"""`cio-aep validate-mapping` (not implemented yet)."""

from __future__ import annotations

import typer

from cio_aep.errors import UsageError


def validate_mapping() -> None:
    """Not implemented yet."""
    raise UsageError("validate-mapping is not implemented yet")


def register(app: typer.Typer) -> None:
    app.command(name="validate-mapping")(validate_mapping)
