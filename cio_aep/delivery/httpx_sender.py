"""The delivery loop over httpx (sync): what `send-test-event` uses.

One keep-alive client, one POST per attempt, a fresh signature per attempt, retries as the
policy says, AEP's answer explained by `cio_aep.delivery.answer`. Replay's fast path runs the
same core over its own httptools client (see `cio_aep.replay.http_transport`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from cio_aep.delivery.answer import ErrorKind, Outcome, error_kind_of, explain_answer
from cio_aep.delivery.request import Delivery, prepare_request
from cio_aep.delivery.retry import RetryPolicy
from cio_aep.errors import NetworkError
from cio_aep.signing import TIMESTAMP_HEADER, SigningKey

DEFAULT_TIMEOUT = 4.0  # Customer.io's: no 2xx within 4 s is a failure


@dataclass(frozen=True)
class Attempt:
    """One POST of a delivery."""

    number: int
    status: int | None
    error: str | None
    latency_ms: float
    timestamp: str | None  # the X-CIO-Timestamp sent, when signed


@dataclass(frozen=True)
class SendResult:
    """Where one event ended up, after every attempt."""

    index: int
    delivery: Delivery
    outcome: Outcome
    attempts: tuple[Attempt, ...]

    @property
    def latency_ms(self) -> float:
        """Latency of the last attempt (the one the outcome comes from)."""
        return self.attempts[-1].latency_ms if self.attempts else 0.0


RetryCallback = Callable[[Delivery, Attempt, Outcome, float], None]


def _error_kind(exc: httpx.TransportError) -> ErrorKind:
    if isinstance(exc, httpx.ConnectTimeout):
        return ErrorKind.CONNECT_TIMEOUT
    if isinstance(exc, httpx.TimeoutException):
        return ErrorKind.TIMEOUT
    if isinstance(exc, httpx.ConnectError):
        return error_kind_of(exc, connecting=True)
    if isinstance(exc, httpx.ProxyError | httpx.UnsupportedProtocol):
        return ErrorKind.CONNECT
    return error_kind_of(exc, connecting=False)


def _error_detail(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


MAX_ANSWER_BYTES = 1 << 20  # enough to explain any answer; an endless body must not fill memory


def _post(
    client: httpx.Client, url: str, body: bytes, headers: dict[str, str], *, deadline: float
) -> tuple[int, httpx.Headers, bytes]:
    """POST and read the answer's body up to `MAX_ANSWER_BYTES` or the deadline, whichever
    comes first: a body that never ends (or trickles) is cut, not waited for."""
    with client.stream("POST", url, content=body, headers=headers) as response:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            chunks.append(chunk[: max(0, MAX_ANSWER_BYTES - size)])
            size += len(chunk)
            if size >= MAX_ANSWER_BYTES or time.perf_counter() > deadline:
                break  # closing the stream drops the connection: it is not reused
        return response.status_code, response.headers, b"".join(chunks)


def deliver_once(
    client: httpx.Client,
    delivery: Delivery,
    key: SigningKey | None,
    *,
    timeout: float,
    number: int = 1,
    clock: Callable[[], float] = time.time,
) -> tuple[Attempt, Outcome]:
    """One attempt: sign afresh, POST, explain the answer (or the failure)."""
    request = prepare_request(delivery, key, clock=clock)
    started = time.perf_counter()
    status: int | None = None
    try:
        status, headers, body = _post(client, request.url, request.body, request.headers,
                                      deadline=started + timeout)  # fmt: skip
    except httpx.TransportError as exc:
        elapsed = time.perf_counter() - started
        kind = _error_kind(exc)
        outcome = explain_answer(
            None, {}, b"", error=kind.value, error_detail=_error_detail(exc), timeout=timeout
        )
    else:
        elapsed = time.perf_counter() - started
        if elapsed > timeout:
            # httpx times each phase separately; Customer.io's 4 s is for the whole exchange.
            outcome = explain_answer(
                status,
                headers,
                body,
                error=ErrorKind.TIMEOUT.value,
                error_detail=f"the endpoint answered {status} after {elapsed:.2f} s",
                timeout=timeout,
            )
        else:
            outcome = explain_answer(status, headers, body, timeout=timeout)
    attempt = Attempt(
        number=number,
        status=status,
        error=outcome.error,
        latency_ms=round(elapsed * 1000, 1),
        timestamp=request.headers.get(TIMESTAMP_HEADER),
    )
    return attempt, outcome


def deliver(
    client: httpx.Client,
    delivery: Delivery,
    key: SigningKey | None,
    *,
    index: int = 0,
    timeout: float = DEFAULT_TIMEOUT,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    on_retry: RetryCallback | None = None,
) -> SendResult:
    """Deliver one event, retrying as `policy` says; the body (and event_id) never changes."""
    policy = policy or RetryPolicy()
    attempts: list[Attempt] = []
    while True:
        attempt, outcome = deliver_once(
            client, delivery, key, timeout=timeout, number=len(attempts) + 1, clock=clock
        )
        attempts.append(attempt)
        delay = policy.delay_after(outcome.retryable, attempt.number, outcome.retry_after)
        if delay is None:
            return SendResult(index, delivery, outcome, tuple(attempts))
        if on_retry is not None:
            on_retry(delivery, attempt, outcome, delay)
        sleep(delay)


def make_client(timeout: float = DEFAULT_TIMEOUT) -> httpx.Client:
    """A keep-alive client that follows no redirect (Customer.io's handling is unknown)."""
    return httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False)


def send_events(
    deliveries: Iterable[Delivery],
    key: SigningKey | None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    policy: RetryPolicy | None = None,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    on_retry: RetryCallback | None = None,
) -> Iterator[SendResult]:
    """Send each delivery in order, one at a time like Customer.io, yielding one result each.

    Raises `NetworkError` (after yielding its result) when the first events could not reach
    the endpoint at all: the rest would fail the same way, so they are not sent.
    """
    own_client = client is None
    http = client if client is not None else make_client(timeout)
    reached_once = False
    try:
        for index, delivery in enumerate(deliveries):
            result = deliver(
                http,
                delivery,
                key,
                index=index,
                timeout=timeout,
                policy=policy,
                sleep=sleep,
                clock=clock,
                on_retry=on_retry,
            )
            yield result
            if result.outcome.reached:
                reached_once = True
            elif not reached_once:
                host = urlsplit(delivery.url).netloc
                raise NetworkError(f"could not reach {host}: {result.outcome.title.lower()}")
    finally:
        if own_client:
            http.close()
