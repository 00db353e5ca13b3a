"""`cio-aep generate-schema`: the sample JSON to upload to AEP as the Customer.io source schema."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated

import typer

from cio_aep.cli.common import PlainCommand, info, warn, write_data


class SchemaFormat(str, enum.Enum):
    sample = "sample"
    json_schema = "json-schema"


def generate_schema(
    event: Annotated[
        list[str] | None,
        typer.Option(
            "--event",
            "-e",
            metavar="OBJECT_TYPE:METRIC",
            help="A sample of this event (repeatable: several are merged into one sample so "
            "that all their fields can be mapped; so are a message event's variants: campaign, "
            "broadcast, newsletter, transactional). List them with: cio-aep events.",
            show_default=False,
        ),
    ] = None,
    all_events: Annotated[
        bool,
        typer.Option(
            "--all-events",
            help="One superset sample holding every field of every AEP-supported event, so "
            "that every field can be mapped in AEP.",
        ),
    ] = False,
    test_mode: Annotated[
        bool,
        typer.Option("--test-mode", help="Customer.io test mode: no identifiers.cio_id."),
    ] = False,
    id_only: Annotated[
        bool,
        typer.Option("--id-only", help="An ID-only workspace: identifiers holds only id."),
    ] = False,
    fmt: Annotated[
        SchemaFormat,
        typer.Option(
            "--format",
            "-f",
            help="sample: JSON to upload to AEP; json-schema: a JSON Schema (2020-12) of the "
            "selected events (customer:subscribed when none is selected).",
        ),
    ] = SchemaFormat.sample,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Reproducible values (with --timestamp).")
    ] = None,
    timestamp: Annotated[
        int | None,
        typer.Option("--timestamp", help="Event time in Unix seconds (default: now)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to FILE instead of stdout."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --output.")] = False,
) -> None:
    """Print the source-schema sample to upload in AEP (Sources > Customer.io > Add data).

    With no option: Adobe's own sample, exactly. AEP lets you map only the fields the sample
    holds, so use --all-events to be able to map every field Customer.io can send.

    Examples:

        cio-aep generate-schema > customerio-sample.json

        cio-aep generate-schema --all-events --test-mode -o superset.json

        cio-aep generate-schema --event email:clicked --format json-schema
    """
    from cio_aep import source_schema
    from cio_aep.catalog import CATALOG
    from cio_aep.errors import UsageError
    from cio_aep.generator import EventGenerator

    if event and all_events:
        raise UsageError("use either --event or --all-events, not both")
    if test_mode and id_only:
        raise UsageError("--id-only already leaves cio_id out; drop --test-mode")
    selected = CATALOG.aep_supported() if all_events else CATALOG.parse_keys(event or [])
    generator = EventGenerator(seed, timestamp, test_mode=test_mode, id_only=id_only)
    if (seed is not None or timestamp is not None) and (
        fmt is SchemaFormat.json_schema or not selected
    ):
        # Adobe's sample and a JSON Schema are fixed texts: nothing is generated.
        warn("--seed and --timestamp change nothing here; they apply with --event or --all-events")
    if fmt is SchemaFormat.json_schema:
        chosen = selected or [CATALOG.parse_key("customer:subscribed")]
        doc: object = source_schema.json_schema(chosen, test_mode=test_mode or id_only)
    elif not selected:
        doc = source_schema.adobe_sample(test_mode=test_mode, id_only=id_only)
    elif len(selected) == 1 and not (selected[0].variants or selected[0].optional_variants):
        doc = generator.generate_event(selected[0])
    else:
        doc = source_schema.superset_sample(selected, generator)
        if len(selected) == 1:
            # A sample to map from, not an event: Customer.io sends one variant at a time.
            info(f"{selected[0].key}: the sample holds the fields of all its variants")
    write_data(json.dumps(doc, indent=2, ensure_ascii=False), output, force=force)


def register(app: typer.Typer) -> None:
    app.command(name="generate-schema", cls=PlainCommand)(generate_schema)
