"""The replay hot path: one shared aiohttp session, keep-alive connections, one POST per event.

Why aiohttp (measured on this 2-core machine, small POSTs on loopback at concurrency 32, same
bare uvicorn app with uvloop + httptools): aiohttp's client 7,000-8,900 requests/s when the
machine was quiet (4,500-5,600 under load); httpx's async client 300 requests/s (the issue
measured 240-800, slowing as concurrency grows); `hey` 24,700. AEP takes 4,000-5,000
requests/s per organisation, so httpx would make cio-aep the bottleneck of a backfill. A profile
of `replay` shows ~85 % of its CPU inside aiohttp (~130-150 µs a request); the rest is reading,
pacing and bookkeeping. `benchmarks/bench_replay.py` measures it against `hey`.
httpx stays for `send-test-event` and tests; both go through the same request building
(`cio_aep.delivery.request`), retry policy (`cio_aep.delivery.retry`) and answer explaining
(`cio_aep.delivery.answer`).

The transport only moves bytes: it returns what came back (or which transport error), and the
engine explains it with `explain_answer`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, NamedTuple

import aiohttp
from yarl import URL

from cio_aep.delivery.answer import ErrorKind, error_kind_of


class RawAnswer(NamedTuple):
    """What one attempt came to, before it is explained (a tuple: cheap on the hot path)."""

    status: int | None
    headers: Mapping[str, str]
    body: bytes
    error: str | None  # an ErrorKind value when no (timely) answer came
    error_detail: str | None
    latency: float


_NO_HEADERS: Mapping[str, str] = {}


class AiohttpTransport:
    """POSTs bodies to one URL over a pool of at most `concurrency` keep-alive connections."""

    def __init__(self, url: str, *, concurrency: int, timeout: float) -> None:
        # encoded=True: the URL was checked and built by webhook_url; don't re-quote it per request.
        self._url = URL(url, encoded=True)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._concurrency = concurrency
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AiohttpTransport:
        connector = aiohttp.TCPConnector(
            limit=self._concurrency,
            limit_per_host=self._concurrency,
            keepalive_timeout=30.0,
            ttl_dns_cache=300,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            # No cookies: each delivery stands alone, as Customer.io's do.
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=True,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, body: bytes, headers: Mapping[str, str]) -> RawAnswer:
        """Send one attempt; never raises for a transport failure (it is in `.error`)."""
        session = self._session
        if session is None:
            raise RuntimeError("AiohttpTransport used outside `async with`")
        started = time.perf_counter()
        connecting = True
        status: int | None = None
        try:
            async with session.post(self._url, data=body, headers=headers) as response:
                connecting = False
                status = response.status
                content = await response.read()
                return RawAnswer(
                    status,
                    response.headers,
                    content,
                    None,
                    None,
                    time.perf_counter() - started,
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every transport failure becomes an outcome, never a crash
            kind = _kind(exc, connecting=connecting)
            return RawAnswer(
                status if kind is ErrorKind.TIMEOUT else None,
                _NO_HEADERS,
                b"",
                kind.value,
                _detail(exc),
                time.perf_counter() - started,
            )


def _kind(exc: BaseException, *, connecting: bool) -> ErrorKind:
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ErrorKind.CONNECT_TIMEOUT
    if isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return ErrorKind.TIMEOUT
    if isinstance(exc, aiohttp.ClientConnectorError):
        return error_kind_of(exc, connecting=True)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return ErrorKind.RESET
    if isinstance(exc, aiohttp.ClientResponseError | aiohttp.ClientPayloadError) and not isinstance(
        exc, aiohttp.ClientConnectionError
    ):
        return ErrorKind.PROTOCOL
    return error_kind_of(exc, connecting=connecting)


def _detail(exc: BaseException) -> str:
    text: Any = str(exc) or type(exc).__name__
    return str(text)[:300]
