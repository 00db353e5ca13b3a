"""The `serve` ASGI app driven in-process through httpx.ASGITransport (no sockets)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cio_aep.local_endpoint import EndpointApp, EventStore, FaultConfig, ServeConfig
from cio_aep.local_endpoint.answers import AUTH_PROBLEM_TYPE, PROBLEM_TYPE
from cio_aep.signing import SigningKey, sign_body

INLET = "ab" * 32
FLOW = "0f1e2d3c-4b5a-4697-8877-665544332211"
URL = f"/collection/{INLET}?x-adobe-flow-id={FLOW}"
BATCH_URL = f"/collection/batch/{INLET}?x-adobe-flow-id={FLOW}"
KEY_TEXT = "serve-test-signing-key-7c3f"


def event(event_id: str = "01HZX3V6Q9K8J7M6N5P4R3S2T1", **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": event_id,
        "object_type": "customer",
        "metric": "subscribed",
        "timestamp": 1700000000,
        "data": {"identifiers": {"id": "42", "email": "a@example.com"}},
    }
    base.update(extra)
    return base


def compact(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_app(**kwargs: Any) -> EndpointApp:
    return EndpointApp(ServeConfig(**kwargs))


async def client_for(app: EndpointApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://serve.test")


def assert_problem(response: httpx.Response, status: int, *, contains: str = "") -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["type"] == PROBLEM_TYPE
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert contains in body["report"]["message"]
    return body


pytestmark = pytest.mark.anyio


async def test_single_event_answers_like_aep_and_stores_the_raw_body() -> None:
    app = make_app()
    raw = b'{"event_id":"E1",  "object_type":"email","metric":"sent","timestamp":1}'
    before = int(time.time() * 1000)
    async with await client_for(app) as client:
        response = await client.post(URL, content=raw)
    after = int(time.time() * 1000)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["inletId", "xactionId", "receivedTimeMs", "syncValidation"]
    assert body["inletId"] == INLET
    assert isinstance(body["receivedTimeMs"], int)
    assert before <= body["receivedTimeMs"] <= after
    match = re.fullmatch(r"(\d+):(\d{4}):(\d+)", body["xactionId"])
    assert match and int(match.group(1)) == body["receivedTimeMs"]
    assert body["syncValidation"] == {"skipped": True}
    [stored] = app.store.events()
    assert stored["event_id"] == "E1"
    assert (stored["object_type"], stored["metric"]) == ("email", "sent")
    assert stored["signature_ok"] is None
    assert app.store.raw_dump().count(raw.decode()) == 1  # the bytes as received, not re-encoded


async def test_xaction_ids_are_unique() -> None:
    app = make_app()
    async with await client_for(app) as client:
        ids = {(await client.post(URL, json=event(f"E{i}"))).json()["xactionId"] for i in range(20)}
    assert len(ids) == 20


async def test_flow_id_in_a_header_is_accepted() -> None:
    app = make_app()
    async with await client_for(app) as client:
        response = await client.post(
            f"/collection/{INLET}", json=event(), headers={"x-adobe-flow-id": FLOW}
        )
    assert response.status_code == 200


async def test_missing_flow_id_is_400_and_nothing_stored() -> None:
    app = make_app()
    async with await client_for(app) as client:
        response = await client.post(f"/collection/{INLET}", json=event())
    body = assert_problem(response, 400, contains="x-adobe-flow-id")
    assert body["title"] == "Invalid XDM Message Format"
    assert f"inletId: [{INLET}]" in body["report"]["message"]
    assert app.store.count() == 0


async def test_inlet_and_flow_restrictions() -> None:
    app = make_app(inlet_id=INLET, flow_id=FLOW)
    async with await client_for(app) as client:
        other_inlet = await client.post(f"/collection/{'cd' * 32}?x-adobe-flow-id={FLOW}", json={})
        other_flow = await client.post(
            f"/collection/{INLET}?x-adobe-flow-id=11111111-2222-4333-8444-555555555555", json={}
        )
        good = await client.post(URL, json=event())
    assert_problem(other_inlet, 404, contains="Inlet not found")
    assert_problem(other_flow, 400, contains="11111111-2222-4333-8444-555555555555")
    assert good.status_code == 200
    assert app.store.count() == 1


async def test_body_over_1_mb_is_413() -> None:
    app = make_app()
    big = compact(event(padding="x" * 1_000_001))
    async with await client_for(app) as client:
        response = await client.post(URL, content=big)
    assert_problem(response, 413, contains="larger than 1000000 bytes")
    assert response.headers["connection"] == "close"
    assert app.store.count() == 0


async def test_streamed_body_without_length_stops_at_the_limit() -> None:
    app = make_app()
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):  # 64 MB if it were all read
            sent += 1
            yield b"x" * 65536

    async with await client_for(app) as client:
        response = await client.post(URL, content=chunks())
    assert_problem(response, 413)
    # httpx's ASGI transport feeds chunks on demand: the app stopped after ~1 MB
    assert sent < 30


async def test_body_exactly_at_the_limit_is_read() -> None:
    app = make_app(max_body_bytes=2000)
    body = compact(event())
    body = body[:-1] + b',"pad":"' + b"y" * (2000 - len(body) - 9) + b'"}'
    assert len(body) == 2000
    async with await client_for(app) as client:
        assert (await client.post(URL, content=body)).status_code == 200
        assert (await client.post(URL, content=body + b" ")).status_code == 413


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"",
        b"not json",
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b"\xff\xfe{}",
        b'{"a": "\xc3\x28"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":1} {"b":2}',
    ],
)
async def test_invalid_json_is_400(raw: bytes) -> None:
    app = make_app()
    async with await client_for(app) as client:
        response = await client.post(URL, content=raw)
    assert_problem(response, 400, contains="not valid JSON")
    assert app.store.count() == 0


@pytest.mark.parametrize("value", [[], [event()], "text", 3, None, True])
async def test_json_that_is_not_an_object_is_400(value: object) -> None:
    app = make_app()
    async with await client_for(app) as client:
        response = await client.post(URL, content=json.dumps(value).encode())
    assert_problem(response, 400, contains="not a JSON object")
    assert app.store.count() == 0


async def test_batch_answers_207_per_message_in_order() -> None:
    app = make_app()
    messages = [event("B1"), 7, event("B2"), "x", {"no": "id"}]
    async with await client_for(app) as client:
        response = await client.post(BATCH_URL, json={"messages": messages})
    assert response.status_code == 207
    body = response.json()
    assert list(body) == ["inletId", "batchId", "receivedTimeMs", "responses"]
    assert body["inletId"] == INLET and isinstance(body["receivedTimeMs"], int)
    responses = body["responses"]
    assert len(responses) == 5
    assert responses[0] == {"xactionId": f"{body['batchId']}:0"}
    assert responses[1]["statusCode"] == 400 and "unknown xdm format" in responses[1]["message"]
    assert responses[2] == {"xactionId": f"{body['batchId']}:2"}
    assert responses[3]["statusCode"] == 400
    assert responses[4] == {"xactionId": f"{body['batchId']}:4"}
    assert app.store.count() == 3
    assert app.store.event_ids() == {"B1", "B2"}
    assert app.stats.accepted == 3 and app.stats.rejected == 2


@pytest.mark.parametrize("value", [[event()], {"messages": {}}, {"msgs": []}, "x"])
async def test_batch_that_is_not_messages_is_400(value: object) -> None:
    app = make_app()
    async with await client_for(app) as client:
        response = await client.post(BATCH_URL, json=value)
    assert_problem(response, 400, contains="messages")


async def test_sync_validation_pass() -> None:
    generator = pytest.importorskip("cio_aep.generator")
    pytest.importorskip("cio_aep.event_validation")
    good = generator.EventGenerator(seed=3).generate("customer", "subscribed")
    app = make_app()
    async with await client_for(app) as client:
        response = await client.post(URL + "&syncValidation=true", json=good)
    assert response.status_code == 200, response.text
    assert response.json()["syncValidation"] == {"status": "pass"}
    assert app.store.count() == 1


async def test_sync_validation_failure_is_aep_problem_with_causes_and_not_stored() -> None:
    pytest.importorskip("cio_aep.event_validation")
    bad = {"event_id": "01HZX3V6Q9K8J7M6N5P4R3S2T1", "object_type": "fax", "metric": "sent"}
    app = make_app()
    async with await client_for(app) as client:
        response = await client.post(URL + "&syncValidation=true", json=bad)
    body = assert_problem(response, 400, contains="Message is invalid")
    [validation] = body["report"]["cause"]["_streamingValidation"]
    causes = validation["causingExceptions"]
    assert causes and validation["message"] == f"{len(causes)} schema violations found"
    assert all(c["message"] and c["pointerToViolation"].startswith("#") for c in causes)
    assert any("fax" in c["message"] for c in causes)
    assert app.store.count() == 0


async def test_sync_validation_is_not_applied_without_the_flag() -> None:
    app = make_app()
    async with await client_for(app) as client:
        response = await client.post(URL, json={"object_type": "fax"})
    assert response.status_code == 200
    assert response.json()["syncValidation"] == {"skipped": True}


def signed(body: bytes, key: str = KEY_TEXT, ts: str = "1700000000") -> dict[str, str]:
    return {"X-CIO-Timestamp": ts, "X-CIO-Signature": sign_body(key, ts, body)}


async def test_signature_ok_wrong_missing() -> None:
    app = make_app(signing_key=SigningKey(KEY_TEXT))
    raw = compact(event("S1"))
    async with await client_for(app) as client:
        ok = await client.post(URL, content=raw, headers=signed(raw))
        wrong_key = await client.post(URL, content=raw, headers=signed(raw, key="other"))
        # same signature, body changed by one space (re-serialised JSON must not pass)
        altered = await client.post(URL, content=raw + b" ", headers=signed(raw))
        missing = await client.post(URL, content=raw)
        no_ts = await client.post(URL, content=raw, headers={"X-CIO-Signature": "00" * 32})
    assert ok.status_code == 200
    for response in (wrong_key, altered, missing, no_ts):
        assert response.status_code == 401
        body = response.json()
        assert body["type"] == AUTH_PROBLEM_TYPE and body["status"] == "401"
        assert KEY_TEXT not in response.text
    [stored] = app.store.events()
    assert stored["signature_ok"] is True
    assert KEY_TEXT not in app.store.raw_dump()
    assert KEY_TEXT not in repr(app.config)
    assert app.stats.rejected == 4


async def test_duplicates_are_counted_and_events_without_id_kept() -> None:
    app = make_app()
    async with await client_for(app) as client:
        for _ in range(3):
            assert (await client.post(URL, json=event("D1"))).status_code == 200
        assert (await client.post(URL, json={"object_type": "email"})).status_code == 200
        assert (await client.post(URL, json={"object_type": "email"})).status_code == 200
        assert (await client.post(URL, json={"event_id": 5})).status_code == 200
        listing = (await client.get("/_cio-aep/events")).json()
    assert listing["count"] == 4
    assert listing["duplicates"] == 2
    by_id = {e["event_id"]: e for e in listing["events"] if e["event_id"]}
    assert by_id["D1"]["duplicates"] == 2
    assert sum(1 for e in listing["events"] if e["event_id"] is None) == 3
    assert app.stats.accepted == 6 and app.stats.duplicates == 2


async def test_events_paging_and_health() -> None:
    app = make_app()
    async with await client_for(app) as client:
        for i in range(5):
            await client.post(URL, json=event(f"P{i}"))
        first = (await client.get("/_cio-aep/events", params={"limit": 2})).json()
        rest = (
            await client.get("/_cio-aep/events", params={"after": first["next_after"]})
        ).json()
        health = await client.get("/_cio-aep/health")
        bad = await client.get("/_cio-aep/events", params={"limit": "-1"})
    assert [e["event_id"] for e in first["events"]] == ["P0", "P1"]
    assert [e["event_id"] for e in rest["events"]] == ["P2", "P3", "P4"]
    assert first["count"] == rest["count"] == 5
    assert rest["events"][0]["event"] == event("P2")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert health.json()["events"] == 5
    assert bad.status_code == 400


async def test_methods_and_unknown_paths() -> None:
    app = make_app()
    async with await client_for(app) as client:
        get_collection = await client.get(URL)
        post_events = await client.post("/_cio-aep/events", json={})
        unknown = await client.post("/nope", json={})
        nested = await client.post(f"/collection/{INLET}/more?x-adobe-flow-id={FLOW}", json={})
        empty_inlet = await client.post(f"/collection/?x-adobe-flow-id={FLOW}", json={})
    assert_problem(get_collection, 405)
    assert get_collection.headers["allow"] == "POST"
    assert_problem(post_events, 405)
    for response in (unknown, nested, empty_inlet):
        assert_problem(response, 404)


async def test_fail_rate_1_answers_every_request_with_retry_after_and_stores_nothing() -> None:
    faults = FaultConfig(fail_rate=1.0, fail_statuses=(503,), retry_after=7, seed=1)
    app = make_app(faults=faults)
    async with await client_for(app) as client:
        responses = [await client.post(URL, json=event(f"F{i}")) for i in range(5)]
        health = await client.get("/_cio-aep/health")
    for response in responses:
        assert_problem(response, 503)
        assert response.headers["retry-after"] == "7"
    assert health.status_code == 200  # inspection routes are never faulted
    assert app.store.count() == 0
    assert app.stats.faults == 5 and app.stats.rejected == 0


async def test_injected_500_has_no_retry_after() -> None:
    app = make_app(faults=FaultConfig(fail_rate=1.0, fail_statuses=(500,)))
    async with await client_for(app) as client:
        response = await client.post(URL, json=event())
    assert_problem(response, 500)
    assert "retry-after" not in response.headers


async def test_faults_are_reproducible_with_a_seed() -> None:
    async def statuses(seed: int) -> list[int]:
        faults = FaultConfig(fail_rate=0.5, fail_statuses=(503, 429, 500), seed=seed)
        app = make_app(faults=faults)
        async with await client_for(app) as client:
            out = [(await client.post(URL, json=event(f"R{i}"))).status_code for i in range(40)]
        assert app.store.count() == out.count(200)
        return out

    first, second, other = await statuses(11), await statuses(11), await statuses(12)
    assert first == second
    assert first != other
    assert {200, 503, 429, 500} >= set(first) and 200 in first and len(set(first)) > 2


async def test_latency_is_applied() -> None:
    app = make_app(faults=FaultConfig(latency_ms=150))
    async with await client_for(app) as client:
        start = time.perf_counter()
        response = await client.post(URL, json=event())
        elapsed = time.perf_counter() - start
    assert response.status_code == 200
    assert elapsed >= 0.14


async def test_request_lines_are_logged_unless_quiet() -> None:
    import io

    stream = io.StringIO()
    app = make_app(quiet=False, log_stream=stream)
    async with await client_for(app) as client:
        await client.post(URL, json=event())
        await client.post("/nope")
    app._log.flush()  # type: ignore[union-attr]
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith(f"POST /collection/{INLET} 200 ")
    assert lines[0].endswith("ms")
    assert lines[1].startswith("POST /nope 404 ")


async def test_file_store_commits_before_answering(tmp_path: Any) -> None:
    path = tmp_path / "events.db"
    app = EndpointApp(ServeConfig(store_path=str(path)))
    async with await client_for(app) as client:
        assert (await client.post(URL, json=event("W1"))).status_code == 200
    # a second connection (another process, as after a kill -9) sees it already
    other = EventStore(path)
    try:
        assert other.event_ids() == {"W1"}
    finally:
        other.close()
        app.store.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_any_body_gets_a_json_answer_200_or_400(body: bytes) -> None:
    import asyncio

    async def run() -> httpx.Response:
        app = make_app()
        async with await client_for(app) as client:
            return await client.post(URL, content=body)

    response = asyncio.run(run())
    assert response.status_code in (200, 400)
    assert isinstance(response.json(), dict)
