"""`cio-aep validate-events`: check files of events against the Customer.io catalog."""

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
    info,
    write_data,
)


def validate_events(
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE...",
            help="Files of events: one JSON object, a JSON array, or NDJSON. '-' reads stdin.",
            show_default=False,
        ),
    ],
    fmt: Annotated[
        ReportFormat,
        typer.Option("--format", "-f", help="Report format: text, json, github, sarif, junit."),
    ] = ReportFormat.text,
    strict: Annotated[
        bool, typer.Option("--strict", help="Warnings fail the check too (exit 1).")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report to FILE instead of stdout."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --output.")] = False,
) -> None:
    """Check events as Customer.io sends them: object type and metric, required fields and
    their types, Unix-seconds timestamp, ULID event_id, AEP support.

    Errors are what breaks ingestion or mapping; looser payloads than the spec are warnings.
    Findings name the file, line and JSON path. Large files are streamed.

    Exit codes: 0 valid (warnings allowed unless --strict), 1 findings, 2 unreadable input.

    Example:

        cio-aep validate-events captured.ndjson --format github
    """
    from cio_aep.event_check import PROGRESS_EVERY, check_event_files
    from cio_aep.reporters import render_report

    progress = _progress_line if sys.stderr.isatty() else None
    check_stdin_once(files)
    check_output_is_not_an_input(output, files)
    result = check_event_files(
        files, strict=strict, keep_checks=fmt is ReportFormat.junit, on_progress=progress
    )
    if progress is not None and result.events >= PROGRESS_EVERY:
        sys.stderr.write("\r\x1b[K")  # clear the progress line before the report
    report = result.report
    # On a GitHub Actions runner, mask the signing key for every later step of the job.
    text = render_report(
        report,
        fmt.value,
        color=output is None and color_enabled(sys.stdout),
        masks=github_masks(output),
    )
    write_data(text, output, force=force)
    if result.unreadable:
        info(f"error: {result.unreadable} unreadable input(s); see the report")
        raise typer.Exit(2)
    if not report.ok:
        raise typer.Exit(1)


def _progress_line(events: int) -> None:
    """A one-line counter on the terminal for long files (stderr, overwritten in place)."""
    sys.stderr.write(f"\r{events:,} events checked…")
    sys.stderr.flush()


def register(app: typer.Typer) -> None:
    app.command(name="validate-events", cls=PlainCommand)(validate_events)
