"""`cio-aep serve` against odd but possible input: each test is a bug a tester found (a 500, or
listening where it should not), checked on a real server on 127.0.0.1 or in-process."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_serve_server import raw_exchange
from typer.testing import CliRunner

from cio_aep.cli.main import app as cli_app
from cio_aep.errors import UsageError
from cio_aep.local_endpoint import (
    EndpointApp,
    RunningServer,
    ServeConfig,
    start_background_server,
)
from cio_aep.local_endpoint.answers import AUTH_PROBLEM_TYPE
from cio_aep.signing import SigningKey, sign_body

KEY_TEXT = "serve-hostile-test-key-5be1"
# A lone surrogate, as the 6 characters of a JSON escape: valid JSON, but not encodable as UTF-8
# once parsed.
LONE = "\\ud800"


def raw_event(
    event_id: str = "H1", customer_id: str = LONE, object_type: str = "customer"
) -> bytes:
    return (
        f'{{"event_id":"{event_id}","object_type":"{object_type}","metric":"subscribed",'
        f'"timestamp":1700000000,"data":{{"customer_id":"{customer_id}",'
        f'"identifiers":{{"id":"42"}}}}}}'
    ).encode("ascii")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def uvicorn_log() -> Iterator[list[logging.LogRecord]]:
    """What uvicorn logs at warning level or above while the block runs."""
    handler = _Records()
    handler.setLevel(logging.WARNING)
    loggers = [logging.getLogger(name) for name in ("uvicorn", "uvicorn.error", "websockets")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


# --- 1. a lone surrogate escape is stored, and listed ----------------------------------------


def test_lone_surrogate_in_an_event_is_listed(local_endpoint: RunningServer) -> None:
    posted = httpx.post(local_endpoint.inlet_url, content=raw_event("H1"))
    assert posted.status_code == 200
    listing = httpx.get(local_endpoint.url + "/_cio-aep/events")
    assert listing.status_code == 200, listing.text
    listing.content.decode("utf-8")  # valid UTF-8
    [stored] = listing.json()["events"]
    assert stored["event_id"] == "H1"
    assert stored["event"]["data"]["customer_id"] == "\ud800"  # as received, not replaced
    assert httpx.get(local_endpoint.url + "/_cio-aep/health").status_code == 200


def test_lone_surrogate_listing_survives_a_restart(tmp_path: Path) -> None:
    config = ServeConfig(store_path=str(tmp_path / "events.db"))
    with start_background_server(config) as server:
        assert httpx.post(server.inlet_url, content=raw_event("H1")).status_code == 200
        assert httpx.get(server.url + "/_cio-aep/events").status_code == 200
    with start_background_server(ServeConfig(store_path=str(tmp_path / "events.db"))) as server:
        listing = httpx.get(server.url + "/_cio-aep/events")
    assert listing.status_code == 200, listing.text
    assert listing.json()["events"][0]["event"]["data"]["customer_id"] == "\ud800"


def test_lone_surrogates_in_event_id_and_type_are_stored_deduplicated_and_listed(
    tmp_path: Path,
) -> None:
    config = ServeConfig(store_path=str(tmp_path / "events.db"))
    weird_id = f"E{LONE}"
    with start_background_server(config) as server:
        for _ in range(2):
            body = raw_event(weird_id, object_type=f"c{LONE}")
            assert httpx.post(server.inlet_url, content=body).status_code == 200
        # the escape written out as text is another id, not a duplicate of the surrogate one
        plain = raw_event("E\\\\ud800")
        assert httpx.post(server.inlet_url, content=plain).status_code == 200
        listing = httpx.get(server.url + "/_cio-aep/events")
    assert listing.status_code == 200, listing.text
    body = listing.json()
    assert body["count"] == 2 and body["duplicates"] == 1
    first, second = body["events"]
    assert first["event_id"] == "E\ud800" and first["object_type"] == "c\ud800"
    assert first["duplicates"] == 1
    assert second["event_id"] == "E\\ud800"
    # and the store file still dedupes them after a restart
    with start_background_server(ServeConfig(store_path=str(tmp_path / "events.db"))) as server:
        again = raw_event(weird_id, object_type=f"c{LONE}")
        assert httpx.post(server.inlet_url, content=again).status_code == 200
        assert server.store.event_ids() == {"E\ud800", "E\\ud800"}
        listing = httpx.get(server.url + "/_cio-aep/events")
    assert listing.json()["duplicates"] == 2


def test_lone_surrogate_in_a_batch_is_stored_and_listed(local_endpoint: RunningServer) -> None:
    batch = b'{"messages":[' + raw_event("B1") + b"," + raw_event(f"B{LONE}") + b"]}"
    url = local_endpoint.batch_endpoint + f"?x-adobe-flow-id={local_endpoint.flow_id}"
    answer = httpx.post(url, content=batch)
    assert answer.status_code == 207, answer.text
    assert all("xactionId" in r for r in answer.json()["responses"])
    listing = httpx.get(local_endpoint.url + "/_cio-aep/events")
    assert listing.status_code == 200, listing.text
    assert [e["event_id"] for e in listing.json()["events"]] == ["B1", "B\ud800"]


def test_lone_surrogate_in_a_sync_validation_problem_is_answered(
    local_endpoint: RunningServer,
) -> None:
    pytest.importorskip("cio_aep.event_validation")
    body = raw_event("V1", object_type=f"fax{LONE}")
    answer = httpx.post(local_endpoint.inlet_url + "&syncValidation=true", content=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["report"]["message"].endswith("Message is invalid")


# --- 2. limit / after too big for SQLite -------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "limit=99999999999999999999999",
        "after=99999999999999999999999",
        "limit=9223372036854775808",
        "after=9223372036854775808",
    ],
)
def test_huge_limit_or_after_is_400(local_endpoint: RunningServer, query: str) -> None:
    answer = httpx.get(f"{local_endpoint.url}/_cio-aep/events?{query}")
    assert answer.status_code == 400, answer.text
    assert "limit and after must be whole numbers" in answer.json()["report"]["message"]


def test_largest_sqlite_integer_is_still_a_limit(local_endpoint: RunningServer) -> None:
    assert httpx.post(local_endpoint.inlet_url, content=raw_event("L1", "7")).status_code == 200
    answer = httpx.get(f"{local_endpoint.url}/_cio-aep/events?limit=9223372036854775807")
    assert answer.status_code == 200
    assert answer.json()["count"] == 1


# --- 3. a timestamp that is not Unix seconds ------------------------------------------------


@pytest.mark.parametrize("timestamp", [b"\xe9", b"17000\xff0000", b"abc", b"-1700000000", b"1.5"])
def test_timestamp_that_is_not_unix_seconds_is_401(timestamp: bytes) -> None:
    key = SigningKey(KEY_TEXT)
    body = raw_event("T1", customer_id="7")
    ts_text = timestamp.decode("latin-1")
    # signed over that very timestamp where signing is possible: the timestamp is still refused
    signature = sign_body(key, ts_text, body) if timestamp.isascii() else "00" * 32
    with start_background_server(ServeConfig(signing_key=key)) as server:
        answer = httpx.post(
            server.inlet_url,
            content=body,
            headers={"X-CIO-Timestamp": timestamp, "X-CIO-Signature": signature},
        )
        assert answer.status_code == 401, answer.text
        problem = answer.json()
        assert problem["type"] == AUTH_PROBLEM_TYPE and problem["status"] == "401"
        assert "X-CIO-Timestamp is not Unix seconds" in problem["report"]["message"]
        assert server.store.count() == 0
        # still serving, and a good signature still passes
        good = httpx.post(
            server.inlet_url,
            content=body,
            headers={
                "X-CIO-Timestamp": "1700000000",
                "X-CIO-Signature": sign_body(key, "1700000000", body),
            },
        )
        assert good.status_code == 200


async def _post_in_process(
    app: EndpointApp, headers: dict[str, Any], body: bytes
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://serve.test") as client:
        return await client.post(
            f"/collection/{'ab' * 32}?x-adobe-flow-id=f", content=body, headers=headers
        )


def test_wrong_signature_with_a_good_timestamp_keeps_its_message() -> None:
    import asyncio

    app = EndpointApp(ServeConfig(signing_key=SigningKey(KEY_TEXT)))
    headers = {"X-CIO-Timestamp": "1700000000", "X-CIO-Signature": "00" * 32}
    answer = asyncio.run(_post_in_process(app, headers, raw_event("T2", customer_id="7")))
    assert answer.status_code == 401
    assert "X-CIO-Signature does not match the body" in answer.json()["report"]["message"]
    assert app.stats.rejected == 1


# --- 4. WebSocket upgrades --------------------------------------------------------------------


def _upgrade(path: str) -> bytes:
    key = base64.b64encode(os.urandom(16))
    return (
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        ).encode()
        + b"Sec-WebSocket-Key: "
        + key
        + b"\r\n\r\n"
    )


@pytest.mark.parametrize("path", ["/_cio-aep/health", "/collection/x", "/nope"])
def test_websocket_upgrade_is_refused_cleanly(path: str) -> None:
    with uvicorn_log() as records, start_background_server() as server:
        answer = raw_exchange(server, _upgrade(path))
        assert answer.startswith(b"HTTP/1.1 403"), answer[:200]
        assert httpx.get(server.url + "/_cio-aep/health").status_code == 200
        assert httpx.post(server.inlet_url, content=raw_event("W1", "7")).status_code == 200
        stats = server.stats.as_dict()
    assert not [r.getMessage() for r in records]
    assert stats["requests"] == 3 and stats["rejected"] == 1


# --- 5. --host "" -----------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["", "   ", "\t"])
def test_empty_host_is_a_usage_error(host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_serve(*args: object, **kwargs: object) -> None:
        raise AssertionError("serve started listening")  # on every interface, before the fix

    monkeypatch.setattr("cio_aep.local_endpoint.server.serve_forever", must_not_serve)
    result = CliRunner().invoke(cli_app, ["serve", "--host", host, "--port", "0"])
    assert result.exit_code == 2, result.output
    assert "--host must not be empty" in result.stderr
    assert "listening on" not in result.stderr
    assert result.stdout == ""


def test_empty_host_is_refused_by_the_library_too() -> None:
    with pytest.raises(UsageError, match="empty"):
        start_background_server(ServeConfig(host=" "))


def test_events_listing_of_odd_text_is_ascii_safe_json() -> None:
    import asyncio

    async def run() -> httpx.Response:
        app = EndpointApp(ServeConfig())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://serve.test") as client:
            url = f"/collection/{'ab' * 32}?x-adobe-flow-id=f"
            for text in ("\\udfff", "\\udbff\\udbff", "é", "\\u0000"):
                body = ('{"event_id":"x' + text + '"}').encode("utf-8")
                assert (await client.post(url, content=body)).status_code == 200
            return await client.get("/_cio-aep/events")

    listing = asyncio.run(run())
    assert listing.status_code == 200
    assert [e["event_id"] for e in listing.json()["events"]] == [
        "x\udfff",
        "x\udbff\udbff",
        "xé",
        "x\x00",
    ]


def test_problem_body_with_a_lone_surrogate_is_ascii_json() -> None:
    from cio_aep.local_endpoint.answers import json_body, problem_body

    body = problem_body(400, "bad \ud800", cause={"\udfff": ["x\ud800"]})
    assert body.isascii()
    assert json.loads(body)["report"] == {"message": "bad \ud800", "cause": {"\udfff": ["x\ud800"]}}
    assert json.loads(json_body({"a": "é"})) == {"a": "é"}
    assert "é".encode() in json_body({"a": "é"})  # still plain UTF-8 when it can be
