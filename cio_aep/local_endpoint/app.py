"""The ASGI app of `cio-aep serve`: answers like AEP's streaming endpoint (DOMAIN.md §3).

A raw ASGI callable (no framework): the single-event POST is the hot path and does little more
than read the body, parse it, store it and answer.

Routes:
- `POST /collection/{INLET_ID}`: one message → 200 `{inletId, xactionId, receivedTimeMs,
  syncValidation}`; `POST /collection/batch/{INLET_ID}`: `{"messages": [...]}` → 207 with one
  entry per message. The flow id comes from the `x-adobe-flow-id` query parameter or header.
- `GET /_cio-aep/events` (`?limit=`, `?after=` seq) and `GET /_cio-aep/health`: for tests, the
  demo and people; never faulted. The listing answers `{count, duplicates, events, next_after}`:
  at most `?limit` events, 10,000 without it; `next_after` is the `after` to ask for the next
  page, null when there is no more.

Choices where AEP's behaviour is not documented (DOMAIN.md says: be tolerant, don't guess):
- an inlet other than `--inlet-id` gets 404 (AEP has no such inlet); a flow id other than
  `--flow-id` gets 400, like a missing one ("Message has unknown xdm format": without a flow
  AEP treats the payload as XDM, which it is not). Flow ids are compared without regard to
  case or surrounding braces, since `build-url` canonicalises a dataflow ID to lower case;
- the body limit is 1,000,000 bytes (AEP says "1 MB"; the stricter reading, so nothing passes
  here that AEP could refuse);
- `syncValidation=true` is honoured on the single endpoint only, as AEP documents; without the
  validator the answer is 501, AEP's answer when a region lacks synchronous validation;
- a bad or missing `X-CIO-Signature` gets AEP's 401 shape (where `status` is the string "401"),
  and so does an `X-CIO-Timestamp` that is not Unix seconds (ASCII digits);
- a WebSocket upgrade is refused (close before accepting: uvicorn answers 403);
- an event holding a lone surrogate escape (`"\\ud800"`) is accepted and stored as is; answers
  that would carry one are pure-ASCII JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import unquote_plus

from cio_aep.local_endpoint import answers
from cio_aep.local_endpoint.faults import DROP, NO_FAULT, FaultConfig, FaultInjector
from cio_aep.local_endpoint.ids import same_flow_id
from cio_aep.local_endpoint.store import DEFAULT_PAGE, EventStore, StoreError
from cio_aep.signing import SigningKey, verify_signature
from cio_aep.webhook_url import canonical_dataflow_id, check_inlet_id

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY_BYTES = 1_000_000
FLOW_PARAM = "x-adobe-flow-id"

# Returned instead of None to make uvicorn close the connection without any answer: the only
# way ASGI leaves to "drop" a request (a missing http.response.start would give a 500).
# server.py silences the error uvicorn logs about it.
DROP_CONNECTION = "cio-aep: connection dropped by fault injection"

_JSON_HEADERS = [(b"content-type", b"application/json")]
_SQL_INT_MAX = 2**63 - 1  # the largest integer SQLite takes (limit / after)
_ADMIN_ROUTES = frozenset({"/_cio-aep/health", "/_cio-aep/events"})


@dataclass
class ServeConfig:
    """Everything `serve` can be asked to do (the CLI flags), with safe defaults.

    `inlet_id` and `flow_id` are checked like `build-url` checks them (`WebhookUrlError`, a
    `UsageError`, when they cannot make a valid webhook URL); `flow_id` is kept in its
    canonical lower-case form.
    """

    host: str = "127.0.0.1"
    port: int = 0
    inlet_id: str | None = None  # accept only this inlet
    flow_id: str | None = None  # accept only this dataflow id
    store_path: str | None = None  # SQLite file; None = in memory
    signing_key: SigningKey | None = None
    faults: FaultConfig = field(default_factory=FaultConfig)
    quiet: bool = True  # no line per request
    log_stream: TextIO | None = None  # where request lines go (default stderr)
    max_body_bytes: int = MAX_BODY_BYTES
    timeout_keep_alive: int = 5
    limit_concurrency: int = 1000
    header_timeout: float = 10.0
    xaction_seed: int | None = None

    def __post_init__(self) -> None:
        if self.inlet_id is not None:
            self.inlet_id = check_inlet_id(self.inlet_id)
        if self.flow_id is not None:
            self.flow_id = canonical_dataflow_id(self.flow_id)

    def __repr__(self) -> str:
        # The key prints as <hidden> anyway; keep the repr short.
        key = "<hidden>" if self.signing_key is not None else None
        return (
            f"ServeConfig(host={self.host!r}, port={self.port}, inlet_id={self.inlet_id!r}, "
            f"flow_id={self.flow_id!r}, store_path={self.store_path!r}, signing_key={key}, "
            f"faults={self.faults!r})"
        )


@dataclass
class Stats:
    """Counters of one run, for the summary printed on Ctrl-C."""

    requests: int = 0
    accepted: int = 0  # messages stored (new or duplicate)
    duplicates: int = 0
    rejected: int = 0  # 4xx answers and batch messages refused
    faults: int = 0  # injected failures and drops
    dropped: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict (JSON answers, tests)."""
        return {
            "requests": self.requests,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "faults": self.faults,
            "dropped": self.dropped,
        }


class RequestLog:
    """One line per request on a stream, written once per event-loop turn (cheap under load)."""

    __slots__ = ("_lines", "_scheduled", "_stream")

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lines: list[str] = []
        self._scheduled = False

    def add(self, line: str) -> None:
        """Queue a line; it is written at the end of this loop turn."""
        self._lines.append(line)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Write the queued lines now."""
        self._scheduled = False
        if not self._lines:
            return
        text = "\n".join(self._lines) + "\n"
        self._lines.clear()
        stream = self._stream or sys.stderr
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed console must not take the endpoint down


def _load_validator() -> Callable[..., list[Any]] | None:
    try:
        from cio_aep.event_validation import validate_event
    except ImportError:
        return None
    return validate_event


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


# NaN/Infinity are not JSON (AEP rejects them); one decoder built once, not per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


_NO_PARAMS: dict[str, str] = {}


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


_QUERY_CACHE: dict[bytes, dict[str, str]] = {}


def _cached_query(qs: bytes) -> dict[str, str]:
    """`_query`, memoised: a sender repeats the same query string on every request."""
    params = _QUERY_CACHE.get(qs)
    if params is None:
        params = _query(qs)
        if len(_QUERY_CACHE) >= 256:
            _QUERY_CACHE.clear()
        _QUERY_CACHE[qs] = params
    return params


def _query(qs: bytes) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in qs.decode("latin-1").split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        params.setdefault(name.lower(), value)
    return params


class EndpointApp:
    """The ASGI application. `store` receives accepted events; `stats` counts what happened."""

    def __init__(
        self, config: ServeConfig | None = None, store: EventStore | None = None
    ) -> None:
        self.config = config or ServeConfig()
        self.store = store if store is not None else EventStore(self.config.store_path)
        self.stats = Stats()
        self.faults = FaultInjector(self.config.faults)
        self._faults_active = self.config.faults.active
        self._xids = answers.XactionIds(self.config.xaction_seed)
        self._log = None if self.config.quiet else RequestLog(self.config.log_stream)
        self._validate = _load_validator()
        self._key = self.config.signing_key

    # -- ASGI entry ----------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> str | None:
        kind = scope["type"]
        if kind == "http":
            log = self._log
            start = time.perf_counter() if log is not None else 0.0
            status = await self._http(scope, receive, send)
            self.stats.requests += 1
            if log is not None:
                shown = "dropped" if status == DROP else str(status)
                ms = (time.perf_counter() - start) * 1000
                log.add(f"{scope['method']} {scope['path']} {shown} {ms:.1f}ms")
            return DROP_CONNECTION if status == DROP else None
        if kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await self._refuse_websocket(scope, receive, send)
        return None

    async def _refuse_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        # AEP's streaming endpoint is plain HTTP. Closing before accepting makes uvicorn answer
        # the upgrade request with a 403 (returning without a word would be its 500).
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close", "code": 1008})  # policy violation
        self.stats.requests += 1
        self.stats.rejected += 1
        if self._log is not None:
            self._log.add(f"WEBSOCKET {scope['path']} 403")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._log is not None:
                    self._log.flush()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- routing -------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> int:
        path: str = scope["path"]
        method: str = scope["method"]
        if path.startswith("/collection/"):
            rest = path[12:]
            batch = rest.startswith("batch/")
            inlet = rest[6:] if batch else rest
            if not inlet or "/" in inlet:
                return await self._problem(send, 404, f"no such endpoint: {path}")
            if method != "POST":
                return await self._problem(
                    send, 405, f"{method} is not allowed here; use POST", allow=b"POST"
                )
            return await self._collect(scope, receive, send, inlet, batch)
        if path in _ADMIN_ROUTES:
            if method not in ("GET", "HEAD"):
                return await self._problem(
                    send, 405, f"{method} is not allowed here; use GET", allow=b"GET"
                )
            if path == "/_cio-aep/health":
                return await self._health(send)
            return await self._events(scope, send)
        return await self._problem(send, 404, f"no such endpoint: {path}")

    # -- answers -------------------------------------------------------------------------

    @staticmethod
    async def _answer(
        send: Send,
        status: int,
        body: bytes,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> int:
        headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode("ascii"))]
        if extra:
            headers.extend(extra)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return status

    async def _problem(
        self,
        send: Send,
        status: int,
        message: str,
        *,
        cause: object = None,
        title: str | None = None,
        allow: bytes | None = None,
        close: bool = False,
        extra: list[tuple[bytes, bytes]] | None = None,
        rejected: bool = True,
    ) -> int:
        headers = list(extra or [])
        if allow is not None:
            headers.append((b"allow", allow))
        if close:
            headers.append((b"connection", b"close"))
        if rejected and 400 <= status < 500:
            self.stats.rejected += 1
        body = answers.problem_body(status, message, title=title, cause=cause)
        return await self._answer(send, status, body, headers)

    # -- the streaming endpoint ----------------------------------------------------------

    async def _read_body(self, receive: Receive, limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk: bytes = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise _BodyTooLarge  # stop reading: never buffer more than the limit
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        if len(chunks) == 1:
            return chunks[0]
        return b"".join(chunks)

    async def _collect(
        self, scope: Scope, receive: Receive, send: Send, inlet: str, batch: bool
    ) -> int:
        cfg = self.config
        if cfg.inlet_id is not None and inlet != cfg.inlet_id:
            return await self._problem(
                send, 404, answers.inlet_message(inlet, "Inlet not found (serve --inlet-id)")
            )
        flow = None
        signature = timestamp = None
        length = -1
        for name, value in scope["headers"]:
            if name == b"x-adobe-flow-id":
                flow = value.decode("latin-1")
            elif name == b"x-cio-signature":
                signature = value.decode("latin-1")
            elif name == b"x-cio-timestamp":
                timestamp = value.decode("latin-1")
            elif name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = -1
        qs: bytes = scope["query_string"]
        params = _cached_query(qs) if qs else _NO_PARAMS
        flow = params.get(FLOW_PARAM) or flow
        if not flow:
            return await self._problem(
                send,
                400,
                answers.inlet_message(
                    inlet,
                    "Message has unknown xdm format (no x-adobe-flow-id in the query or headers:"
                    " raw Customer.io payloads need the dataflow id)",
                ),
            )
        expected = cfg.flow_id
        if expected is not None and flow != expected and not same_flow_id(flow, expected):
            return await self._problem(
                send,
                400,
                answers.inlet_message(
                    inlet, f"Message has unknown xdm format (unknown dataflow id {flow!r})"
                ),
            )
        limit = cfg.max_body_bytes
        try:
            if length > limit:
                raise _BodyTooLarge
            body = await self._read_body(receive, limit)
        except _BodyTooLarge:
            message = answers.inlet_message(inlet, f"Payload is larger than {limit} bytes")
            return await self._problem(send, 413, message, close=True)
        except _ClientGone:
            return 499

        if self._faults_active:
            fault = await self._fault(send)
            if fault != NO_FAULT:
                return fault

        if self._key is not None:
            if not signature or not timestamp:
                return await self._problem(
                    send, 401, "[cio-aep] missing X-CIO-Signature or X-CIO-Timestamp header"
                )
            if not (timestamp.isascii() and timestamp.isdigit()):
                return await self._problem(
                    send, 401, "[cio-aep] X-CIO-Timestamp is not Unix seconds (ASCII digits)"
                )
            if not verify_signature(self._key, timestamp, body, signature):
                return await self._problem(
                    send, 401, "[cio-aep] X-CIO-Signature does not match the body"
                )
        signature_ok = True if self._key is not None else None

        try:
            text = body.decode("utf-8")
            value = _DECODER.decode(text)
        except (ValueError, RecursionError):
            return await self._problem(
                send, 400, answers.inlet_message(inlet, "Message is not valid JSON")
            )
        if batch:
            return await self._collect_batch(send, inlet, value, signature_ok)
        if not isinstance(value, dict):
            return await self._problem(
                send,
                400,
                answers.inlet_message(inlet, "Message has unknown xdm format (not a JSON object)"),
            )
        validated = False
        if params.get("syncvalidation", "").lower() == "true":
            status = await self._sync_validate(send, inlet, value)
            if status:
                return status
            validated = True
        received = answers.now_ms()
        xid = self._xids.next(received)
        try:
            self._store(value, text, received, xid, signature_ok)
        except StoreError as err:
            return await self._problem(send, 500, f"[cio-aep] {err}")
        if not await self._durable(send):
            return 500
        return await self._answer(
            send, 200, answers.success_body(inlet, xid, received, validated=validated)
        )

    def _store(
        self,
        event: dict[str, Any],
        text: str,
        received: int,
        xid: str,
        signature_ok: bool | None,
    ) -> None:
        event_id = event.get("event_id")
        if not isinstance(event_id, str) or not event_id:
            event_id = None
        object_type = event.get("object_type")
        metric = event.get("metric")
        new = self.store.add(
            event_id if event_id is not None else f"no-event-id:{xid}",
            event_id,
            object_type if isinstance(object_type, str) else None,
            metric if isinstance(metric, str) else None,
            received,
            text,
            signature_ok,
        )
        self.stats.accepted += 1
        if not new:
            self.stats.duplicates += 1

    async def _durable(self, send: Send) -> bool:
        pending = self.store.durable()
        if pending is None:
            return True
        try:
            await pending
        except StoreError as err:
            await self._problem(send, 500, f"[cio-aep] {err}")
            return False
        return True

    async def _fault(self, send: Send) -> int:
        faults = self.faults
        decision = faults.decide()
        if faults.config.latency_ms:
            await asyncio.sleep(faults.config.latency_ms / 1000)
        if decision == NO_FAULT:
            return NO_FAULT
        self.stats.faults += 1
        if decision == DROP:
            self.stats.dropped += 1
            return DROP
        return await self._problem(
            send,
            decision,
            f"[cio-aep] injected failure (serve --fail-rate {faults.config.fail_rate})",
            extra=faults.headers_for(decision),
            rejected=False,
        )

    async def _sync_validate(self, send: Send, inlet: str, event: dict[str, Any]) -> int:
        if self._validate is None:
            return await self._problem(
                send,
                501,
                answers.inlet_message(inlet, "syncValidation is not available in this build"),
            )
        findings = [f for f in self._validate(event, file="-") if f.is_error]
        if not findings:
            return 0
        causes = [
            {
                "schemaLocation": "#",
                "pointerToViolation": _pointer(f.path),
                "causingExceptions": [],
                "keyword": f.rule.name,
                "message": f.message,
            }
            for f in findings
        ]
        cause = {
            "_streamingValidation": [
                {
                    "schemaLocation": "#",
                    "pointerToViolation": "#",
                    "causingExceptions": causes,
                    "message": f"{len(causes)} schema violations found",
                }
            ]
        }
        return await self._problem(
            send, 400, answers.inlet_message(inlet, "Message is invalid"), cause=cause
        )

    async def _collect_batch(
        self, send: Send, inlet: str, value: object, signature_ok: bool | None
    ) -> int:
        messages = value.get("messages") if isinstance(value, dict) else None
        if not isinstance(messages, list):
            return await self._problem(
                send,
                400,
                answers.inlet_message(
                    inlet, 'Message has unknown xdm format (a batch is {"messages": [...]})'
                ),
            )
        received = answers.now_ms()
        batch_id = self._xids.next(received)
        responses: list[dict[str, object]] = []
        for index, message in enumerate(messages):
            if isinstance(message, dict):
                xid = f"{batch_id}:{index}"
                text = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
                try:
                    self._store(message, text, received, xid, signature_ok)
                except StoreError as err:  # the whole batch is refused: it is sent again
                    return await self._problem(send, 500, f"[cio-aep] {err}")
                responses.append({"xactionId": xid})
            else:
                self.stats.rejected += 1
                responses.append(
                    {
                        "statusCode": 400,
                        "message": answers.inlet_message(inlet, "Message has unknown xdm format"),
                    }
                )
        if not await self._durable(send):
            return 500
        return await self._answer(
            send, 207, answers.batch_body(inlet, batch_id, received, responses)
        )

    # -- inspection routes ---------------------------------------------------------------

    async def _health(self, send: Send) -> int:
        body = answers.json_body(
            {"status": "ok", "events": self.store.count(), "stats": self.stats.as_dict()}
        )
        return await self._answer(send, 200, body)

    async def _events(self, scope: Scope, send: Send) -> int:
        params = _query(scope["query_string"])
        try:
            limit = int(params["limit"]) if "limit" in params else None
            after = int(params.get("after", "0"))
            if limit is not None and not 0 <= limit <= _SQL_INT_MAX:
                raise ValueError
            if not 0 <= after <= _SQL_INT_MAX:
                raise ValueError
        except ValueError:  # also a number too long for int() (over 4300 digits)
            return await self._problem(
                send,
                400,
                f"[cio-aep] limit and after must be whole numbers from 0 to {_SQL_INT_MAX}",
            )
        if limit is None:
            limit = DEFAULT_PAGE
        # One row more than asked tells whether another page follows.
        page = self.store.events(limit=min(limit + 1, _SQL_INT_MAX), after=after)
        more = len(page) > limit
        del page[limit:]
        result: dict[str, object] = {
            "count": self.store.count(),
            "duplicates": self.store.duplicates(),
            "events": page,
            # the `after` of the next page; null when this page reaches the end
            "next_after": (page[-1]["seq"] if page else after) if more else None,
        }
        return await self._answer(send, 200, answers.json_body(result))


def _pointer(path: str | None) -> str:
    """`$.data.identifiers.id` → `#/data/identifiers/id` (AEP's pointerToViolation style)."""
    if not path or path == "$":
        return "#"
    trimmed = path[1:] if path.startswith("$") else path
    return "#" + trimmed.replace(".", "/").replace("[", "/").replace("]", "")
