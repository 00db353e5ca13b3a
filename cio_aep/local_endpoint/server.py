"""Running the local endpoint with uvicorn: in the foreground (the CLI) or in a background thread
(tests, `cio-aep demo`).

The listening socket is bound here, before uvicorn starts, so that with port 0 the real port is
known and printed before the first request can arrive.

Hardening (loopback by default; caps and timeouts for hostile clients):
- request line + headers capped at `MAX_HEADER_BYTES` (431 and close), bodies at 1 MB (413);
- a request must arrive whole (headers and body) within `header_timeout` seconds of the
  connection opening or the request starting (408 and close; checked by one sweep timer per
  server, so up to a third of that later): slow clients cannot hold a slot;
- idle keep-alive connections close after `timeout_keep_alive` seconds;
- at most `limit_concurrency` connections/tasks at once (uvicorn answers 503 beyond);
- malformed requests get uvicorn's 400 and the connection closes; the server keeps serving.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TextIO

from cio_aep.errors import UsageError
from cio_aep.local_endpoint.app import DROP_CONNECTION, EndpointApp, ServeConfig, Stats
from cio_aep.local_endpoint.store import EventStore, StoreError

MAX_HEADER_BYTES = 64 * 1024
# Used in URLs when serve accepts any inlet / flow (64 hex chars and a UUID, like AEP's).
DEFAULT_INLET_ID = hashlib.sha256(b"cio-aep serve").hexdigest()
DEFAULT_FLOW_ID = "c10ae000-5e7e-4000-8000-000000000001"


def _problem_bytes(status: int, reason: str, message: str) -> bytes:
    from cio_aep.local_endpoint.answers import problem_body

    body = problem_body(status, message)
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def _guarded_protocol(header_timeout: float) -> Any:
    """uvicorn's httptools protocol with a header size cap and a whole-request deadline.

    Falls back to "h11" (which caps headers itself) when httptools is not installed.
    """
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - uvicorn[standard] ships httptools
        return "h11"

    sweep_every = min(1.0, header_timeout / 3)

    def sweep(state: Any, loop: asyncio.AbstractEventLoop) -> None:
        # One timer per server instead of one per request: keeps the hot path cheap.
        now = loop.time()
        for conn in list(state.connections):
            started = getattr(conn, "_request_started", None)
            if started is not None and now - started > header_timeout:
                conn._too_slow()
        loop.call_later(sweep_every, sweep, state, loop)

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        """Closes connections whose request is too big in its headers or too slow to arrive."""

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._reading_head = True
            self._head_bytes = 0
            self._head_parsed = 0
            # An idle new connection counts as a request that has started arriving.
            self._request_started: float | None = self.loop.time()
            state = self.server_state
            if not getattr(state, "cio_aep_sweeping", False):
                setattr(state, "cio_aep_sweeping", True)  # noqa: B010 - uvicorn type has no slot
                self.loop.call_later(sweep_every, sweep, state, self.loop)

        def _reject(self, payload: bytes) -> None:
            self._request_started = None
            if not self.transport.is_closing():
                cycle = self.cycle
                if cycle is None or not cycle.response_started:
                    self.transport.write(payload)
                self.transport.close()

        def _too_slow(self) -> None:
            self._reject(
                _problem_bytes(408, "Request Timeout", "[cio-aep] the request was too slow")
            )

        def _head_too_large(self) -> None:
            self._reading_head = False
            self._reject(
                _problem_bytes(
                    431,
                    "Request Header Fields Too Large",
                    f"[cio-aep] request line and headers over {MAX_HEADER_BYTES} bytes",
                )
            )

        def data_received(self, data: bytes) -> None:
            if self.transport.is_closing():
                return  # refused already: parsing the rest would only log "Invalid HTTP request"
            super().data_received(data)
            # A head still arriving: counts the bytes of every chunk (headers that never end).
            if self._reading_head:
                self._head_bytes += len(data)
                if self._head_bytes > MAX_HEADER_BYTES:
                    self._head_too_large()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._reading_head = True
            self._head_bytes = 0
            self._head_parsed = 0
            if self._request_started is None:
                self._request_started = self.loop.time()

        # A head parsed within one chunk: the parser's pieces are counted, since data_received
        # only sees the chunk after the head is complete.
        def on_url(self, url: bytes) -> None:
            super().on_url(url)
            self._head_parsed += len(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            super().on_header(name, value)
            self._head_parsed += len(name) + len(value) + 4  # ": " and CRLF

        def on_headers_complete(self) -> None:
            self._reading_head = False
            if self._head_parsed > MAX_HEADER_BYTES:
                self._head_too_large()  # before the app sees the request
                return
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._request_started = None
            super().on_message_complete()

    return GuardedHttpToolsProtocol


class _DropFilter(logging.Filter):
    """Hides the error uvicorn logs when the app drops a connection on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.args and DROP_CONNECTION in tuple(map(str, record.args)))


def _install_drop_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropFilter) for f in logger.filters):
        logger.addFilter(_DropFilter())


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: a free one); UsageError when impossible.

    An empty host is refused: the OS would take it for every interface.
    """
    if not host.strip():
        raise UsageError(
            "cannot listen on an empty host: name an address (127.0.0.1 is loopback only)"
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as err:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    sock.set_inheritable(True)
    return sock


def socket_url(sock: socket.socket) -> str:
    """`http://host:port` of a bound socket (IPv6 hosts in brackets)."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _uvicorn_server(app: EndpointApp, config: ServeConfig) -> Any:
    import uvicorn

    uv_config = uvicorn.Config(
        app,
        loop="auto",
        http=_guarded_protocol(config.header_timeout),
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
        timeout_keep_alive=config.timeout_keep_alive,
        limit_concurrency=config.limit_concurrency,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        timeout_graceful_shutdown=3,
    )
    _install_drop_filter()
    return uvicorn.Server(uv_config)


class RunningServer:
    """A `serve` endpoint running in a background thread. Use as a context manager, or `stop()`.

    `url` is `http://127.0.0.1:PORT`; `inlet_url` is a ready webhook URL (streaming endpoint +
    `?x-adobe-flow-id=`); `store` holds what was accepted; `stats` counts what happened.
    """

    def __init__(
        self,
        app: EndpointApp,
        server: Any,
        thread: threading.Thread,
        url: str,
    ) -> None:
        self.app = app
        self.url = url
        self._server = server
        self._thread = thread
        self._stopped = False

    @property
    def store(self) -> EventStore:
        """The events accepted so far."""
        return self.app.store

    @property
    def stats(self) -> Stats:
        """Counters: requests, accepted, duplicates, rejected, faults, dropped."""
        return self.app.stats

    @property
    def inlet_id(self) -> str:
        """The inlet served (`--inlet-id`, else a fixed 64-hex demo inlet)."""
        return self.app.config.inlet_id or DEFAULT_INLET_ID

    @property
    def flow_id(self) -> str:
        """The dataflow id accepted (`--flow-id`, else a fixed demo UUID)."""
        return self.app.config.flow_id or DEFAULT_FLOW_ID

    @property
    def endpoint(self) -> str:
        """The streaming endpoint: `{url}/collection/{inlet}`."""
        return f"{self.url}/collection/{self.inlet_id}"

    @property
    def batch_endpoint(self) -> str:
        """The batch endpoint: `{url}/collection/batch/{inlet}`."""
        return f"{self.url}/collection/batch/{self.inlet_id}"

    @property
    def inlet_url(self) -> str:
        """The webhook URL to give a sender: endpoint + `?x-adobe-flow-id=`."""
        return webhook_url(self.url, self.app.config)

    def stop(self) -> None:
        """Stop serving, wait for the thread, commit and close the store."""
        if self._stopped:
            return
        self._stopped = True
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.app.store.close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RunningServer({self.url})"


def _prepare(
    config: ServeConfig, store: EventStore | None = None
) -> tuple[EndpointApp, socket.socket, str, Any]:
    """The app, its bound socket, the URL it listens on, and the uvicorn server to run it."""
    try:
        store = store if store is not None else EventStore(config.store_path)
    except StoreError as err:
        raise UsageError(str(err)) from None
    app = EndpointApp(config, store)
    sock = bind_socket(config.host, config.port)
    return app, sock, socket_url(sock), _uvicorn_server(app, config)


def start_background_server(
    config: ServeConfig | None = None, *, store: EventStore | None = None
) -> RunningServer:
    """Start `serve` in a daemon thread and return once it accepts connections.

    `config.port` 0 (the default) picks a free port; see `RunningServer.url`.
    """
    config = config or ServeConfig()
    app, sock, url, server = _prepare(config, store)
    store = app.store
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"cio-aep-serve {url}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            store.close()
            raise UsageError(f"the local endpoint did not start on {url}")
        time.sleep(0.005)
    return RunningServer(app, server, thread, url)


@contextmanager
def _quiet_signals() -> Iterator[list[int]]:
    """SIGINT/SIGTERM stop uvicorn gracefully; afterwards uvicorn re-raises them, which these
    handlers absorb so the caller can print its summary instead of dying mid-way."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return
    previous = {
        sig: signal.signal(sig, lambda number, frame: caught.append(number))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield caught
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def webhook_url(base: str, config: ServeConfig) -> str:
    """The ready-to-paste webhook URL of a server listening at `base`."""
    inlet = config.inlet_id or DEFAULT_INLET_ID
    flow = config.flow_id or DEFAULT_FLOW_ID
    return f"{base}/collection/{inlet}?x-adobe-flow-id={flow}"


def serve_forever(
    config: ServeConfig, *, out: TextIO | None = None, err: TextIO | None = None
) -> Stats:
    """Run in the foreground until SIGINT/SIGTERM; returns the run's counters.

    The first line on `out` is the URL listened on, flushed at once (scripts read the port
    from it); the webhook URL to paste goes to `err`.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    app, sock, base, server = _prepare(config)
    store = app.store
    out.write(base + "\n")
    out.flush()
    err.write(f"webhook URL: {webhook_url(base, config)}\n")
    err.flush()
    try:
        with _quiet_signals():
            server.run(sockets=[sock])
    finally:
        sock.close()
        store.close()
    return app.stats
