"""`cio-aep send-test-event`: real Customer.io events over real HTTP, and AEP's answer explained.

Only Typer and light core modules are imported at module level; the event generator, the file
reader and httpx are imported inside the command, and `--dry-run` never imports httpx.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cio_aep.cli.common import PlainCommand, info, warn
from cio_aep.cli.options import (
    URL_ENV,
    AllowHostOption,
    DataflowIdOption,
    EndpointOption,
    RetriesOption,
    SigningKeyFileOption,
    TimeoutOption,
)
from cio_aep.errors import NetworkError, UsageError

if TYPE_CHECKING:
    from cio_aep.delivery import Delivery, Outcome, RetryPolicy
    from cio_aep.delivery.httpx_sender import Attempt, SendResult
    from cio_aep.signing import SigningKey
    from cio_aep.webhook_url import WebhookUrl

DEFAULT_EVENT = "customer:subscribed"
MAX_COUNT = 1000  # a test tool: volume is `replay`'s job
SYNC_VALIDATION_LIMIT = 60  # requests a minute per connection (DOMAIN.md §3)


def send_test_event(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            "-u",
            envvar=URL_ENV,
            metavar="URL",
            help="The webhook URL as given to Customer.io "
            "({STREAMING_ENDPOINT}?x-adobe-flow-id={DATAFLOW_ID}); checked like build-url.",
            show_default=False,
        ),
    ] = None,
    endpoint: EndpointOption = None,
    dataflow_id: DataflowIdOption = None,
    allow_host: AllowHostOption = None,
    event: Annotated[
        list[str] | None,
        typer.Option(
            "--event",
            metavar="OBJECT_TYPE:METRIC",
            help=f"Event type to send (repeatable; default {DEFAULT_EVENT}). "
            "List them with: cio-aep events.",
            show_default=False,
        ),
    ] = None,
    all_events: Annotated[
        bool,
        typer.Option("--all-events", help="Send one event of every AEP-supported type."),
    ] = False,
    count: Annotated[
        int,
        typer.Option("--count", "-n", min=1, max=MAX_COUNT, help="Events of each type to send."),
    ] = 1,
    test_mode: Annotated[
        bool,
        typer.Option("--test-mode", help="As Customer.io's test mode sends them: no cio_id."),
    ] = False,
    id_only: Annotated[
        bool,
        typer.Option("--id-only", help="As an ID-only workspace sends them: identifiers {id}."),
    ] = False,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Seed for reproducible events.", show_default=False),
    ] = None,
    timestamp: Annotated[
        int | None,
        typer.Option(
            "--timestamp",
            metavar="UNIX_SECONDS",
            help="Event time of the generated events (default: now).",
            show_default=False,
        ),
    ] = None,
    file: Annotated[
        str | None,
        typer.Option(
            "--file",
            "-f",
            metavar="FILE",
            help="Send the events of FILE as they are (JSON object, array or NDJSON; '-' = "
            "stdin) instead of generated ones.",
            show_default=False,
        ),
    ] = None,
    signing_key_file: SigningKeyFileOption = None,
    timeout: TimeoutOption = 4.0,
    retries: RetriesOption = 3,
    sync_validation: Annotated[
        bool,
        typer.Option(
            "--sync-validation",
            help="Ask AEP to validate each event now (syncValidation=true, this run only; "
            "60 requests a minute).",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the exact requests and send nothing."),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="One JSON object per event on stdout."),
    ] = False,
    backoff_base: Annotated[
        float,
        typer.Option("--backoff-base", hidden=True, help="Backoff base in seconds (tests)."),
    ] = 0.5,
) -> None:
    """Send events exactly as Customer.io would, and explain what AEP answers.

    Each event is one POST (generated events as compact JSON, --file events byte for byte as
    read), signed when a key is given (CIO_SIGNING_KEY or
    --signing-key-file), with a 4 s timeout like Customer.io's. Connection errors, timeouts,
    429 and 5xx are retried with backoff (same event_id, fresh signature); other 4xx never are.

    stdout: one line per event (type, event_id, status, xactionId or error, latency), or JSON
    with --json; stderr: explanations of failures and a summary.
    Exit 0 all accepted, 1 some rejected, 2 bad usage or input, 3 endpoint unreachable.

    Example:

        export CIO_SIGNING_KEY=...   # the webhook's signing key

        cio-aep send-test-event --url "$URL"

        cio-aep send-test-event --url "$URL" --event email:sent --event email:opened

        cio-aep send-test-event --url "$URL" --all-events --sync-validation --json

        cio-aep send-test-event --url "$URL" --file events.ndjson --dry-run
    """
    from cio_aep.delivery import RetryPolicy, build_delivery
    from cio_aep.signing import load_signing_key

    if timeout <= 0:
        raise UsageError("--timeout must be more than 0 seconds")
    if backoff_base < 0:
        raise UsageError("--backoff-base must be 0 or more")
    target = _resolve_target(ctx, url, endpoint, dataflow_id, tuple(allow_host or ()))
    for message in target.warnings:
        warn(message)
    request_url = target.request_url(sync_validation=sync_validation)

    if file is not None:
        _refuse_with_file(
            event=bool(event),
            all_events=all_events,
            count=count != 1,
            test_mode=test_mode,
            id_only=id_only,
            seed=seed is not None,
            timestamp=timestamp is not None,
        )
        deliveries = [build_delivery(request_url, value, body=raw) for value, raw in _read(file)]
        if not deliveries:
            raise UsageError(f"{file}: holds no events")
    else:
        events = _generate(event, all_events, count, test_mode, id_only, seed, timestamp)
        deliveries = [build_delivery(request_url, e) for e in events]

    key = load_signing_key(signing_key_file, warn=warn)
    if key is None:
        warn(
            "no signing key: requests go unsigned, unlike Customer.io's (set CIO_SIGNING_KEY "
            "or give --signing-key-file)"
        )
    if sync_validation:
        info(
            f"--sync-validation: AEP validates each event now; it allows {SYNC_VALIDATION_LIMIT} "
            "requests a minute per connection and drops a failing event with a 400. Never put "
            "syncValidation=true in the URL given to Customer.io: its first 400 would stall "
            "the webhook for an hour."
        )
        if len(deliveries) > SYNC_VALIDATION_LIMIT:
            warn(f"{len(deliveries)} events: expect 429 answers past the first 60 a minute")

    if dry_run:
        _print_dry_run(deliveries, key, as_json=as_json)
        return

    policy = RetryPolicy(retries=retries, base=backoff_base)
    _send(deliveries, key, timeout=timeout, policy=policy, as_json=as_json, host=target.host)


# ------------------------------------------------------------------------------- inputs


def _given_on_command_line(ctx: typer.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def _resolve_target(
    ctx: typer.Context,
    url: str | None,
    endpoint: str | None,
    dataflow_id: str | None,
    allowed: tuple[str, ...],
) -> WebhookUrl:
    """Flags beat the environment; --url beats --endpoint/--dataflow-id from the environment."""
    from cio_aep.webhook_url import FLOW_ID_PARAM, build_webhook_url, parse_webhook_url

    url_cli = _given_on_command_line(ctx, "url")
    endpoint_cli = _given_on_command_line(ctx, "endpoint") or _given_on_command_line(
        ctx, "dataflow_id"
    )
    if url_cli and endpoint_cli:
        raise UsageError("give either --url or --endpoint with --dataflow-id, not both")
    has_url = url is not None and bool(url.strip())
    has_endpoint = endpoint is not None and bool(endpoint.strip())
    if url is not None and has_url and (url_cli or not endpoint_cli):
        return parse_webhook_url(url, allowed_hosts=allowed)
    if endpoint is not None and has_endpoint:
        if dataflow_id is not None and dataflow_id.strip():
            return build_webhook_url(endpoint, dataflow_id, allowed_hosts=allowed)
        if FLOW_ID_PARAM in endpoint.lower():
            return parse_webhook_url(endpoint, allowed_hosts=allowed)
        raise UsageError(
            "no dataflow ID: give --dataflow-id ID with --endpoint (or set CIO_AEP_DATAFLOW_ID)",
            hint="it is shown on the dataflow's activity page in AEP",
        )
    raise UsageError(
        "no target: give --url WEBHOOK_URL, or --endpoint URL with --dataflow-id ID "
        f"(or set {URL_ENV})",
        hint="build the URL with: cio-aep build-url",
    )


def _refuse_with_file(**given: bool) -> None:
    names = ["--" + name.replace("_", "-") for name, on in given.items() if on]
    if names:
        raise UsageError(
            f"--file sends its events as they are: {', '.join(names)} cannot apply to them"
        )


def _read(source: str) -> list[tuple[object, bytes]]:
    """Every event of `source` with its exact bytes; a bad line stops the run before sending."""
    from cio_aep.event_reader import read_events

    items: list[tuple[object, bytes]] = []
    for read in read_events(source):
        if read.error is not None:
            from cio_aep.errors import InputError

            raise InputError(
                f"not valid JSON: {read.error}",
                source=read.source,
                line=read.line,
                hint="nothing was sent; fix the file or check it with: cio-aep validate-events",
            )
        if not isinstance(read.value, dict):
            where = f"{read.source}:{read.line}" if read.line is not None else read.source
            warn(f"{where}: not a JSON object (Customer.io sends objects); sent as it is")
        items.append((read.value, read.text.strip().encode("utf-8")))
        if len(items) > MAX_COUNT:
            raise UsageError(
                f"{source}: more than {MAX_COUNT} events", hint="send large files with replay"
            )
    return items


def _generate(
    keys: list[str] | None,
    all_events: bool,
    count: int,
    test_mode: bool,
    id_only: bool,
    seed: int | None,
    timestamp: int | None,
) -> list[dict[str, Any]]:
    from cio_aep.catalog import CATALOG
    from cio_aep.generator import EventGenerator

    if all_events and keys:
        raise UsageError("give --event or --all-events, not both")
    if all_events:
        types = CATALOG.aep_supported()
    else:
        types = [CATALOG.parse_key(k) for k in (keys or [DEFAULT_EVENT])]
        for kind in dict.fromkeys(t.key for t in types if not t.aep_supported):
            warn(f"{kind}: AEP's Customer.io source does not list this object type")
    if len(types) * count > MAX_COUNT:
        raise UsageError(
            f"{len(types) * count} events: send-test-event sends at most {MAX_COUNT}",
            hint="send volume with: cio-aep replay",
        )
    generator = EventGenerator(seed=seed, timestamp=timestamp, test_mode=test_mode, id_only=id_only)
    return [generator.generate_event(t) for t in types for _ in range(count)]


# ----------------------------------------------------------------------------- dry run


def _print_dry_run(deliveries: list[Delivery], key: SigningKey | None, *, as_json: bool) -> None:
    from cio_aep.delivery import prepare_request

    for delivery in deliveries:
        request = prepare_request(delivery, key)
        headers = {**request.headers, "Content-Length": str(len(request.body))}
        body = request.body.decode("utf-8", errors="replace")
        if as_json:
            record = {
                "method": request.method,
                "url": request.url,
                "headers": headers,
                "body": body,
            }
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            lines = [f"{request.method} {request.url}"]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            sys.stdout.write("\n".join(lines) + "\n\n" + body + "\n\n")
    sys.stdout.flush()
    info(f"dry run: {len(deliveries)} request(s) shown, nothing sent")


# -------------------------------------------------------------------------------- send


def _send(
    deliveries: list[Delivery],
    key: SigningKey | None,
    *,
    timeout: float,
    policy: RetryPolicy,
    as_json: bool,
    host: str,
) -> None:
    from cio_aep.delivery.httpx_sender import send_events

    total_attempts = policy.retries + 1

    def on_retry(delivery: Delivery, attempt: Attempt, outcome: Outcome, delay: float) -> None:
        what = f"{attempt.status} {outcome.title}" if attempt.status else outcome.title
        info(
            f"retry: {delivery.key or 'event'} {delivery.event_id or ''}: {what}; attempt "
            f"{attempt.number + 1} of {total_attempts} in {delay:.1f} s"
        )

    results: list[SendResult] = []
    try:
        for result in send_events(
            deliveries, key, timeout=timeout, policy=policy, on_retry=on_retry
        ):
            results.append(result)
            _print_result(result, as_json=as_json)
    except (NetworkError, KeyboardInterrupt) as stop:
        # Say what got through before the error (exit 3) or Ctrl-C (exit 130); with --json,
        # every event still gets its record, so nothing goes unaccounted for.
        if as_json:
            reason = "interrupted" if isinstance(stop, KeyboardInterrupt) else "unreachable"
            for delivery in deliveries[len(results) :]:
                _print_not_sent(delivery, reason)
        _summary(results, len(deliveries), host)
        raise
    _summary(results, len(deliveries), host)
    if not all(r.outcome.accepted for r in results):
        raise typer.Exit(1)


def _print_result(result: SendResult, *, as_json: bool) -> None:
    outcome = result.outcome
    if as_json:
        record = {
            "event": result.delivery.key,
            "event_id": result.delivery.event_id,
            "status": outcome.status,
            "accepted": outcome.accepted,
            "xaction_id": outcome.xaction_id,
            "latency_ms": result.latency_ms,
            "attempts": len(result.attempts),
            "title": outcome.title,
            "explanation": outcome.explanation,
            "details": list(outcome.details),
            "error": outcome.error,
            "customer_io": outcome.customer_io,
            "sent": True,
        }
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    status = str(outcome.status) if outcome.status is not None else "---"
    what = f"xactionId={outcome.xaction_id}" if outcome.accepted else outcome.title
    if outcome.accepted and outcome.xaction_id is None:
        what = outcome.title
    tries = f" ({len(result.attempts)} attempts)" if len(result.attempts) > 1 else ""
    sys.stdout.write(
        f"{result.delivery.key or '-'}  {result.delivery.event_id or '-'}  {status}  {what}  "
        f"{result.latency_ms:.0f} ms{tries}\n"
    )
    sys.stdout.flush()
    if not outcome.accepted or outcome.details:
        lines = [f"  {outcome.title}: {outcome.explanation}"]
        lines += [f"    {detail}" for detail in outcome.details]
        if not outcome.accepted:
            lines.append(f"  {outcome.customer_io}")
        info("\n".join(lines))


def _print_not_sent(delivery: Delivery, reason: str) -> None:
    """The --json record of an event never sent, because the run stopped before it."""
    record = {
        "event": delivery.key,
        "event_id": delivery.event_id,
        "status": None,
        "accepted": False,
        "sent": False,
        "error": "not sent: " + reason,
    }
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


def _summary(results: list[SendResult], planned: int, host: str) -> None:
    accepted = sum(1 for r in results if r.outcome.accepted)
    rejected = len(results) - accepted
    retried = sum(1 for r in results if len(r.attempts) > 1)
    parts = [f"{accepted} accepted", f"{rejected} failed"]
    if retried:
        parts.append(f"{retried} retried")
    if planned > len(results):
        parts.append(f"{planned - len(results)} not sent")
    info(f"{len(results)} of {planned} event(s) sent to {host}: " + ", ".join(parts))


def register(app: typer.Typer) -> None:
    app.command(name="send-test-event", cls=PlainCommand)(send_test_event)
