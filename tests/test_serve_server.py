"""`cio-aep serve` on a real uvicorn server on 127.0.0.1: sockets, faults, restarts, the CLI."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from cio_aep.cli.main import app as cli_app
from cio_aep.local_endpoint import (
    FaultConfig,
    RunningServer,
    ServeConfig,
    start_background_server,
)
from cio_aep.signing import SigningKey, signed_headers

KEY_TEXT = "serve-server-test-key-91d2"


def event(event_id: str = "01HZX3V6Q9K8J7M6N5P4R3S2T1") -> dict[str, Any]:
    return {
        "event_id": event_id,
        "object_type": "email",
        "metric": "sent",
        "timestamp": 1700000000,
        "data": {"identifiers": {"id": "7"}, "delivery_id": "abc"},
    }


def address(server: RunningServer) -> tuple[str, int]:
    parts = urlsplit(server.url)
    assert parts.hostname == "127.0.0.1" and parts.port
    return parts.hostname, parts.port


def raw_exchange(server: RunningServer, data: bytes, *, timeout: float = 5.0) -> bytes:
    """Send raw bytes, read until the server closes (or resets) the connection."""
    with socket.create_connection(address(server), timeout=timeout) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def request_bytes(server: RunningServer, body: bytes, *, extra: bytes = b"") -> bytes:
    path = urlsplit(server.inlet_url)
    target = f"{path.path}?{path.query}".encode()
    return (
        b"POST " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\n"
        + extra
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


def test_fixture_serves_on_loopback_and_stores(local_endpoint: RunningServer) -> None:
    assert local_endpoint.url.startswith("http://127.0.0.1:")
    response = httpx.post(local_endpoint.inlet_url, json=event("A1"))
    assert response.status_code == 200
    assert response.json()["inletId"] == local_endpoint.inlet_id
    listing = httpx.get(local_endpoint.url + "/_cio-aep/events").json()
    assert [e["event_id"] for e in listing["events"]] == ["A1"]
    assert local_endpoint.store.event_ids() == {"A1"}


def test_keep_alive_client_sends_many() -> None:
    with start_background_server() as server, httpx.Client() as client:
        for i in range(50):
            assert client.post(server.inlet_url, json=event(f"K{i}")).status_code == 200
        assert server.store.count() == 50


def test_drop_rate_1_closes_the_connection_without_an_answer() -> None:
    config = ServeConfig(faults=FaultConfig(drop_rate=1.0, seed=1))
    with start_background_server(config) as server:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(server.inlet_url, json=event())
        assert raw_exchange(server, request_bytes(server, json.dumps(event()).encode())) == b""
        # the server is still there, and dropped events were not stored
        health = httpx.get(server.url + "/_cio-aep/health")
        assert health.status_code == 200
        assert server.store.count() == 0
        assert server.stats.dropped == 2


def test_fail_rate_1_over_http_gives_503_with_retry_after() -> None:
    config = ServeConfig(faults=FaultConfig(fail_rate=1.0, fail_statuses=(503, 429), seed=4))
    with start_background_server(config) as server:
        responses = [httpx.post(server.inlet_url, json=event(f"X{i}")) for i in range(6)]
        assert server.store.count() == 0
    assert {r.status_code for r in responses} <= {503, 429}
    assert all(r.headers["retry-after"] == "1" for r in responses)
    assert all(r.json()["report"]["message"] for r in responses)


def test_store_file_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    with start_background_server(ServeConfig(store_path=str(path))) as server:
        assert httpx.post(server.inlet_url, json=event("P1")).status_code == 200
    with start_background_server(ServeConfig(store_path=str(path))) as server:
        assert httpx.post(server.inlet_url, json=event("P1")).status_code == 200
        assert httpx.post(server.inlet_url, json=event("P2")).status_code == 200
        listing = httpx.get(server.url + "/_cio-aep/events").json()
    assert listing["count"] == 2
    assert listing["duplicates"] == 1
    assert [e["event_id"] for e in listing["events"]] == ["P1", "P2"]


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\x01\x02GARBAGE\r\n\r\n",
        b"POST /collection/x HTTP/1.1\r\nHost: a\r\nContent-Length: nope\r\n\r\n",
        b"GET / HTTP/9.9 what\r\n\r\n",
        bytes(range(256)) * 8,
    ],
)
def test_garbage_gets_4xx_then_a_valid_event_is_accepted(garbage: bytes) -> None:
    with start_background_server() as server:
        answer = raw_exchange(server, garbage)
        assert answer.startswith(b"HTTP/1.1 4"), answer[:80]
        body = json.dumps(event("G1")).encode()
        answer = raw_exchange(server, request_bytes(server, body))
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        assert server.store.event_ids() == {"G1"}


def test_oversized_headers_are_refused_then_serving_goes_on() -> None:
    with start_background_server(ServeConfig(header_timeout=30)) as server:
        # headers never end: without a cap the server would wait for the rest
        head = b"POST /collection/x HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 70_000
        answer = raw_exchange(server, head)
        assert answer.startswith(b"HTTP/1.1 431"), answer[:80]
        assert httpx.post(server.inlet_url, json=event("H1")).status_code == 200


@pytest.mark.parametrize("size", [66_000, 120_000])
def test_complete_head_over_64_kb_is_refused_before_the_app(size: int) -> None:
    # A whole head in one send used to be parsed before it was counted: 66 KB got a 200.
    with start_background_server() as server:
        body = json.dumps(event("BIG")).encode()
        extra = b"X-Big: " + b"a" * size + b"\r\n"
        answer = raw_exchange(server, request_bytes(server, body, extra=extra))
        assert answer.startswith(b"HTTP/1.1 431"), answer[:80]
        assert server.store.count() == 0
        small = raw_exchange(
            server, request_bytes(server, body, extra=b"X-Ok: " + b"a" * 60_000 + b"\r\n")
        )
        assert small.startswith(b"HTTP/1.1 200"), small[:80]


def test_slow_and_idle_clients_are_timed_out() -> None:
    with start_background_server(ServeConfig(header_timeout=0.3)) as server:
        start = time.monotonic()
        answer = raw_exchange(server, b"POST /collection/x HTTP/1.1\r\nHost: a\r\n")
        assert answer.startswith(b"HTTP/1.1 408")
        idle = raw_exchange(server, b"")  # connects, sends nothing
        assert idle.startswith(b"HTTP/1.1 408")
        assert time.monotonic() - start < 10  # not forever; generous for a loaded CI
        assert httpx.post(server.inlet_url, json=event()).status_code == 200


def test_declared_body_over_1_mb_is_413_before_reading_it() -> None:
    with start_background_server() as server:
        path = urlsplit(server.inlet_url)
        head = (
            f"POST {path.path}?{path.query} HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n"
        ).encode()
        answer = raw_exchange(server, head)
        assert answer.startswith(b"HTTP/1.1 413")
        assert b'"status":413' in answer
        assert httpx.post(server.inlet_url, json=event()).status_code == 200


def test_signature_round_trip_over_http() -> None:
    key = SigningKey(KEY_TEXT)
    with start_background_server(ServeConfig(signing_key=key)) as server:
        body = json.dumps(event("S1"), separators=(",", ":")).encode()
        ok = httpx.post(server.inlet_url, content=body, headers=signed_headers(key, body))
        bad = httpx.post(
            server.inlet_url, content=body, headers=signed_headers(SigningKey("x"), body)
        )
        assert ok.status_code == 200
        assert bad.status_code == 401
        assert KEY_TEXT not in server.store.raw_dump()
        assert KEY_TEXT not in repr(server) + repr(server.app.config)


# --- the CLI ---------------------------------------------------------------------------------


def _start_cli(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cio_aep", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    return proc, first


def test_cli_prints_url_first_verifies_and_summarises_on_sigint(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    env = {**os.environ, "CIO_SIGNING_KEY": KEY_TEXT, "NO_COLOR": "1"}
    proc, url = _start_cli(["--port", "0", "--store", str(db)], env)
    try:
        assert url.startswith("http://127.0.0.1:"), url
        inlet = f"{url}/collection/{'ab' * 32}?x-adobe-flow-id=0f1e2d3c-4b5a-4697-8877-665544332211"
        body = json.dumps(event("C1"), separators=(",", ":")).encode()
        signed = httpx.post(inlet, content=body, headers=signed_headers(SigningKey(KEY_TEXT), body))
        unsigned = httpx.post(inlet, content=body)
        again = httpx.post(inlet, content=body, headers=signed_headers(SigningKey(KEY_TEXT), body))
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    assert signed.status_code == 200
    assert unsigned.status_code == 401
    assert again.status_code == 200
    assert proc.returncode == 0, err
    assert out == ""  # the URL was the only stdout line (already read)
    assert f"webhook URL: {url}/collection/" in err
    assert f"POST /collection/{'ab' * 32} 401 " in err
    assert "stopped: 3 requests, 2 accepted (1 duplicates), 1 rejected, 0 faults" in err
    assert "Traceback" not in err
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"C1" in stored
    for text in (out, err, url):
        assert KEY_TEXT not in text
    assert KEY_TEXT.encode() not in stored


def test_cli_sigterm_ends_with_summary_and_drops_are_silent() -> None:
    args = ["--port", "0", "--quiet", "--drop-rate", "1", "--seed", "3"]
    proc, url = _start_cli(args, {**os.environ})
    try:
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(url + "/_cio-aep/health").json()["status"] == "ok"
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(f"{url}/collection/{'ab' * 32}?x-adobe-flow-id=f", json=event())
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert "GET /_cio-aep/health" not in err  # --quiet
    assert "ASGI" not in err and "Traceback" not in err  # the drop is on purpose: no error log
    assert "stopped: 2 requests, 0 accepted (0 duplicates), 0 rejected, 1 faults (1 dropped)" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail-rate", "2"], "--fail-rate must be between 0 and 1"),
        (["--drop-rate", "-0.1"], "--drop-rate must be between 0 and 1"),
        (["--fail-status", "503,abc"], "'abc' is not a status code"),
        (["--fail-status", "200"], "200 is not a 4xx or 5xx status"),
        (["--port", "70000"], "--port must be between 0 and 65535"),
        (["--signing-key-file", "/nonexistent/key"], "no such file"),
    ],
)
def test_cli_usage_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli_app, ["serve", *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_cli_warns_when_not_on_loopback(tmp_path: Path) -> None:
    # the store cannot be opened, so nothing is bound: the warning comes first
    bad_store = tmp_path / "missing-dir" / "events.db"
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--store", str(bad_store)])
    assert "warning: listening on 0.0.0.0" in result.stderr
    assert result.exit_code == 2
    assert "cannot open the event store" in result.stderr


def test_port_in_use_is_a_usage_error() -> None:
    with start_background_server() as server:
        port = address(server)[1]
        result = CliRunner().invoke(cli_app, ["serve", "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
