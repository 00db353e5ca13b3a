"""`cio-aep build-url` (not implemented yet)."""

from __future__ import annotations

import typer

from cio_aep.errors import UsageError


def build_url() -> None:
    """Not implemented yet."""
    raise UsageError("build-url is not implemented yet")


def register(app: typer.Typer) -> None:
    app.command(name="build-url")(build_url)
