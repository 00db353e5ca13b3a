"""`cio-aep validate-mapping`: check a Data Prep mapping before AEP rejects data for it.

Light at start-up: only Typer, the standard library and cio_aep.mapping (stdlib only; PyYAML
is imported when a YAML input turns up). Options are plain text so that no pydantic coercion
runs (PlainParamsMixin).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cio_aep.cli.common import (
    PlainCommand,
    ReportFormat,
    check_output_is_not_an_input,
    check_stdin_once,
    color_enabled,
    github_masks,
    write_data,
)
from cio_aep.errors import UsageError

_FORMATS = tuple(f.value for f in ReportFormat)


def validate_mapping(
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE...",
            help="Mapping files: Data Prep API or stored mapping sets, legacy sets, a bare list "
            "of entries, a mapping config (JSON or YAML) or CSV; '-' reads stdin. The format "
            "is detected from the content.",
            show_default=False,
        ),
    ],
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="|".join(_FORMATS),
            help="Report format: text (checklist and findings), json, github (workflow "
            "annotations), sarif (code scanning), junit.",
        ),
    ] = "text",
    test_mode: Annotated[
        bool,
        typer.Option(
            "--test-mode",
            help="The Customer.io workspace is in test mode: cio_id is not required, and "
            "mapping it is an error.",
        ),
    ] = False,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            "-t",
            metavar="FIELD=DESTINATION",
            help="Where a mandatory field lands when it is named differently in your schema, "
            "e.g. --target event_id=_tenant.event_id0 (repeatable).",
            show_default=False,
        ),
    ] = None,
    xdm_schema: Annotated[
        str | None,
        typer.Option(
            "--xdm-schema",
            metavar="FILE",
            help="The target XDM schema as the Schema Registry returns it (JSON): "
            "destinations must exist in it and types must fit.",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Warnings fail the check too (exit 1).")
    ] = False,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the report to FILE instead of stdout (e.g. results.sarif).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --output.")] = False,
) -> None:
    """Check a Data Prep mapping for AEP's Customer.io source.

    The seven mandatory fields (object_type, id, email, event_id, cio_id, metric, timestamp)
    must be mapped: by a destination named like the field, by mapping the field's Customer.io
    source path, or as declared with --target. Source paths and fields used in calculated
    fields must exist in Customer.io payloads; destinations must be unique (and exist in the
    schema given with --xdm-schema). Exit 0 valid (warnings allowed unless --strict),
    1 findings, 2 unreadable input.

    Examples:

        cio-aep validate-mapping mapping.json

        cio-aep validate-mapping --test-mode \\
          --target event_id=_acme.customerio.event_id mapping.yaml

        cio-aep validate-mapping --format sarif -o mapping.sarif mappings/*.json
    """
    if output_format not in _FORMATS:
        raise UsageError(
            f"unknown --format {output_format!r}; choose one of: {', '.join(_FORMATS)}"
        )
    from cio_aep.mapping import parse_targets, validate_mapping_files
    from cio_aep.reporters import render_report

    targets = parse_targets(target or [])
    check_output_is_not_an_input(output, [*files, *([xdm_schema] if xdm_schema else [])])
    check_stdin_once([*files, xdm_schema or ""], " (mapping files and --xdm-schema)")
    report = validate_mapping_files(
        files, test_mode=test_mode, targets=targets, xdm_schema=xdm_schema, strict=strict
    )
    to_terminal = output is None or output == "-"
    color = output_format in ("text", "github") and to_terminal and color_enabled(sys.stdout)
    # On a GitHub Actions runner, mask the signing key for every later step of the job.
    text = render_report(report, output_format, color=color, masks=github_masks(output))
    write_data(text, Path(output) if output else None, force=force)
    unreadable = report.extra.get("unreadable")
    if isinstance(unreadable, list) and unreadable:
        # Several files and some unreadable: the others' findings are in the report; exit 2.
        sys.stderr.write(f"error: {len(unreadable)} unreadable input(s); see the report\n")
        raise typer.Exit(2)
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command(name="validate-mapping", cls=PlainCommand)(validate_mapping)
