"""`send-test-event` and the httpx delivery loop, against real servers on 127.0.0.1.

Two servers: a scripted one written here (exact answer sequences: 503 + Retry-After then 200,
problem JSON, empty 403, a slow answer, a dropped connection) and the project's own `serve`
(signature round trip, fault injection, storage).
"""

from __future__ import annotations

import inspect
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from samples import ADOBE_EVENT, UNREACHABLE_URL
from typer.testing import CliRunner

from cio_aep import __version__
from cio_aep.cli.main import app
from cio_aep.cli.send_test_event import send_test_event
from cio_aep.delivery import RetryPolicy, build_delivery, encode_event, prepare_request
from cio_aep.delivery.httpx_sender import DEFAULT_TIMEOUT, make_client, send_events
from cio_aep.errors import NetworkError
from cio_aep.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SigningKey, verify_signature

KEY = "s3cr3t-never-printed-7f1d2c"
INLET = "ab" * 32
FLOW = "439b3fc4-3042-4a3a-b5e0-a494898d3fb0"
OK_BODY = {"inletId": INLET, "xactionId": "1700000000000:1:1", "receivedTimeMs": 1700000000000}
FAST = ["--backoff-base", "0.01"]


# ------------------------------------------------------------------------ scripted server


@dataclass
class Reply:
    status: int = 200
    body: bytes = json.dumps(OK_BODY).encode()
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without answering


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float


class ScriptedServer:
    """Answers each POST with the next scripted Reply (200 AEP success once the script ends)."""

    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.received: list[Received] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                parts = urlsplit(self.path)
                with owner._lock:
                    owner.received.append(
                        Received(
                            parts.path,
                            parse_qs(parts.query),
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.monotonic(),
                        )
                    )
                    reply = owner.script.pop(0) if owner.script else Reply()
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(reply.status)
                self.send_header("Content-Length", str(len(reply.body)))
                if reply.body:
                    self.send_header("Content-Type", "application/json")
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up (timeout tests) is expected

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/collection/{INLET}?x-adobe-flow-id={FLOW}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def aep() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.stop()


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("CIO_AEP_URL", "CIO_AEP_ENDPOINT", "CIO_AEP_DATAFLOW_ID", "CIO_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def run(runner: CliRunner, *args: str, key: str | None = KEY, **kw: Any) -> Any:
    env = {"CIO_SIGNING_KEY": key} if key else {}
    return runner.invoke(app, ["send-test-event", *args], env=env, **kw)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_no_key(*texts: str) -> None:
    for text in texts:
        assert KEY not in text


# ---------------------------------------------------------------------- request building


SAMPLE = ADOBE_EVENT


def test_known_answer_signature_through_prepare_request() -> None:
    delivery = build_delivery("http://127.0.0.1:1/collection/x", SAMPLE)
    key = SigningKey("my-webhook-signing-key")
    request = prepare_request(delivery, key, clock=lambda: 1613063089.9)
    assert request.headers[TIMESTAMP_HEADER] == "1613063089"
    assert request.headers[SIGNATURE_HEADER] == (
        "597b9644fd630dd7c3eee8ee30894db95734373b31d460e50f2d688c8da7a5e0"
    )
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == f"cio-aep/{__version__}"
    assert request.method == "POST"


def test_body_is_compact_utf8_json() -> None:
    event = {"event_id": "x", "data": {"name": "Zoë"}}
    assert encode_event(event) == '{"event_id":"x","data":{"name":"Zoë"}}'.encode()
    delivery = build_delivery("u", event)
    assert delivery.event_id == "x"
    assert delivery.key is None


def test_raw_body_is_sent_untouched() -> None:
    raw = b'{ "event_id" : "e1", "object_type": "email", "metric": "sent" }'
    delivery = build_delivery("u", json.loads(raw), body=raw)
    assert delivery.body == raw
    assert (delivery.event_id, delivery.key) == ("e1", "email:sent")


def test_each_attempt_is_signed_afresh() -> None:
    delivery = build_delivery("u", SAMPLE)
    first = prepare_request(delivery, SigningKey(KEY), clock=lambda: 1000.0)
    second = prepare_request(delivery, SigningKey(KEY), clock=lambda: 1003.0)
    assert first.body == second.body
    assert first.headers[TIMESTAMP_HEADER] != second.headers[TIMESTAMP_HEADER]
    assert first.headers[SIGNATURE_HEADER] != second.headers[SIGNATURE_HEADER]


def test_unsigned_without_a_key() -> None:
    request = prepare_request(build_delivery("u", SAMPLE), None)
    assert SIGNATURE_HEADER not in request.headers
    assert TIMESTAMP_HEADER not in request.headers


def test_default_timeout_is_customer_ios_four_seconds() -> None:
    assert DEFAULT_TIMEOUT == 4.0
    assert inspect.signature(send_test_event).parameters["timeout"].default == 4.0
    with make_client() as client:
        assert client.timeout.read == 4.0
        assert client.timeout.connect == 4.0


# -------------------------------------------------------------------- the delivery loop


def test_retries_503_with_retry_after_then_200_same_event_fresh_signature(
    aep: ScriptedServer,
) -> None:
    aep.script = [Reply(503, b"", {"Retry-After": "1"}), Reply(200)]
    ticks = iter([1000.0, 1001.0])
    waits: list[float] = []
    delivery = build_delivery(aep.url, SAMPLE)
    results = list(
        send_events(
            [delivery],
            SigningKey(KEY),
            timeout=2.0,
            policy=RetryPolicy(retries=3, base=0.01),
            sleep=waits.append,  # no real wait: asserted instead
            clock=lambda: next(ticks),
        )
    )
    (result,) = results
    assert result.outcome.accepted
    assert [a.status for a in result.attempts] == [503, 200]
    assert waits == [1.0]  # Retry-After honoured
    first, second = aep.received
    assert first.body == second.body == delivery.body  # same event_id on every attempt
    assert (first.headers["x-cio-timestamp"], second.headers["x-cio-timestamp"]) == (
        "1000",
        "1001",
    )
    for got in aep.received:
        assert verify_signature(
            KEY, got.headers["x-cio-timestamp"], got.body, got.headers["x-cio-signature"]
        )
    assert first.headers["x-cio-signature"] != second.headers["x-cio-signature"]


def test_gives_up_after_the_retries(aep: ScriptedServer) -> None:
    aep.script = [Reply(500, b"")] * 5
    (result,) = send_events(
        [build_delivery(aep.url, SAMPLE)], None, policy=RetryPolicy(retries=2), sleep=lambda s: None
    )
    assert len(result.attempts) == 3
    assert len(aep.received) == 3
    assert result.outcome.status == 500


def test_slow_answer_is_a_timeout_and_is_retried(aep: ScriptedServer) -> None:
    aep.script = [Reply(200, delay=0.6), Reply(200)]
    (result,) = send_events(
        [build_delivery(aep.url, SAMPLE)],
        None,
        timeout=0.2,
        policy=RetryPolicy(retries=1, base=0.0),
    )
    assert [a.error for a in result.attempts] == ["timeout", None]
    assert result.outcome.accepted
    assert result.attempts[0].latency_ms < 500


def test_dropped_connection_is_retried(aep: ScriptedServer) -> None:
    aep.script = [Reply(drop=True), Reply(200)]
    (result,) = send_events(
        [build_delivery(aep.url, SAMPLE)], None, policy=RetryPolicy(retries=1, base=0.0)
    )
    assert result.attempts[0].error == "connection_reset"
    assert result.outcome.accepted


def test_unreachable_endpoint_raises_network_error_after_the_first_event() -> None:
    url = f"http://127.0.0.1:{free_port()}/collection/{INLET}?x-adobe-flow-id={FLOW}"
    deliveries = [build_delivery(url, SAMPLE), build_delivery(url, SAMPLE)]
    seen = []
    with pytest.raises(NetworkError, match="connection refused"):
        for result in send_events(deliveries, None, policy=RetryPolicy(retries=0)):
            seen.append(result)
    assert len(seen) == 1
    assert seen[0].outcome.error == "connection_refused"
    assert not seen[0].outcome.reached


# ----------------------------------------------------------------------------------- CLI


def test_sends_one_signed_event_and_reports_it(runner: CliRunner, aep: ScriptedServer) -> None:
    result = run(runner, "--url", aep.url, "--seed", "7")
    assert result.exit_code == 0, result.stderr
    (got,) = aep.received
    event = json.loads(got.body)
    assert (event["object_type"], event["metric"]) == ("customer", "subscribed")
    assert got.body == encode_event(event)  # compact JSON
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"] == f"cio-aep/{__version__}"
    assert verify_signature(
        KEY, got.headers["x-cio-timestamp"], got.body, got.headers["x-cio-signature"]
    )
    assert abs(int(got.headers["x-cio-timestamp"]) - time.time()) < 5
    assert got.path == f"/collection/{INLET}"
    assert got.query == {"x-adobe-flow-id": [FLOW]}
    line = result.stdout.strip()
    assert line.startswith(f"customer:subscribed  {event['event_id']}  200  xactionId=")
    assert line.endswith("ms")
    assert "1 accepted, 0 failed" in result.stderr
    assert_no_key(result.stdout, result.stderr)


def test_cli_retry_on_503_then_200(runner: CliRunner, aep: ScriptedServer) -> None:
    aep.script = [Reply(503, b"", {"Retry-After": "0.3"}), Reply(200)]
    result = run(runner, "--url", aep.url, *FAST)
    assert result.exit_code == 0, result.stderr
    first, second = aep.received
    assert first.body == second.body
    assert second.at - first.at >= 0.29  # waited for Retry-After
    for got in (first, second):
        assert verify_signature(
            KEY, got.headers["x-cio-timestamp"], got.body, got.headers["x-cio-signature"]
        )
    assert "(2 attempts)" in result.stdout
    assert "retry: customer:subscribed" in result.stderr
    assert "503 Service unavailable; attempt 2 of 4" in result.stderr


def test_cli_no_retry_on_400_problem(runner: CliRunner, aep: ScriptedServer) -> None:
    problem = {
        "type": "http://ns.adobe.com/adobecloud/problem/data-collection-service/inlet",
        "status": 400,
        "title": "Invalid XDM Message Format",
        "report": {"message": "Message has unknown xdm format"},
    }
    aep.script = [Reply(400, json.dumps(problem).encode())]
    result = run(runner, "--url", aep.url, *FAST)
    assert result.exit_code == 1
    assert len(aep.received) == 1
    assert "  400  Invalid XDM Message Format" in result.stdout
    assert "Message has unknown xdm format" in result.stderr
    assert "x-adobe-flow-id" in result.stderr
    assert "pause this webhook's queue for an hour" in result.stderr
    assert "0 accepted, 1 failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_empty_403_is_explained(runner: CliRunner, aep: ScriptedServer) -> None:
    aep.script = [Reply(403, b"")]
    result = run(runner, "--url", aep.url, "--json")
    assert result.exit_code == 1
    record = json.loads(result.stdout)
    assert record["status"] == 403
    assert record["accepted"] is False
    assert "allow-list" in record["explanation"]


def test_cli_timeout(runner: CliRunner, aep: ScriptedServer) -> None:
    aep.script = [Reply(200, delay=0.8)]
    result = run(runner, "--url", aep.url, "--timeout", "0.2", "--retries", "0")
    assert result.exit_code == 1
    assert "Timed out" in result.stdout
    assert "No answer within 0.2 s" in result.stderr
    assert "every later event" in result.stderr


def test_cli_json_lines(runner: CliRunner, aep: ScriptedServer) -> None:
    aep.script = [Reply(200), Reply(404, b"")]
    result = run(runner, "--url", aep.url, "--event", "email:sent", "--count", "2", "--json")
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["status"] for r in records] == [200, 404]
    assert [r["accepted"] for r in records] == [True, False]
    assert records[0]["xaction_id"] == OK_BODY["xactionId"]
    assert records[0]["event"] == "email:sent"
    sent_ids = [json.loads(r.body)["event_id"] for r in aep.received]
    assert [r["event_id"] for r in records] == sent_ids
    assert len(set(sent_ids)) == 2
    for name in ("latency_ms", "attempts", "title", "explanation", "details"):
        assert name in records[0]
    assert_no_key(result.stdout, result.stderr)


def test_cli_all_events(runner: CliRunner, aep: ScriptedServer) -> None:
    from cio_aep.catalog import CATALOG

    result = run(runner, "--url", aep.url, "--all-events", "--test-mode", "--json")
    assert result.exit_code == 0, result.stderr
    keys = [json.loads(line)["event"] for line in result.stdout.splitlines()]
    assert keys == [e.key for e in CATALOG.aep_supported()]
    for got in aep.received:
        assert "cio_id" not in json.loads(got.body)["data"]["identifiers"]


def test_cli_file_sends_exact_bytes(runner: CliRunner, aep: ScriptedServer, tmp_path: Path) -> None:
    first = (
        '{ "event_id": "01E4C4CT6YDC7Y5M7FE1GWWPQJ", "object_type": "customer", '
        '"metric": "subscribed", "timestamp": 1613063089, "data": {"identifiers": {"id": "Zoë"}} }'
    )
    second = '{"event_id":"01E4C4CT6YDC7Y5M7FE1GWWPQK","object_type":"email","metric":"sent"}'
    path = tmp_path / "events.ndjson"
    path.write_text(first + "\n" + second + "\n", encoding="utf-8")
    result = run(runner, "--url", aep.url, "--file", str(path))
    assert result.exit_code == 0, result.stderr
    assert [r.body for r in aep.received] == [first.encode(), second.encode()]
    assert "email:sent  01E4C4CT6YDC7Y5M7FE1GWWPQK  200" in result.stdout


def test_cli_file_from_stdin(runner: CliRunner, aep: ScriptedServer) -> None:
    events = [{"event_id": "e1", "object_type": "email", "metric": "sent"}, [1, 2]]
    result = run(runner, "--url", aep.url, "--file", "-", input=json.dumps(events))
    assert result.exit_code == 0, result.stderr
    assert [json.loads(r.body) for r in aep.received] == events
    assert "not a JSON object" in result.stderr


def test_cli_file_with_a_bad_line_sends_nothing(
    runner: CliRunner, aep: ScriptedServer, tmp_path: Path
) -> None:
    path = tmp_path / "events.ndjson"
    path.write_text('{"event_id":"a","object_type":"email","metric":"sent"}\n{oops\n')
    result = run(runner, "--url", aep.url, "--file", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert ":2" in result.stderr
    assert aep.received == []


def test_cli_sync_validation(runner: CliRunner, aep: ScriptedServer) -> None:
    result = run(runner, "--url", aep.url, "--sync-validation")
    assert result.exit_code == 0, result.stderr
    assert aep.received[0].query["syncValidation"] == ["true"]
    assert "60 requests a minute" in result.stderr
    assert "Never put syncValidation=true" in result.stderr


def test_cli_endpoint_and_dataflow_id_from_the_environment(
    runner: CliRunner, aep: ScriptedServer
) -> None:
    endpoint = aep.url.split("?")[0]
    result = runner.invoke(
        app,
        ["send-test-event"],
        env={"CIO_AEP_ENDPOINT": endpoint, "CIO_AEP_DATAFLOW_ID": FLOW.upper()},
    )
    assert result.exit_code == 0, result.stderr
    assert aep.received[0].query == {"x-adobe-flow-id": [FLOW]}
    assert "no signing key" in result.stderr
    assert "x-cio-signature" not in aep.received[0].headers


def test_cli_url_from_the_environment(runner: CliRunner, aep: ScriptedServer) -> None:
    result = runner.invoke(app, ["send-test-event"], env={"CIO_AEP_URL": aep.url})
    assert result.exit_code == 0, result.stderr
    assert len(aep.received) == 1


def test_cli_signing_key_file(runner: CliRunner, aep: ScriptedServer, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    key_file.chmod(0o600)
    result = run(runner, "--url", aep.url, "--signing-key-file", str(key_file), key=None)
    assert result.exit_code == 0, result.stderr
    got = aep.received[0]
    assert verify_signature(
        KEY, got.headers["x-cio-timestamp"], got.body, got.headers["x-cio-signature"]
    )
    assert_no_key(result.stdout, result.stderr)


def test_dry_run_sends_nothing_and_shows_the_signature_not_the_key(
    runner: CliRunner, aep: ScriptedServer
) -> None:
    result = run(runner, "--url", aep.url, "--dry-run", "--event", "email:opened")
    assert result.exit_code == 0, result.stderr
    assert aep.received == []
    head, _, rest = result.stdout.partition("\n\n")
    lines = head.splitlines()
    assert lines[0] == f"POST {aep.url}"
    headers = dict(line.split(": ", 1) for line in lines[1:])
    body = rest.strip().encode()
    assert json.loads(body)["metric"] == "opened"
    assert headers["Content-Length"] == str(len(body))
    assert verify_signature(KEY, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert "nothing sent" in result.stderr
    assert_no_key(result.stdout, result.stderr)


def test_dry_run_json(runner: CliRunner, aep: ScriptedServer) -> None:
    result = run(runner, "--url", aep.url, "--dry-run", "--json", "--count", "2")
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["method"] for r in records] == ["POST", "POST"]
    assert all(r["url"] == aep.url for r in records)
    assert aep.received == []
    assert_no_key(result.stdout, result.stderr)


def test_dry_run_imports_no_http_client() -> None:
    url = f"http://127.0.0.1:9/collection/{INLET}?x-adobe-flow-id={FLOW}"
    code = (
        "import sys\n"
        "from cio_aep.cli.main import app\n"
        "try:\n"
        f"    app(['send-test-event', '--url', '{url}', '--dry-run'])\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, None), e.code\n"
        "heavy = [m for m in ('httpx', 'aiohttp', 'uvicorn') if m in sys.modules]\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "HEAVY=\n" in proc.stderr + "\n"


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--json"],
        ["--dry-run"],
        ["--dry-run", "--json"],
        ["--sync-validation", "--json"],
    ],
)
def test_key_never_printed(runner: CliRunner, aep: ScriptedServer, extra: list[str]) -> None:
    aep.script = [Reply(401, b'{"status":"401","title":"Authorization"}')]
    result = run(runner, "--url", aep.url, *extra)
    assert result.exit_code in (0, 1)
    assert_no_key(result.stdout, result.stderr)


def test_exit_3_when_nothing_listens(runner: CliRunner) -> None:
    url = f"http://127.0.0.1:{free_port()}/collection/{INLET}?x-adobe-flow-id={FLOW}"
    result = run(runner, "--url", url, "--retries", "1", "--count", "3", *FAST)
    assert result.exit_code == 3
    assert "Connection refused" in result.stdout
    assert "error: could not reach 127.0.0.1" in result.stderr
    assert "2 not sent" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_json_has_a_record_for_every_event_even_unsent(runner: CliRunner) -> None:
    url = f"http://127.0.0.1:{free_port()}/collection/{INLET}?x-adobe-flow-id={FLOW}"
    result = run(runner, "--url", url, "--retries", "0", "--count", "3", "--json", *FAST)
    assert result.exit_code == 3
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["sent"] for r in records] == [True, False, False]
    assert records[1]["error"] == "not sent: unreachable" and records[1]["event_id"]
    assert len({r["event_id"] for r in records}) == 3


def test_tls_failure_is_explained_not_retried(runner: CliRunner, aep: ScriptedServer) -> None:
    # https to a plain-HTTP server: the handshake fails, as with a broken certificate setup.
    url = aep.url.replace("http://", "https://")
    result = run(runner, "--url", url, "--json", *FAST)
    assert result.exit_code == 3
    record = json.loads(result.stdout)
    assert record["error"] == "tls"
    assert record["attempts"] == 1
    assert "error: could not reach" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "no target"),
        (["--url", f"https://example.com/collection/{INLET}?x-adobe-flow-id={FLOW}"], "example"),
        (["--url", f"http://127.0.0.1:1/collection/{INLET}"], "x-adobe-flow-id"),
        (["--endpoint", f"http://127.0.0.1:1/collection/{INLET}"], "no dataflow ID"),
        (["--event", "email:nonsense"], "unknown event"),
        (["--event", "email:sent", "--all-events"], "not both"),
        (["--file", "x.json", "--event", "email:sent"], "--event"),
        (["--file", "does-not-exist.json"], "does-not-exist.json"),
        (["--timeout", "0"], "--timeout"),
        (["--timestamp", "1613063089000"], "milliseconds"),
    ],
)
def test_exit_2_for_bad_usage(runner: CliRunner, args: list[str], message: str) -> None:
    needs_target = not any(a.startswith(("--url", "--endpoint")) for a in args) and args
    target = ["--url", f"http://127.0.0.1:1/collection/{INLET}?x-adobe-flow-id={FLOW}"]
    result = run(runner, *(target if needs_target else []), *args)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


def test_url_and_endpoint_together_are_refused(runner: CliRunner) -> None:
    url = f"http://127.0.0.1:1/collection/{INLET}?x-adobe-flow-id={FLOW}"
    result = run(runner, "--url", url, "--endpoint", url.split("?")[0], "--dataflow-id", FLOW)
    assert result.exit_code == 2
    assert "either --url or --endpoint" in result.stderr


# ------------------------------------------------------------- against the project's serve


@pytest.fixture
def serve_factory() -> Iterator[Any]:
    from cio_aep.local_endpoint.app import ServeConfig
    from cio_aep.local_endpoint.faults import FaultConfig
    from cio_aep.local_endpoint.server import start_background_server

    started: list[Any] = []

    def start(*, key: str | None = None, **faults: Any) -> Any:
        config = ServeConfig(
            signing_key=SigningKey(key) if key else None, faults=FaultConfig(**faults)
        )
        server = start_background_server(config)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_signature_round_trip_with_serve(runner: CliRunner, serve_factory: Any) -> None:
    server = serve_factory(key=KEY)
    result = run(runner, "--url", server.inlet_url, "--event", "email:clicked", "--json")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    (stored,) = server.store.events()
    assert stored["event_id"] == record["event_id"]
    assert stored["signature_ok"] is True
    assert record["xaction_id"]
    assert KEY not in server.store.raw_dump()


def test_wrong_key_is_rejected_by_serve_without_retry(
    runner: CliRunner, serve_factory: Any
) -> None:
    server = serve_factory(key="another-key")
    result = run(runner, "--url", server.inlet_url, *FAST)
    assert result.exit_code == 1
    assert "Signature rejected" in result.stdout
    assert server.stats.requests == 1
    assert server.store.events() == []


def test_fault_injection_with_serve_every_event_lands_once(
    runner: CliRunner, serve_factory: Any
) -> None:
    server = serve_factory(fail_rate=0.4, fail_statuses=(503, 500, 429), retry_after=0, seed=3)
    result = run(
        runner, "--url", server.inlet_url, "--count", "12", "--retries", "8", "--json", *FAST
    )
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert sum(r["attempts"] for r in records) > len(records)  # faults did happen
    assert server.store.event_ids() == {r["event_id"] for r in records}
    assert server.store.duplicates() == 0


@pytest.mark.parametrize(
    ("timestamp", "message"),
    [
        ("1700000000000", "looks like milliseconds; Customer.io sends seconds: 1700000000"),
        ("99999999999999999999", "is out of range (0 to 281474976708)"),
        ("-1", "is out of range"),
    ],
)
def test_timestamp_errors_match_generate_schema(timestamp: str, message: str) -> None:
    result = CliRunner().invoke(
        app, ["send-test-event", "--dry-run", "--url", UNREACHABLE_URL, "--timestamp", timestamp]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: timestamp {timestamp} ") and message in result.stderr


def _endless_server(trickle: bool) -> tuple[str, threading.Event]:
    """A server that answers 200 with a chunked body that never ends (fast, or 1 byte/0.2 s)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        with listener:
            listener.settimeout(0.2)
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                with conn:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                    chunk = b"1\r\nx\r\n" if trickle else b"10000\r\n" + b"x" * 65536 + b"\r\n"
                    try:
                        while not stop.is_set():
                            conn.sendall(chunk)
                            if trickle:
                                time.sleep(0.2)
                    except OSError:
                        pass  # the client hung up: what we want

    threading.Thread(target=serve, daemon=True).start()
    port = listener.getsockname()[1]
    return f"http://127.0.0.1:{port}/collection/{INLET}?x-adobe-flow-id={FLOW}", stop


@pytest.mark.parametrize("trickle", [False, True], ids=["endless", "trickle"])
def test_endless_or_trickling_answer_is_cut_at_the_timeout(trickle: bool) -> None:
    # An endless body once filled 24 GB; a trickle hung: the 4 s is for the whole exchange.
    url, stop = _endless_server(trickle)
    try:
        started = time.monotonic()
        result = CliRunner().invoke(
            app, ["send-test-event", "--url", url, "--timeout", "1", "--retries", "0", "--json"]
        )
        took = time.monotonic() - started
    finally:
        stop.set()
    assert took < 10, took
    record = json.loads(result.stdout.splitlines()[0])
    if trickle:  # the body is still arriving after the timeout: what Customer.io sees fail
        assert result.exit_code == 1 and record["error"] == "timeout", result.stderr
    else:  # a 200 within the timeout, its endless body cut at 1 MiB (memory stays flat)
        assert result.exit_code == 0 and record["status"] == 200, result.stderr
