"""`cio-aep generate-schema` (not implemented yet)."""

from __future__ import annotations

import typer

from cio_aep.errors import UsageError


def generate_schema() -> None:
    """Not implemented yet."""
    raise UsageError("generate-schema is not implemented yet")


def register(app: typer.Typer) -> None:
    app.command(name="generate-schema")(generate_schema)
