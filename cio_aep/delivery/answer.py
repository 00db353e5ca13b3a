"""AEP's answer to one delivery, parsed leniently and explained in plain words (DOMAIN.md §3).

Pure: `explain_answer` takes a status, headers and body bytes (or a transport error kind), so
any HTTP client can use it. Parsing never fails: AEP's bodies vary (`inletId`/`inletID`,
`receivedTimeMs` as int or string, `status` "401" as a string) and may be empty or not JSON.
"""

from __future__ import annotations

import enum
import json
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from cio_aep.delivery.retry import parse_retry_after, retryable_status


class ErrorKind(str, enum.Enum):
    """Why a delivery got no HTTP answer. The values are what `--json` shows."""

    TIMEOUT = "timeout"  # connected, no (complete) answer in time
    CONNECT_TIMEOUT = "connect_timeout"
    REFUSED = "connection_refused"
    RESET = "connection_reset"  # closed by the peer: reset, EOF, no answer
    DNS = "dns"
    TLS = "tls"
    CONNECT = "connect"  # another failure to connect (no route, network down...)
    PROTOCOL = "protocol"  # an answer that is not valid HTTP


# Errors for which the endpoint was never reached: the ones that make a run exit 3.
UNREACHABLE = frozenset(
    {ErrorKind.CONNECT_TIMEOUT, ErrorKind.REFUSED, ErrorKind.DNS, ErrorKind.TLS, ErrorKind.CONNECT}
)
# A certificate or handshake failure does not fix itself in seconds: no retry.
_NOT_RETRYABLE_ERRORS = frozenset({ErrorKind.TLS})

# DOMAIN.md §2: answers after which Customer.io waits one hour before retrying.
HOUR_PAUSE_STATUSES = frozenset({400, 401, 402, 403, 404, 405, 410, 429, 500, 502, 521})
_HOUR_PAUSE_ERRORS = frozenset({ErrorKind.REFUSED, ErrorKind.RESET, ErrorKind.TLS})

CIO_DELIVERED = "Customer.io would count this event as delivered and send the next one."
CIO_HOUR = (
    "Customer.io would pause this webhook's queue for an hour before retrying, and every later "
    "event would wait behind this one."
)
CIO_BACKOFF = (
    "Customer.io would retry with exponential backoff (for up to 7 days), and every later event "
    "would wait behind this one."
)
# DOMAIN.md says nothing of redirects: say what is known (not 2xx = failure), not a guess.
CIO_REDIRECT = (
    "Whether Customer.io follows redirects is not documented. If it does not, it takes this "
    "answer as a failure and retries with backoff (for up to 7 days), every later event waiting "
    "behind this one; give Customer.io the final URL instead."
)


@dataclass(frozen=True)
class MessageResult:
    """One entry of a 207 batch answer, in the order the messages were sent."""

    index: int
    accepted: bool
    xaction_id: str | None = None
    status: int | None = None
    message: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What one delivery came to: accepted or not, why, what to do, what Customer.io would do."""

    accepted: bool
    status: int | None
    title: str
    explanation: str
    customer_io: str
    details: tuple[str, ...] = ()
    xaction_id: str | None = None
    retryable: bool = False
    retry_after: float | None = None
    error: str | None = None
    reached: bool = True
    inlet_id: str | None = None
    received_time_ms: int | None = None
    sync_validation: str | None = None  # "pass", "skipped" or "fail" when AEP said so
    messages: tuple[MessageResult, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (lists, not tuples)."""
        data = asdict(self)
        data["details"] = list(self.details)
        data["messages"] = [asdict(m) for m in self.messages]
        return data


# ---------------------------------------------------------------- lenient parsing helpers


def _json(body: bytes) -> object:
    if not body or not body.strip():
        return None
    try:
        return json.loads(body.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):  # not JSON, an integer over 4,300 digits, or too deep
        return None


def _get(obj: object, *names: str) -> object:
    """First present of `names` in a JSON object, also trying any letter case."""
    if not isinstance(obj, Mapping):
        return None
    for name in names:
        if name in obj:
            return obj[name]
    lowered = {str(k).lower(): v for k, v in obj.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _str(value: object) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        # `isdigit` alone accepts '²', which int() refuses.
        return int(text) if text.isascii() and text.isdigit() else None
    return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _snippet(body: bytes, limit: int = 200) -> str:
    text = " ".join(body.decode("utf-8", errors="replace").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _causes(cause: object, pointer: str | None = None) -> Iterator[str]:
    """Leaf messages of a problem's `report.cause` (e.g. `_streamingValidation` trees)."""
    if isinstance(cause, str):
        yield f"{pointer}: {cause}" if pointer and pointer != "#" else cause
    elif isinstance(cause, list):
        for item in cause:
            yield from _causes(item, pointer)
    elif isinstance(cause, Mapping):
        children = cause.get("causingExceptions")
        here = _str(cause.get("pointerToViolation")) or pointer
        if isinstance(children, list) and children:
            yield from _causes(children, here)
        elif "message" in cause:
            message = _str(cause.get("message")) or json.dumps(cause.get("message"))
            yield f"{here}: {message}" if here and here != "#" else message
        else:
            for value in cause.values():
                yield from _causes(value, here)
    elif cause is not None:
        yield json.dumps(cause)


def problem_details(doc: object) -> list[str]:
    """`report.message` and flattened `report.cause` of a problem JSON (or `detail`/`message`)."""
    details: list[str] = []
    report = _get(doc, "report")
    message = _str(_get(report, "message")) or _str(_get(doc, "detail")) or _str(
        _get(doc, "message")
    )
    if message:
        details.append(message)
    details.extend(_causes(_get(report, "cause")))
    return details


# --------------------------------------------------------------------------- explanations


def _customer_io(status: int | None, error: ErrorKind | None) -> str:
    if status is not None and error is None:
        if 200 <= status <= 299:
            return CIO_DELIVERED
        if 300 <= status <= 399:
            return CIO_REDIRECT
        return CIO_HOUR if status in HOUR_PAUSE_STATUSES else CIO_BACKOFF
    return CIO_HOUR if error in _HOUR_PAUSE_ERRORS else CIO_BACKOFF


def _explain_400(doc: object, details: list[str]) -> tuple[str, str]:
    text = " ".join(details).lower()
    title = _str(_get(doc, "title")) or "Bad request"
    if "unknown xdm format" in text:
        return title, (
            "AEP could not read the body as data of this dataflow. Check that the URL ends with "
            "?x-adobe-flow-id=<the dataflow ID> of this streaming endpoint's dataflow, and that "
            "the dataflow is enabled (Adobe advises waiting about 5 minutes after creating it, "
            "10 after saving a mapping)."
        )
    if "ims org" in text:
        return title, (
            "The inlet refused the message's organisation: the dataflow ID probably belongs to "
            "another dataflow or sandbox. Copy the streaming endpoint and the dataflow ID from "
            "the same dataflow's activity page."
        )
    if "_streamingvalidation" in text or "invalid" in text or "violation" in text:
        return title, (
            "Synchronous validation rejected the event: it does not fit the dataflow's schema or "
            "mapping (see the details). Fix the mapping or the source schema, then send again."
        )
    return title, (
        "AEP refused the request as malformed (see the details). Check the body is one JSON "
        "object as Customer.io sends it, and the URL is the dataflow's webhook URL."
    )


_UNAVAILABLE = "AEP is temporarily unavailable. Try again later (honouring Retry-After)."
# Answers whose meaning depends on the status alone: (title, what it means and what to do).
_STATUS_TEXT: dict[int, tuple[str, str]] = {
    401: ("Authenticated inlet", (
        "This streaming connection requires authentication (an Adobe bearer token), and "
        "Customer.io cannot send one: every event would be refused. Create the Customer.io "
        "source and dataflow without authentication, then use its new URL.")),
    403: ("Forbidden", (
        "AEP refused access to this inlet. Check the URL is this dataflow's, and any IP "
        "allow-list or proxy in between.")),
    404: ("No such inlet", (
        "Nothing answers at this URL: the inlet ID (the 64 hex characters after "
        "/collection/) or the host is wrong, or the connection was deleted. Copy the "
        "streaming endpoint again from the dataflow's activity page.")),
    405: ("Method not allowed", (
        "This URL does not take a POST: it is not a streaming endpoint "
        "(https://dcs.adobedc.net/collection/<inlet id>?x-adobe-flow-id=<dataflow id>).")),
    410: ("Gone", "This inlet no longer exists: create or pick a live dataflow."),
    413: ("Payload too large", (
        "AEP takes at most 1 MB per request (about 10 KB per record is recommended). "
        "Customer.io cannot split an event: keep large fields out of the payload.")),
    429: ("Too many requests", (
        "AEP is rate-limiting this connection (with syncValidation, 60 requests a minute). "
        "Send more slowly; Retry-After says when to try again.")),
    500: ("AEP server error", (
        "AEP failed on its side. Try again later; if it persists, check Adobe's status page.")),
    501: ("Not implemented", (
        "This region's streaming endpoint does not support syncValidation: run again "
        "without --sync-validation.")),
    502: ("Bad gateway", _UNAVAILABLE),
    503: ("Service unavailable", _UNAVAILABLE),
    504: ("Gateway timeout", _UNAVAILABLE),
}  # fmt: skip
_SIGNATURE_REJECTED = ("Signature rejected", (
    "The receiver checks X-CIO-Signature (a proxy, or `cio-aep serve` with a key) and "
    "refused it: give it the same signing key as this webhook, and make sure nothing "
    "between re-serialises the body."))
_EMPTY_403 = ("Forbidden (empty answer)", (
    "An empty 403 comes from IP allow-listing on the AEP side: this machine's address is "
    "not allowed. Allow Customer.io's outbound IP addresses (and this one for testing)."))


def _explain_status(status: int, doc: object, body: bytes) -> tuple[str, str, list[str]]:
    """(title, explanation, details) of a non-2xx answer."""
    details = problem_details(doc)
    if doc is None and body.strip():
        details.append(f"body (not JSON): {_snippet(body)}")
    mentions_signature = "signature" in (" ".join(details) + _snippet(body, 1000)).lower()
    if status == 400:
        title, text = _explain_400(doc, details)
    elif status == 401 and mentions_signature:
        title, text = _SIGNATURE_REJECTED
    elif status == 403 and not body.strip():
        title, text = _EMPTY_403
    elif status in _STATUS_TEXT:
        title, text = _STATUS_TEXT[status]
    elif 300 <= status <= 399:
        title, text = f"Redirect ({status})", (
            "The URL redirects; how Customer.io handles redirects is not documented. Give "
            "Customer.io the final URL instead."
        )
    elif 500 <= status <= 599:
        title, text = f"Server error ({status})", "The endpoint failed on its side: try later."
    elif 400 <= status <= 499:
        title = _str(_get(doc, "title")) or f"Client error ({status})"
        text = "The endpoint refused the request (see the details); sending it again won't help."
    else:
        title, text = f"Unexpected status {status}", "Not an answer AEP documents."
    return title, text, details


def _explain_success(status: int, doc: object, body: bytes) -> Outcome:
    inlet_id = _str(_get(doc, "inletId", "inletID"))
    received = _int(_get(doc, "receivedTimeMs"))
    xaction_id = _str(_get(doc, "xactionId", "xactionID"))
    sync = _get(doc, "syncValidation")
    sync_state: str | None = None
    if isinstance(sync, Mapping):
        if sync.get("skipped") is True:
            sync_state = "skipped"
        elif isinstance(sync.get("status"), str):
            sync_state = str(sync["status"])
    responses = _get(doc, "responses")
    if status == 207 or isinstance(responses, list):
        return _explain_batch(status, doc, responses, inlet_id, received)
    details: list[str] = []
    if xaction_id is None:
        details.append(
            "the answer carries no xactionId: this does not look like AEP's streaming endpoint"
            + (f" (body: {_snippet(body)})" if body.strip() else " (empty body)")
        )
    if sync_state == "pass":
        explanation = (
            "AEP accepted the event and it passed synchronous validation against the dataflow's "
            "schema."
        )
    else:
        explanation = (
            "AEP accepted the event. Ingestion is asynchronous: mapping errors show up later in "
            "the dataflow's monitoring and error diagnostics, not here; check the dataset "
            "preview in a few minutes."
        )
    return Outcome(
        accepted=True,
        status=status,
        title="Accepted",
        explanation=explanation,
        customer_io=CIO_DELIVERED,
        details=tuple(details),
        xaction_id=xaction_id,
        inlet_id=inlet_id,
        received_time_ms=received,
        sync_validation=sync_state,
    )


def _explain_batch(
    status: int, doc: object, responses: object, inlet_id: str | None, received: int | None
) -> Outcome:
    messages: list[MessageResult] = []
    for index, entry in enumerate(responses if isinstance(responses, list) else []):
        code = _int(_get(entry, "statusCode", "status"))
        xaction = _str(_get(entry, "xactionId", "xactionID"))
        ok = xaction is not None and (code is None or code < 400)
        messages.append(
            MessageResult(
                index=index,
                accepted=ok,
                xaction_id=xaction,
                status=code,
                message=_str(_get(entry, "message")),
            )
        )
    failed = [m for m in messages if not m.accepted]
    details = [f"message {m.index}: {m.status or '?'} {m.message or ''}".rstrip() for m in failed]
    batch_id = _str(_get(doc, "batchId", "batchID"))
    if failed:
        title = f"{len(failed)} of {len(messages)} messages rejected"
        explanation = (
            "AEP answered per message: the rejected ones are dropped. A 207 is a success for "
            "Customer.io, so those events would be lost without anyone noticing."
        )
    else:
        title = f"Accepted ({len(messages)} messages)"
        explanation = "AEP accepted every message of the batch."
    return Outcome(
        accepted=bool(messages) and not failed,
        status=status,
        title=title,
        explanation=explanation,
        customer_io=CIO_DELIVERED,
        details=tuple(details),
        xaction_id=batch_id,
        inlet_id=inlet_id,
        received_time_ms=received,
        messages=tuple(messages),
    )


def _explain_error(
    kind: ErrorKind | None,
    raw: str,
    status: int | None,
    detail: str | None,
    timeout: float | None,
) -> Outcome:
    limit = f"{timeout:g} s" if timeout is not None else "the timeout"
    details = [detail] if detail else []
    if kind in (ErrorKind.TIMEOUT, ErrorKind.CONNECT_TIMEOUT):
        connecting = kind is ErrorKind.CONNECT_TIMEOUT
        title = "Timed out connecting" if connecting else "Timed out"
        explanation = (
            f"No answer within {limit}. Customer.io waits 4 s, then counts the delivery as "
            "failed: it retries later and every later event of this webhook waits behind it."
        )
        if not connecting:
            explanation += (
                " The event may have arrived anyway, so a retry can deliver it twice "
                "(de-duplicate on event_id)."
            )
    elif kind is ErrorKind.REFUSED:
        title = "Connection refused"
        explanation = (
            "Nothing accepts connections at this host and port. Check the URL (host, port, "
            "https), and that the endpoint is running."
        )
    elif kind is ErrorKind.RESET:
        title = "Connection closed without an answer"
        explanation = (
            "The endpoint (or something in between) closed the connection before answering. "
            "Try again; if it persists, check proxies and firewalls on the way."
        )
    elif kind is ErrorKind.DNS:
        title = "Host name not found"
        explanation = (
            "The host name does not resolve: check its spelling (AEP's is dcs.adobedc.net) and "
            "this machine's DNS."
        )
    elif kind is ErrorKind.TLS:
        title = "TLS failure"
        explanation = (
            "The secure connection failed (certificate or handshake). Customer.io would fail "
            "the same way: the endpoint needs a valid certificate for its host name."
        )
    elif kind is ErrorKind.PROTOCOL:
        title = "Not a valid HTTP answer"
        explanation = "The endpoint answered something that is not HTTP: is the URL's scheme right?"
    else:
        title = "Could not connect"
        explanation = "The endpoint could not be reached (network unreachable or no route)."
    return Outcome(
        accepted=False,
        status=status,
        title=title,
        explanation=explanation,
        customer_io=_customer_io(None, kind),
        details=tuple(details),
        retryable=kind not in _NOT_RETRYABLE_ERRORS,
        error=kind.value if kind is not None else raw,
        reached=status is not None or (kind is not None and kind not in UNREACHABLE),
    )


def explain_answer(
    status: int | None,
    headers: Mapping[str, str],
    body: bytes,
    *,
    error: str | None = None,
    error_detail: str | None = None,
    timeout: float | None = None,
    now: Callable[[], float] = time.time,
) -> Outcome:
    """Explain AEP's answer, or the transport `error` (an `ErrorKind` value) when none came.

    A status together with `error="timeout"` is an answer that came after the timeout: what
    Customer.io sees as a failure even though the endpoint answered.
    """
    if error is not None:
        try:
            kind: ErrorKind | None = ErrorKind(error)
        except ValueError:
            kind = None
        return _explain_error(kind, str(error), status, error_detail, timeout)
    if status is None:
        return _explain_error(None, "unknown", None, error_detail, timeout)
    doc = _json(body)
    if 200 <= status <= 299:
        return _explain_success(status, doc, body)
    title, explanation, details = _explain_status(status, doc, body)
    retryable = retryable_status(status)
    retry_after = parse_retry_after(_header(headers, "Retry-After"), now=now) if retryable else None
    return Outcome(
        accepted=False,
        status=status,
        title=title,
        explanation=explanation,
        customer_io=_customer_io(status, None),
        details=tuple(details),
        retryable=retryable,
        retry_after=retry_after,
    )


# ------------------------------------------------------------- transport exceptions -> kind


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (
            current.__cause__,
            current.__context__,
            getattr(current, "os_error", None),  # aiohttp's ClientConnectorError
        ):
            if isinstance(linked, BaseException):
                todo.append(linked)


def error_kind_of(exc: BaseException, *, connecting: bool | None = None) -> ErrorKind:
    """Classify a transport exception by the OS/SSL errors in its cause chain.

    Transport-neutral: httpx and aiohttp both chain the underlying `OSError`. `connecting`
    tells a timeout while connecting from one while waiting for the answer, when known.
    """
    for item in _chain(exc):
        if isinstance(item, ssl.SSLError):
            return ErrorKind.TLS
        if isinstance(item, socket.gaierror):
            return ErrorKind.DNS
        if isinstance(item, ConnectionRefusedError):
            return ErrorKind.REFUSED
        if isinstance(item, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
            return ErrorKind.RESET
    for item in _chain(exc):
        if isinstance(item, TimeoutError):
            return ErrorKind.CONNECT_TIMEOUT if connecting else ErrorKind.TIMEOUT
    return ErrorKind.CONNECT if connecting else ErrorKind.RESET
