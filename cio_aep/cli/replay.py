"""`cio-aep replay`: deliver files of events to a webhook URL at AEP's rate, losing none.

Only Typer and light modules are imported here; the engine (asyncio, httptools, Rich) is imported
inside the command.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cio_aep.cli.common import PlainCommand, check_stdin_once, color_enabled, info, warn
from cio_aep.cli.options import (
    URL_ENV,
    AllowHostOption,
    RetriesOption,
    SigningKeyFileOption,
    TimeoutOption,
)
from cio_aep.errors import ExitCode, InputError, UsageError

if TYPE_CHECKING:
    from cio_aep.replay.summary import ReplayStats

RATE_WARNING = 5000.0
MAX_CONCURRENCY = 1000
NOTICE_LIMIT = 20  # per-event notices shown on stderr before "... and N more"


def replay(
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE...",
            help="Events to send: JSON array, NDJSON or one object per file; '-' = stdin. "
            "Dead-letter files of earlier runs are valid input.",
            show_default=False,
        ),
    ],
    url: Annotated[
        str,
        typer.Option(
            "--url",
            "-u",
            envvar=URL_ENV,
            metavar="URL",
            help="The webhook URL ({STREAMING_ENDPOINT}?x-adobe-flow-id={DATAFLOW_ID}); "
            "checked like build-url.",
            show_default=False,
        ),
    ],
    allow_host: AllowHostOption = None,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            "-c",
            min=1,
            max=MAX_CONCURRENCY,
            help="Requests in flight at once (one keep-alive connection each).",
        ),
    ] = 16,
    rate: Annotated[
        float,
        typer.Option(
            "--rate",
            "-r",
            min=0.0,
            metavar="EVENTS_PER_S",
            help="At most this many requests a second (retries included); 0 = no limit. "
            "1,000 is AEP's general guidance; streaming sources take about 4,000-5,000 a "
            "second per organisation.",
        ),
    ] = 1000.0,
    ordered: Annotated[
        bool,
        typer.Option(
            "--ordered",
            help="One event at a time, in file order, a failing one holding back the rest "
            "(as Customer.io delivers). Ignores --concurrency.",
        ),
    ] = False,
    retries: RetriesOption = 3,
    timeout: TimeoutOption = 4.0,
    dead_letter: Annotated[
        Path | None,
        typer.Option(
            "--dead-letter",
            metavar="FILE",
            help="Write events that failed for good, and invalid records, here (NDJSON: "
            "event, status, message, attempts, source, line); replay the file later as it is.",
            show_default=False,
        ),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            metavar="FILE",
            help="Record progress durably in FILE, so that an interrupted run (even kill -9) "
            "can go on with --resume.",
            show_default=False,
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Go on from --checkpoint: send only what it does not record as done.",
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Stop at the first invalid record (exit 2) instead of dead-lettering it.",
        ),
    ] = False,
    json_output: Annotated[
        bool,
        typer.Option("--json", help="Print the summary as JSON on stdout."),
    ] = False,
    signing_key_file: SigningKeyFileOption = None,
) -> None:
    """Send files of events to a webhook URL as Customer.io would, fast, losing none.

    One POST per event through keep-alive connections, signed when a key is
    given. Events that fail for good (after retries, or refused with a 4xx)
    and invalid records go to --dead-letter, itself a valid replay input.
    Progress goes to stderr; the summary (read, sent, accepted, rejected,
    retried, dead-lettered, latency percentiles, statuses) to stdout.

    Delivery is at least once: with --checkpoint, a run stopped at any
    moment and run again with --resume sends only what was not recorded as
    done; at most the events in flight (bounded, and counted in the summary
    as possible duplicates) can reach the endpoint twice. Receivers
    de-duplicate on event_id.

    Exit codes: 0 every event accepted; 1 some events dead-lettered
    (rejected, failed for good, or invalid); 2 bad usage or unreadable input
    (and --strict on an invalid record); 3 endpoint unreachable: an event
    used up its attempts failing to connect (refused, DNS, TLS, connect
    timeout) before any HTTP answer came back in this run; the run stops at
    once, dead-letters nothing, and can simply be run again. Ctrl-C stops
    cleanly (checkpoint and dead letter flushed, summary printed): 130.

    Example:

        cio-aep replay events.ndjson --url "$WEBHOOK_URL" --rate 2000

        cio-aep replay export.json --url "$WEBHOOK_URL" \\
          --dead-letter failed.ndjson --checkpoint run.ckpt

        cio-aep replay export.json --url "$WEBHOOK_URL" \\
          --dead-letter failed.ndjson --checkpoint run.ckpt --resume
    """
    from cio_aep.delivery.retry import RetryPolicy
    from cio_aep.replay.engine import ReplayConfig, run_replay
    from cio_aep.replay.progress import progress_for
    from cio_aep.signing import load_signing_key
    from cio_aep.webhook_url import parse_webhook_url

    target = parse_webhook_url(url, allowed_hosts=allow_host or ())
    for message in target.warnings:
        warn(message)
    _check_files(files, dead_letter, checkpoint, resume)
    if rate > RATE_WARNING:
        warn(
            f"--rate {rate:g} is above the 4,000-5,000 requests a second AEP's streaming "
            "sources take per organisation: expect 429 answers"
        )
    key = load_signing_key(signing_key_file, warn=warn)
    config = ReplayConfig(
        url=target.request_url(),
        key=key,
        concurrency=concurrency,
        rate=rate,
        ordered=ordered,
        retry=RetryPolicy(retries=retries),
        timeout=timeout,
        strict=strict,
        dead_letter=dead_letter,
        checkpoint=checkpoint,
        resume=resume,
    )
    notices = _Notices()
    stats, error = run_replay(
        config,
        files,
        progress=progress_for(sys.stderr, color=color_enabled()),
        notify=notices.add,
    )
    notices.close()
    _print_summary(stats, json_output)
    if error is not None:
        raise error
    if stats.outcome == "interrupted":
        info("interrupted" + (": run again with --resume to go on" if checkpoint else ""))
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    if stats.dead_lettered:
        if dead_letter is None:
            warn(
                f"{stats.dead_lettered} events were not delivered and not saved: "
                "add --dead-letter FILE to keep them for a later replay"
            )
        raise typer.Exit(int(ExitCode.FAILED))


class _Notices:
    """Per-event notices (invalid records, events dead-lettered) on stderr, the first few."""

    def __init__(self) -> None:
        self.shown = 0
        self.more = 0

    def add(self, message: str) -> None:
        if self.shown < NOTICE_LIMIT:
            self.shown += 1
            warn(message)
        else:
            self.more += 1

    def close(self) -> None:
        if self.more:
            warn(f"... and {self.more} more like these")


def _print_summary(stats: ReplayStats, as_json: bool) -> None:
    from cio_aep.replay.summary import render_summary

    if as_json:
        sys.stdout.write(json.dumps(stats.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(render_summary(stats) + "\n")
    sys.stdout.flush()


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def _check_files(
    files: list[str], dead_letter: Path | None, checkpoint: Path | None, resume: bool
) -> None:
    """Usage errors found before anything is sent."""
    if not files:
        raise UsageError("give at least one FILE of events ('-' for stdin)")
    check_stdin_once(files)
    if "-" in files and sys.stdin is None:  # started with stdin closed (`<&-`)
        raise InputError("standard input is closed", source="<stdin>")
    for flag, value in (("--dead-letter", dead_letter), ("--checkpoint", checkpoint)):
        if value is not None and str(value) == "-":
            raise UsageError(f"{flag} needs a file name; '-' (stdout) is for the summary")
    if resume and checkpoint is None:
        raise UsageError("--resume needs --checkpoint FILE (the checkpoint to go on from)")
    if checkpoint is not None:
        from cio_aep.replay.checkpoint import checkpoint_in_use

        if checkpoint_in_use(checkpoint):  # checked again, under lock, when the run starts
            raise UsageError(
                f"{checkpoint}: the checkpoint is in use by another replay",
                hint="wait for that run to end, or give another --checkpoint file",
            )
    if checkpoint is not None and "-" in files:
        raise UsageError(
            "--checkpoint needs files it can read again: stdin cannot be resumed",
            hint="save the events to a file first",
        )
    for name in files:
        if name == "-":
            continue
        path = Path(name)
        if not path.exists():
            raise InputError("no such file", source=name)
        if path.is_dir():
            raise InputError("is a directory, expected a file of events", source=name)
        if not os.access(path, os.R_OK):
            raise InputError("permission denied", source=name)
        if path.is_file() and path.stat().st_size == 0:
            warn(f"{name} is empty: nothing to send from it")  # e.g. a clean run's dead letters
        for flag, other in (("--dead-letter", dead_letter), ("--checkpoint", checkpoint)):
            if other is not None and _same(path, other):
                raise UsageError(
                    f"{flag} {other} is also an input file: it would be overwritten while read",
                    hint="write it to another file, then replay that",
                )
    if dead_letter is not None and not resume and _holds_data(dead_letter):
        raise UsageError(
            f"--dead-letter {dead_letter} is not empty (failures of an earlier run?)",
            hint="replay it, move it away or give another file; with --resume it is appended to",
        )
    if dead_letter is not None and checkpoint is not None and _same(dead_letter, checkpoint):
        raise UsageError("--dead-letter and --checkpoint must be different files")
    if checkpoint is not None and checkpoint.is_dir():
        raise UsageError(f"{checkpoint}: is a directory; give a file name for --checkpoint")
    if checkpoint is not None and not resume and checkpoint.exists():
        from cio_aep.replay.checkpoint import is_checkpoint

        if not is_checkpoint(checkpoint):
            raise UsageError(
                f"{checkpoint}: the file exists and is not a replay checkpoint; not overwriting it",
                hint="give --checkpoint a new file name",
            )
        raise UsageError(
            f"{checkpoint}: a checkpoint already exists",
            hint="add --resume to go on from it, or delete it to start over",
        )


def _holds_data(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size > 0
    except OSError:
        return False  # the writer says what is wrong with it


def register(app: typer.Typer) -> None:
    app.command(name="replay", cls=PlainCommand)(replay)
