"""`cio-aep build-url`: the webhook URL for Customer.io, checked before it can stall anything.

Start-up matters here (scripts call it in loops): this module imports only the standard library,
Typer and the light core modules `cio_aep.webhook_url` and `cio_aep.flow_answer`.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cio_aep.cli.common import PlainCommand, warn
from cio_aep.cli.options import (
    AllowHostOption,
    DataflowIdOption,
    EndpointOption,
)
from cio_aep.errors import UsageError
from cio_aep.webhook_url import FLOW_ID_PARAM, WebhookUrl, build_webhook_url, parse_webhook_url


def build_url(
    ctx: typer.Context,
    endpoint: EndpointOption = None,
    dataflow_id: DataflowIdOption = None,
    from_flow: Annotated[
        str | None,
        typer.Option(
            "--from-flow",
            metavar="FILE",
            help="Read both from a saved Flow Service answer to GET /flows/{id} ('-' = stdin): "
            "items[0].options.inletUrl and items[0].id. --endpoint / --dataflow-id given on "
            "the command line win over it; it wins over the environment variables.",
            show_default=False,
        ),
    ] = None,
    allow_host: AllowHostOption = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the parts as JSON (endpoint, host, port, inlet_id, dataflow_id, url, "
            "warnings) instead of the URL alone.",
        ),
    ] = False,
) -> None:
    """Build the webhook URL to paste into Customer.io, after checking it.

    The URL is {STREAMING_ENDPOINT}?x-adobe-flow-id={DATAFLOW_ID}.
    A wrong URL makes Customer.io hold back every later event for an hour,
    so these are refused (exit 2): http:// (except on loopback), a host
    outside *.adobedc.net, the batch path, syncValidation, a second '?',
    credentials, a fragment, a dataflow ID that is not a UUID, and pasted
    control, invisible or non-ASCII characters. Surrounding whitespace,
    pasted quotes and one trailing slash are cleaned silently.

    stdout holds the URL alone (or JSON with --json); warnings go to stderr.
    Values come from the flags, else --from-flow, else the environment
    (CIO_AEP_ENDPOINT, CIO_AEP_DATAFLOW_ID).

    Example:

        cio-aep build-url \\
          --endpoint https://dcs.adobedc.net/collection/{INLET_ID} \\
          --dataflow-id 439b3fc4-3042-4a3a-b5e0-a494898d3fb0

        URL=$(cio-aep build-url --from-flow flow.json)

        curl -s "$AEP/flows/$FLOW" ... | cio-aep build-url --from-flow - --json

        cio-aep build-url --dataflow-id 439b3fc4-3042-4a3a-b5e0-a494898d3fb0 \\
          --endpoint http://127.0.0.1:8080/collection/local-test
    """
    from_cli = {name: _given_on_command_line(ctx, name) for name in ("endpoint", "dataflow_id")}
    if from_flow is not None:
        from cio_aep.flow_answer import read_flow_answer

        answer = read_flow_answer(from_flow)
        for message in answer.warnings:
            warn(message)
        if not from_cli["endpoint"]:
            endpoint = answer.endpoint
        if not from_cli["dataflow_id"]:
            dataflow_id = answer.dataflow_id

    allowed = tuple(allow_host or ())
    if endpoint is None or not endpoint.strip():
        raise UsageError(
            "no streaming endpoint: give --endpoint URL (or set CIO_AEP_ENDPOINT, or use "
            "--from-flow FILE)",
            hint="it is shown on the dataflow's activity page in AEP",
        )
    if dataflow_id is None or not dataflow_id.strip():
        if FLOW_ID_PARAM in endpoint.lower():
            # A whole webhook URL given as the endpoint already names its dataflow.
            url = parse_webhook_url(endpoint, allowed_hosts=allowed)
        else:
            raise UsageError(
                "no dataflow ID: give --dataflow-id ID (or set CIO_AEP_DATAFLOW_ID, or use "
                "--from-flow FILE)",
                hint="it is shown on the dataflow's activity page in AEP",
            )
    else:
        url = build_webhook_url(endpoint, dataflow_id, allowed_hosts=allowed)
    _emit(url, as_json=as_json)


def _given_on_command_line(ctx: typer.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    # Compared by name so that this module needs nothing from the vendored Click.
    return source is not None and source.name == "COMMANDLINE"


def _emit(url: WebhookUrl, *, as_json: bool) -> None:
    for message in url.warnings:
        warn(message)
    if as_json:
        import json

        parts = url.to_dict()
        keys = ("endpoint", "host", "port", "inlet_id", "dataflow_id", "url", "warnings")
        sys.stdout.write(json.dumps({key: parts[key] for key in keys}, indent=2) + "\n")
    else:
        sys.stdout.write(url.url + "\n")
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    app.command(name="build-url", cls=PlainCommand)(build_url)
