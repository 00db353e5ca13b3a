"""The replay hot path: a small HTTP/1.1 client on asyncio and httptools, keep-alive, one POST
per event.

Why not a general-purpose client: measured on this 2-core machine (small POSTs on loopback at
concurrency 32, a bare uvicorn app with uvloop + httptools, one run, side by side), this client
sends 25,000-33,000 requests/s, aiohttp's 5,200-7,300, httpx's async client about 300 and `hey`
20,000. aiohttp alone kept `replay` at 0.40 of `hey`'s rate against `serve` (issue 7 asks for
0.5): about 85 % of replay's CPU went to aiohttp. Replay needs very little of HTTP: one URL,
POST, a JSON body, Content-Length answers or chunked ones, keep-alive. httptools (the parser
uvicorn uses, already installed with it) does the parsing; TLS comes from the standard `ssl`
module with the system's certificate store and host-name checks.

`send-test-event` keeps httpx; both go through the same request building
(`cio_aep.delivery.request`), retry policy (`cio_aep.delivery.retry`) and answer explaining
(`cio_aep.delivery.answer`). The transport only moves bytes: it returns what came back (or which
transport error), and the engine explains it with `explain_answer`. It never raises for a
transport failure.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from typing import NamedTuple, cast
from urllib.parse import urlsplit

import httptools

from cio_aep.delivery.answer import ErrorKind, error_kind_of

MAX_ANSWER_BYTES = 1 << 20  # AEP answers are small; a larger one is not AEP's
MAX_HEAD_BYTES = 64 << 10  # status line + headers; beyond it the answer is not AEP's either


class RawAnswer(NamedTuple):
    """What one attempt came to, before it is explained (a tuple: cheap on the hot path)."""

    status: int | None
    headers: Mapping[str, str]
    body: bytes
    error: str | None  # an ErrorKind value when no (timely) answer came
    error_detail: str | None
    latency: float


class _ProtocolError(Exception):
    """The peer's answer is not valid HTTP (or is far too large to be AEP's)."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection: writes a request, parses its answer with httptools."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[None] | None = None
        self.closed = False
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = bytearray()
        self.keep_alive = True
        self.head_bytes = 0  # bytes of the current answer's head fed to the parser so far
        self.head_done = False
        self.message_done = False
        self.deadline = 0.0  # time.monotonic() after which the current exchange has timed out

    # asyncio.Protocol -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:  # nothing was asked: an answer out of turn is not HTTP
            self.close()
            return
        if time.monotonic() > self.deadline:
            # A peer streaming without pause must not outrun the timer that bounds the exchange.
            self._fail(TimeoutError())
            self.close()
            return
        try:
            if not self.head_done:
                # Feed the head at most MAX_HEAD_BYTES: endless headers (or one endless header
                # value, which httptools buffers whole) must not grow memory without bound.
                room = MAX_HEAD_BYTES - self.head_bytes
                if len(data) > room:
                    self.parser.feed_data(data[:room])
                    if not self.head_done:
                        self._fail(_ProtocolError("answer head over 64 KiB"))
                        self.close()
                        return
                    data = data[room:]
                else:
                    self.head_bytes += len(data)
            if data and not self.closed:
                self.parser.feed_data(data)
        except httptools.HttpParserError as err:
            self._fail(_ProtocolError(f"invalid HTTP answer: {err}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        by_peer = not self.closed  # not our own close() (after a failure, or when done)
        self.closed = True
        ended = exc is None and by_peer and self.head_done and not self.message_done
        if ended and self._body_until_eof():
            # No Content-Length, not chunked: the body is whatever came before the close.
            self.keep_alive = False
            self.on_message_complete()
            return
        self._fail(exc or ConnectionResetError("the server closed the connection"))

    def _body_until_eof(self) -> bool:
        if "content-length" in self.headers:
            return False  # a close before the announced length is a truncated answer
        coding = self.headers.get("transfer-encoding", "")
        return not coding.rstrip().lower().endswith("chunked")

    # httptools callbacks -----------------------------------------------------------------------
    def on_headers_complete(self) -> None:
        self.head_done = True

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, chunk: bytes) -> None:
        self.body += chunk
        if len(self.body) > MAX_ANSWER_BYTES:
            self._fail(_ProtocolError("answer body over 1 MiB"))
            self.close()

    def on_message_complete(self) -> None:
        self.message_done = True
        self.status = self.parser.get_status_code()
        self.keep_alive = self.keep_alive and bool(self.parser.should_keep_alive())
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # use ----------------------------------------------------------------------------------------
    def _fail(self, exc: BaseException) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, request: bytes, timeout: float) -> None:
        """Send `request` and wait for the whole answer; TimeoutError after `timeout` s."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self.status, self.headers, self.body = 0, {}, bytearray()
        self.head_bytes, self.head_done, self.message_done = 0, False, False
        self.keep_alive = True
        self.deadline = time.monotonic() + timeout
        waiter: asyncio.Future[None] = loop.create_future()
        self.waiter = waiter
        expiry = loop.call_later(timeout, _expire, waiter)
        try:
            self.transport.write(request)
            await waiter
        finally:
            expiry.cancel()
            self.waiter = None


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class HttpTransport:
    """POSTs bodies to one URL over a pool of at most `concurrency` keep-alive connections."""

    def __init__(self, url: str, *, concurrency: int, timeout: float) -> None:
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if secure else 80)
        self._ssl = ssl.create_default_context() if secure else None
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # The URL was checked by webhook_url (ASCII, no credentials): safe to write as is.
        self._request_line = f"POST {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n".encode("ascii")
        self._timeout = timeout
        self._concurrency = concurrency
        self._idle: list[_Connection] = []

    async def __aenter__(self) -> HttpTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        while self._idle:
            self._idle.pop().close()

    def _request(self, body: bytes, headers: Mapping[str, str]) -> bytes:
        head = [self._request_line]
        for name, value in headers.items():
            head.append(f"{name}: {value}\r\n".encode("latin-1"))
        head.append(b"Content-Length: %d\r\n\r\n" % len(body))
        head.append(body)
        return b"".join(head)

    async def _connection(self) -> _Connection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
        loop = asyncio.get_running_loop()
        _, conn = await asyncio.wait_for(
            loop.create_connection(
                _Connection,
                self._host,
                self._port,
                ssl=self._ssl,
                server_hostname=self._host if self._ssl else None,
            ),
            self._timeout,
        )
        return conn

    async def post(self, body: bytes, headers: Mapping[str, str]) -> RawAnswer:
        """Send one attempt; never raises for a transport failure (it is in `.error`)."""
        started = time.perf_counter()
        conn: _Connection | None = None
        connecting = True
        try:
            conn = await self._connection()
            connecting = False
            remaining = self._timeout - (time.perf_counter() - started)
            if remaining <= 0:
                raise TimeoutError()
            await conn.exchange(self._request(body, headers), remaining)
            answer = RawAnswer(conn.status, conn.headers, bytes(conn.body), None, None,
                               time.perf_counter() - started)  # fmt: skip
            if conn.keep_alive and not conn.closed and len(self._idle) < self._concurrency:
                self._idle.append(conn)
            else:
                conn.close()
            return answer
        except asyncio.CancelledError:
            if conn is not None:
                conn.close()
            raise
        except Exception as exc:  # every transport failure becomes an outcome, never a crash
            status = conn.status or None if conn is not None else None
            if conn is not None:
                conn.close()
            kind = _kind(exc, connecting=connecting)
            return RawAnswer(
                status if kind is ErrorKind.TIMEOUT else None,
                {},
                b"",
                kind.value,
                str(exc)[:300] or type(exc).__name__,
                time.perf_counter() - started,
            )


def _kind(exc: BaseException, *, connecting: bool) -> ErrorKind:
    if isinstance(exc, _ProtocolError):
        return ErrorKind.PROTOCOL
    if isinstance(exc, TimeoutError | asyncio.TimeoutError) and not connecting:
        return ErrorKind.TIMEOUT
    return error_kind_of(exc, connecting=connecting)
