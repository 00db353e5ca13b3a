"""`cio-aep demo`: the main job end to end, against the built-in local AEP endpoint."""

from __future__ import annotations

from typing import Annotated

import typer

from cio_aep.cli.common import PlainCommand


def demo(
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Reproducible event values (ids, emails, ...); event times, and so the "
            "event_id's time part, follow the clock.",
        ),
    ] = None,
) -> None:
    """Run the whole job against a local AEP endpoint, with nothing to set up.

    Starts `cio-aep serve` on a free loopback port, builds and checks the webhook URL,
    validates the example mapping (cio_aep/demo_mapping.json), sends one signed event of every
    AEP-supported type exactly as Customer.io would, and shows what was sent, what came back and
    what was stored. Nothing leaves this machine.

    Example:

        cio-aep demo
    """
    import os
    import sys

    from rich.console import Console
    from rich.table import Table

    from cio_aep.demo import run_demo

    err = Console(stderr=True, no_color=bool(os.environ.get("NO_COLOR")) or None)
    out = Console(no_color=bool(os.environ.get("NO_COLOR")) or None)
    result = run_demo(seed=seed, step=lambda text: err.print(f"[dim]…[/dim] {text}"))

    out.print(
        f"\n[bold]1. Source schema[/bold]: cio-aep generate-schema --all-events "
        f"gives a sample with {result.schema_fields} fields to upload to AEP."
    )
    out.print(
        "[bold]2. Mapping[/bold] (cio_aep/demo_mapping.json): "
        + ("[green]valid[/green]" if result.mapping_ok else "[red]invalid[/red]")
    )
    for line in result.mapping_summary:
        out.print(f"   {line}", markup=False, highlight=False)
    out.print(f"[bold]3. Webhook URL[/bold] for Customer.io:\n   {result.url}",
              highlight=False)  # fmt: skip
    table = Table(title="4. Events sent as Customer.io would (signed), AEP's answers")
    for column in ("event", "event_id", "status", "xactionId / answer", "ms", "stored"):
        table.add_column(column)
    for row in result.rows:
        table.add_row(row.key, row.event_id, str(row.status or "-"),
                      row.xaction_id or row.title, f"{row.latency_ms:.0f}",
                      "yes" if row.stored else "[red]no[/red]")  # fmt: skip
    out.print(table)
    accepted = sum(r.accepted for r in result.rows)
    out.print(
        f"{accepted}/{len(result.rows)} accepted, {result.stored} stored by the local "
        "endpoint. Next: cio-aep build-url with your AEP endpoint, then "
        "cio-aep send-test-event --url URL."
    )
    sys.stdout.flush()
    if not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command(name="demo", cls=PlainCommand)(demo)
