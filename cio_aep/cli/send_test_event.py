"""`cio-aep send-test-event` (not implemented yet)."""

from __future__ import annotations

import typer

from cio_aep.errors import UsageError


def send_test_event() -> None:
    """Not implemented yet."""
    raise UsageError("send-test-event is not implemented yet")


def register(app: typer.Typer) -> None:
    app.command(name="send-test-event")(send_test_event)
