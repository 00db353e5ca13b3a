"""`cio-aep events`: the catalog of Customer.io reporting-webhook events."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from cio_aep.cli.common import PlainCommand


def events(
    as_json: Annotated[bool, typer.Option("--json", help="Print the catalog as JSON.")] = False,
    aep_only: Annotated[
        bool, typer.Option("--aep-only", help="Only events AEP's Customer.io source accepts.")
    ] = False,
    object_type: Annotated[
        str | None,
        typer.Option("--object-type", "-t", help="Only this object type, e.g. email."),
    ] = None,
) -> None:
    """List every event Customer.io's reporting webhooks send: object type, metric, whether
    AEP's Customer.io source accepts it, and its data fields (* = required by the spec).

    Subscription metrics (subscribed, unsubscribed, cio_subscription_preferences_changed) may
    also arrive with a channel as object type when a message triggered them.

    Examples:

        cio-aep events --object-type push

        cio-aep events --json | jq '.[] | select(.aep_supported)'
    """
    from cio_aep.catalog import CATALOG, OBJECT_TYPES
    from cio_aep.errors import UsageError

    if object_type is not None and object_type not in OBJECT_TYPES:
        raise UsageError(f"unknown object type {object_type!r}; one of: {', '.join(OBJECT_TYPES)}")
    rows = [
        e
        for e in CATALOG.events(aep_only=aep_only)
        if object_type is None or e.object_type == object_type
    ]
    if as_json:
        payload: list[dict[str, Any]] = [
            {
                "key": e.key,
                "object_type": e.object_type,
                "metric": e.metric,
                "aep_supported": e.aep_supported,
                "variants": [v.name for v in e.variants or e.optional_variants],
                "fields": [
                    {"name": f.name, "types": list(f.types), "required": f.required}
                    for f in e.all_data_fields()
                ],
                "note": e.note,
            }
            for e in rows
        ]
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return

    from rich.console import Console
    from rich.table import Table

    table = Table(title="Customer.io reporting webhook events", show_lines=False)
    table.add_column("object type")
    table.add_column("metric")
    table.add_column("AEP")
    table.add_column("data fields (besides identifiers, customer_id and message ids)")
    for e in rows:
        base = {"identifiers", "customer_id", "delivery_id"}
        base |= {f.name for v in e.variants or e.optional_variants for f in v.fields}
        extras = [f"{f.name}{'*' if f.required else ''}" for f in e.all_data_fields()
                  if f.name not in base]  # fmt: skip
        note = f" ({e.note})" if e.note else ""
        table.add_row(e.object_type, e.metric, "yes" if e.aep_supported else "no",
                      ", ".join(extras) + note)  # fmt: skip
    Console(no_color=None).print(table)


def register(app: typer.Typer) -> None:
    app.command(name="events", cls=PlainCommand)(events)
