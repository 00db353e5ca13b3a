"""Options that several commands share, declared once: where to send, and the signing key.

Only Typer and the standard library are imported here: `build-url` uses this module and must
start fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

URL_ENV = "CIO_AEP_URL"
ENDPOINT_ENV = "CIO_AEP_ENDPOINT"
DATAFLOW_ID_ENV = "CIO_AEP_DATAFLOW_ID"

EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        "-e",
        envvar=ENDPOINT_ENV,
        metavar="URL",
        help="The Streaming endpoint shown on the dataflow's activity page in AEP "
        "(https://dcs.adobedc.net/collection/{INLET_ID}).",
        show_default=False,
    ),
]
DataflowIdOption = Annotated[
    str | None,
    typer.Option(
        "--dataflow-id",
        "-d",
        envvar=DATAFLOW_ID_ENV,
        metavar="ID",
        help="The Dataflow ID shown on the same page (a UUID; any case, braces accepted).",
        show_default=False,
    ),
]
AllowHostOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-host",
        metavar="HOST",
        help="Accept this host besides *.adobedc.net, e.g. a proxy in front of AEP "
        "(repeatable). Loopback hosts (127.0.0.1, localhost, ::1) are always accepted.",
        show_default=False,
    ),
]
SigningKeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--signing-key-file",
        metavar="FILE",
        help="File holding the webhook's signing key (else the CIO_SIGNING_KEY environment "
        "variable). There is no option taking the key itself: it would show in the process "
        "list.",
        show_default=False,
    ),
]
RetriesOption = Annotated[
    int,
    typer.Option(
        "--retries",
        min=0,
        max=10,
        help="Retries after connection errors, timeouts, 429 and 5xx (never other 4xx), with "
        "backoff and jitter, honouring Retry-After; same event_id, fresh signature.",
    ),
]
TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout",
        min=0.001,
        metavar="SECONDS",
        help="Per attempt; Customer.io's is 4 s (a slower answer is a failure to it).",
    ),
]
