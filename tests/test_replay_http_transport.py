"""replay's HTTP/1.1 client against scripted servers on 127.0.0.1: answers, keep-alive, and
every way a peer can fail (each must become an outcome, never an exception)."""

from __future__ import annotations

import asyncio
import resource
import socket
import time
from collections.abc import Awaitable, Callable

from cio_aep.delivery.answer import ErrorKind
from cio_aep.replay.http_transport import (
    MAX_ANSWER_BYTES,
    MAX_HEAD_BYTES,
    HttpTransport,
    RawAnswer,
)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
PATH = "/collection/abc?x-adobe-flow-id=1"
BODY = b'{"xactionId":"1:2:3"}'


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + await reader.readexactly(length)


def run(handler: Handler, posts: int = 1, *, timeout: float = 2.0,
        scheme: str = "http") -> tuple[list[RawAnswer], int]:  # fmt: skip
    """Serve `handler` on 127.0.0.1 and POST `posts` times, one after the other: the answers
    and how many connections the client opened."""
    connections = 0

    async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            await handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> list[RawAnswer]:
        server = await asyncio.start_server(counted, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        url = f"{scheme}://127.0.0.1:{port}{PATH}"
        async with HttpTransport(url, concurrency=4, timeout=timeout) as transport:
            answers = [await transport.post(b'{"a":1}', {"Content-Type": "application/json"})
                       for _ in range(posts)]  # fmt: skip
        server.close()
        return answers

    return asyncio.run(main()), connections


def keep_alive_ok(seen: list[bytes]) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            seen.append(await _read_request(reader))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Test: yes\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY))  # fmt: skip
            await writer.drain()

    return handler


def test_post_and_keep_alive() -> None:
    seen: list[bytes] = []
    answers, connections = run(keep_alive_ok(seen), posts=3)
    assert [a.status for a in answers] == [200, 200, 200] and all(a.error is None for a in answers)
    assert answers[0].headers["x-test"] == "yes" and answers[0].body == BODY
    assert connections == 1  # the connection was reused
    request = seen[0]
    assert request.startswith(f"POST {PATH} HTTP/1.1\r\n".encode())
    assert b"\r\nContent-Length: 7\r\n" in request and request.endswith(b'\r\n\r\n{"a":1}')
    assert b"Content-Type: application/json" in request and b"\r\nHost: 127.0.0.1:" in request


def test_chunked_answer_and_connection_close() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"
                     b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                     b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")  # fmt: skip
        await writer.drain()

    answers, connections = run(handler, posts=2)
    assert [(a.status, a.body) for a in answers] == [(503, b"abcde")] * 2
    assert answers[0].headers["retry-after"] == "1"
    assert connections == 2  # `Connection: close` was honoured


def test_dropped_connection_is_a_reset() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)

    (answer,), _ = run(handler)
    assert answer.status is None and answer.error == ErrorKind.RESET.value


def test_slow_answer_is_a_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(1)

    (answer,), _ = run(handler, timeout=0.2)
    assert answer.error == ErrorKind.TIMEOUT.value and 0.15 < answer.latency < 0.9


def test_garbage_and_oversized_answers_are_protocol_errors() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.2)

    async def huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        size = MAX_ANSWER_BYTES + 10
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size + b"x" * size)
        await writer.drain()

    for handler in (garbage, huge):
        (answer,), _ = run(handler)
        assert answer.error == ErrorKind.PROTOCOL.value, answer


def test_refused_and_tls_failures() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]

    async def refused() -> RawAnswer:
        url = f"http://127.0.0.1:{free_port}{PATH}"
        async with HttpTransport(url, concurrency=1, timeout=1) as transport:
            return await transport.post(b"{}", {})

    assert asyncio.run(refused()).error == ErrorKind.REFUSED.value

    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)  # a TLS hello, answered in plain HTTP
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    (tls,), _ = run(plain, scheme="https")
    assert tls.error == ErrorKind.TLS.value


def _endless(first: bytes, line: Callable[[int], bytes], *, pause: float = 0.0) -> Handler:
    """A server that answers `first` and then `line(i)` for ever (until the client goes)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(first)
        i = 0
        while not writer.is_closing():
            writer.write(b"".join(line(i + n) for n in range(256)))
            i += 256
            await writer.drain()
            await asyncio.sleep(pause)

    return handler


def test_endless_answer_heads_are_protocol_errors_with_flat_memory() -> None:
    handlers = (
        _endless(b"HTTP/1.1 200 OK\r\n", lambda i: b"X-H%d: v\r\n" % i),  # endless headers
        _endless(b"HTTP/1.1 200 OK\r\nX-Big: ", lambda i: b"v" * 64),  # one endless value
        _endless(b"HTTP/1.1 200 ", lambda i: b"O" * 64),  # an endless status line
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for handler in handlers:
        started = time.perf_counter()
        (answer,), _ = run(handler, timeout=4)
        assert answer.error == ErrorKind.PROTOCOL.value, answer
        assert answer.status is None and "64 KiB" in (answer.error_detail or "")
        assert time.perf_counter() - started < 2
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert grown_kib < 64 * 1024, grown_kib


def test_head_just_under_the_cap_is_accepted() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await _read_request(reader)
            start = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: "
            pad = MAX_HEAD_BYTES - len(start) - 4
            for piece in (start, b"p" * pad + b"\r\n\r\nok"):  # the head ends at the cap
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0.01)

    answers, connections = run(handler, posts=2)
    assert [(a.status, a.body, a.error) for a in answers] == [(200, b"ok", None)] * 2
    assert connections == 1


def test_trickling_headers_are_bounded_by_the_timeout() -> None:
    handler = _endless(b"HTTP/1.1 200 OK\r\n", lambda i: b"X-%d: v\r\n" % i, pause=0.05)
    (answer,), _ = run(handler, timeout=0.3)
    assert answer.error == ErrorKind.TIMEOUT.value and 0.25 < answer.latency < 0.9


def _then_close(answer: bytes) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(answer)
        await writer.drain()  # then `run` closes the connection: the end of the answer

    return handler


def test_answer_ended_by_close_is_an_answer() -> None:
    heads = (
        (b"HTTP/1.1 200 OK\r\n\r\n", 200),
        (b"HTTP/1.0 202 Accepted\r\nContent-Type: text/plain\r\n\r\n", 202),
        (b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: gzip\r\n\r\n", 500),
    )
    for head, status in heads:
        answers, connections = run(_then_close(head + b"body"), posts=2)
        assert [(a.status, a.body, a.error) for a in answers] == [(status, b"body", None)] * 2
        assert connections == 2  # a connection ended by the close is not reused
    (empty,), _ = run(_then_close(b"HTTP/1.1 200 OK\r\n\r\n"))
    assert (empty.status, empty.body, empty.error) == (200, b"", None)


def test_answer_ended_by_close_is_still_capped() -> None:
    (answer,), _ = run(_then_close(b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * (MAX_ANSWER_BYTES + 10)))
    assert answer.error == ErrorKind.PROTOCOL.value, answer


def test_close_before_the_answer_is_complete_is_a_reset() -> None:
    partials = (
        b"HTTP/1.1 200 OK\r\nContent-",
        b"HTTP/1.1 200",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    )
    for partial in partials:
        (answer,), _ = run(_then_close(partial))
        assert answer.status is None and answer.error == ErrorKind.RESET.value, (partial, answer)
