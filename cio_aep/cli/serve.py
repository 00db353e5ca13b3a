"""`cio-aep serve`: a local endpoint that answers like AEP's streaming endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cio_aep.cli.common import PlainCommand, info, warn
from cio_aep.cli.options import SigningKeyFileOption

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def serve(
    host: Annotated[
        str,
        typer.Option(help="Address to listen on. Loopback by default; 0.0.0.0 exposes it."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 8080,
    inlet_id: Annotated[
        str | None,
        typer.Option(
            help="Accept only this inlet (other inlets get AEP's 404 problem answer). "
            "One URL path segment: letters, digits and -._~ (AEP's are 64 hex characters)."
        ),
    ] = None,
    flow_id: Annotated[
        str | None,
        typer.Option(
            help="Accept only this dataflow id, a UUID (others get a 400 problem answer). "
            "Canonicalised like build-url does (lower case), and compared regardless of case."
        ),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(
            help="SQLite file keeping accepted events across restarts (default: in memory).",
        ),
    ] = None,
    signing_key_file: SigningKeyFileOption = None,
    fail_rate: Annotated[
        float, typer.Option(help="Share of requests (0..1) answered with a --fail-status.")
    ] = 0.0,
    fail_status: Annotated[
        str, typer.Option(help="Statuses drawn for injected failures, comma-separated.")
    ] = "503,429,500",
    retry_after: Annotated[
        int, typer.Option(help="Retry-After seconds sent with injected 503 and 429.")
    ] = 1,
    latency_ms: Annotated[
        int, typer.Option(help="Wait this long before answering each /collection request.")
    ] = 0,
    drop_rate: Annotated[
        float,
        typer.Option(help="Share of requests (0..1) whose connection is closed without answer."),
    ] = 0.0,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed for reproducible faults."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No line per request.")] = False,
) -> None:
    """Run a local endpoint that answers like AEP's streaming endpoint.

    POST /collection/{INLET_ID} answers 200, /collection/batch/{INLET_ID}
    answers 207; the flow id comes from the x-adobe-flow-id query parameter
    or header. Bodies over 1 MB get 413; errors get AEP's problem JSON;
    ?syncValidation=true checks the event like validate-events does.

    Accepted events are kept in SQLite (--store, else in memory), one per
    event_id with a duplicate count: GET /_cio-aep/events lists them, 10,000 at a
    time unless ?limit= is given (the answer's next_after is the ?after= of the next
    page, null at the end); GET /_cio-aep/health answers. An event is answered 200
    only once it is stored; injected faults are never stored: the sender retries.

    The first line on stdout is the URL listened on (with --port 0, the
    port chosen), flushed at once; the webhook URL to paste goes to stderr,
    then one line per request. Ctrl-C or SIGTERM stops it, prints a summary
    and exits 0: stopping is the normal end of serve.

    Example:

        cio-aep serve --port 8080 --store events.db

        cio-aep serve --port 0 --quiet \\
          --fail-rate 0.3 --fail-status 503,429 --seed 7
    """
    from cio_aep.errors import UsageError
    from cio_aep.local_endpoint.app import ServeConfig
    from cio_aep.local_endpoint.faults import FaultConfig, parse_fail_statuses
    from cio_aep.local_endpoint.server import serve_forever
    from cio_aep.signing import load_signing_key
    from cio_aep.webhook_url import canonical_dataflow_id, check_inlet_id, inlet_id_warning

    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {port}")
    if not host.strip():
        # The OS takes an empty host for every interface: never what an empty value meant.
        raise UsageError(
            "--host must not be empty: use 127.0.0.1 (the default, loopback only), "
            "or 0.0.0.0 to listen on every interface"
        )
    if store is not None and (str(store) == "-" or store.is_dir()):
        raise UsageError(f"--store needs a file name for the SQLite database, not {str(store)!r}")
    # Checked like build-url checks them: the webhook URL printed must be one the tool accepts.
    if flow_id is not None:
        flow_id = canonical_dataflow_id(flow_id)
    if inlet_id is not None:
        inlet_id = check_inlet_id(inlet_id)
        odd = inlet_id_warning(inlet_id)
        if odd is not None:
            warn(odd)
    faults = FaultConfig(
        fail_rate=fail_rate,
        fail_statuses=parse_fail_statuses(fail_status),
        retry_after=retry_after,
        latency_ms=latency_ms,
        drop_rate=drop_rate,
        seed=seed,
    )
    key = load_signing_key(signing_key_file, warn=warn)
    if host not in _LOOPBACK:
        warn(
            f"listening on {host}: other machines can send events to this endpoint; "
            "use the default 127.0.0.1 unless you need that"
        )
    config = ServeConfig(
        host=host,
        port=port,
        inlet_id=inlet_id,
        flow_id=flow_id,
        store_path=str(store) if store is not None else None,
        signing_key=key,
        faults=faults,
        quiet=quiet,
    )
    if key is not None:
        info("verifying X-CIO-Signature on every request")
    stats = serve_forever(config)
    info(
        f"stopped: {stats.requests} requests, {stats.accepted} accepted "
        f"({stats.duplicates} duplicates), {stats.rejected} rejected, "
        f"{stats.faults} faults ({stats.dropped} dropped)"
    )


def register(app: typer.Typer) -> None:
    app.command(name="serve", cls=PlainCommand)(serve)
