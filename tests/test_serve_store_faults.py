"""`serve` when its SQLite store cannot be written ("database or disk is full"), and the listing.

A write that fails is answered 500 and forgotten: its key must not stay among the known keys,
or the sender's retry would be counted as a duplicate and answered 200 although the row was
never committed. Every 200/207 is checked against a second, independent connection to the file.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from cio_aep.local_endpoint import EndpointApp, EventStore, ServeConfig

INLET = "ab" * 32
FLOW = "0f1e2d3c-4b5a-4697-8877-665544332211"
URL = f"/collection/{INLET}?x-adobe-flow-id={FLOW}"
BATCH_URL = f"/collection/batch/{INLET}?x-adobe-flow-id={FLOW}"
FULL = "database or disk is full"

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FlakyConnection:
    """A sqlite3 connection whose inserts and/or commits fail while told to (disk full)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.fail_insert = False
        self.fail_commit = False
        self.fail_insert_after = -1  # inserts left to succeed before they fail (-1: off)

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        if sql.startswith("INSERT"):
            if self.fail_insert_after == 0:
                self.fail_insert = True
            elif self.fail_insert_after > 0:
                self.fail_insert_after -= 1
            if self.fail_insert:
                raise sqlite3.OperationalError(FULL)
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        return self.conn.executemany(sql, rows)

    def commit(self) -> None:
        if self.fail_commit:
            raise sqlite3.OperationalError(FULL)
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.conn.close()

    def heal(self) -> None:
        self.fail_insert = self.fail_commit = False
        self.fail_insert_after = -1


def flaky_app(tmp_path: Path) -> tuple[EndpointApp, FlakyConnection, Path]:
    path = tmp_path / "events.sqlite"
    store = EventStore(path)
    flaky = FlakyConnection(store._conn)
    store._conn = flaky  # type: ignore[assignment]
    return EndpointApp(ServeConfig(), store=store), flaky, path


def client_for(app: EndpointApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://serve.test")


def committed(path: Path) -> dict[str, int]:
    """event_id → duplicates, as committed (read through a connection of its own)."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT event_id, duplicates FROM events").fetchall()
    return {row[0]: row[1] for row in rows}


def event(event_id: str) -> dict[str, Any]:
    return {"event_id": event_id, "object_type": "customer", "metric": "subscribed"}


async def test_failed_commit_is_forgotten_and_the_retry_stored(tmp_path: Path) -> None:
    app, flaky, path = flaky_app(tmp_path)
    async with client_for(app) as client:
        flaky.fail_commit = True
        for _ in range(3):  # every retry keeps getting 500 while the disk is full
            answer = await client.post(URL, json=event("E1"))
            assert answer.status_code == 500
            assert FULL in answer.json()["report"]["message"]
        assert committed(path) == {}
        assert app.store.count() == 0
        flaky.heal()
        assert (await client.post(URL, json=event("E1"))).status_code == 200
        assert committed(path) == {"E1": 0}
        assert (await client.post(URL, json=event("E1"))).status_code == 200
    assert committed(path) == {"E1": 1}
    assert app.store.count() == 1


async def test_failed_insert_is_answered_500_and_the_retry_stored(tmp_path: Path) -> None:
    app, flaky, path = flaky_app(tmp_path)
    async with client_for(app) as client:
        flaky.fail_insert = True
        answer = await client.post(URL, json=event("E1"))
        assert answer.status_code == 500
        assert FULL in answer.json()["report"]["message"]
        flaky.heal()
        assert (await client.post(URL, json=event("E1"))).status_code == 200
    assert committed(path) == {"E1": 0}


async def test_every_delivery_sharing_a_failed_commit_gets_500(tmp_path: Path) -> None:
    app, flaky, path = flaky_app(tmp_path)
    async with client_for(app) as client:
        assert (await client.post(URL, json=event("OLD"))).status_code == 200
        flaky.fail_commit = True
        answers = await asyncio.gather(
            *(client.post(URL, json=event(f"E{i}")) for i in range(5)),
            client.post(URL, json=event("OLD")),  # a duplicate bump in the same commit
        )
        assert [a.status_code for a in answers] == [500] * 6
        flaky.heal()
        answers = await asyncio.gather(*(client.post(URL, json=event(f"E{i}")) for i in range(5)))
        assert [a.status_code for a in answers] == [200] * 5
        listing = (await client.get("/_cio-aep/events")).json()
    # the bump of the failed commit is gone with it: OLD was never counted twice
    assert committed(path) == {"OLD": 0, **{f"E{i}": 0 for i in range(5)}}
    assert listing["count"] == 6 and listing["duplicates"] == 0


async def test_failed_insert_fails_the_others_waiting_on_the_same_commit(tmp_path: Path) -> None:
    app, flaky, path = flaky_app(tmp_path)
    async with client_for(app) as client:
        flaky.fail_insert_after = 2  # the third insert of this loop turn fails
        answers = await asyncio.gather(*(client.post(URL, json=event(f"E{i}")) for i in range(4)))
        statuses = [a.status_code for a in answers]
        stored = committed(path)
        for answer, event_id in zip(answers, [f"E{i}" for i in range(4)], strict=True):
            if answer.status_code == 200:
                assert event_id in stored
        assert 500 in statuses
        flaky.heal()
        for i in range(4):
            assert (await client.post(URL, json=event(f"E{i}"))).status_code == 200
    assert committed(path) == {f"E{i}": 0 for i in range(4)}


async def test_batch_failing_midway_is_refused_whole_and_stored_on_retry(tmp_path: Path) -> None:
    app, flaky, path = flaky_app(tmp_path)
    batch = {"messages": [event(f"B{i}") for i in range(4)]}
    async with client_for(app) as client:
        flaky.fail_insert_after = 2
        assert (await client.post(BATCH_URL, json=batch)).status_code == 500
        assert committed(path) == {}
        flaky.heal()
        flaky.fail_commit = True
        assert (await client.post(BATCH_URL, json=batch)).status_code == 500
        assert committed(path) == {}
        flaky.heal()
        answer = await client.post(BATCH_URL, json=batch)
    assert answer.status_code == 207
    assert committed(path) == {f"B{i}": 0 for i in range(4)}


@pytest.mark.parametrize("seed", range(5))
async def test_no_200_for_an_event_not_committed(tmp_path: Path, seed: int) -> None:
    """Random failing inserts and commits: every 200 is for a committed row, and retries end."""
    rng = random.Random(seed)
    app, flaky, path = flaky_app(tmp_path)
    wanted = [f"R{i}" for i in range(40)]
    acknowledged: set[str] = set()
    async with client_for(app) as client:
        for _ in range(200):
            if set(wanted) <= acknowledged:
                break
            flaky.heal()
            flaky.fail_commit = rng.random() < 0.3
            flaky.fail_insert = rng.random() < 0.2
            ids = rng.sample(wanted, 4)
            answers = await asyncio.gather(*(client.post(URL, json=event(i)) for i in ids))
            stored = committed(path)
            for event_id, answer in zip(ids, answers, strict=True):
                assert answer.status_code in (200, 500)
                if answer.status_code == 200:
                    assert event_id in stored, event_id
                    acknowledged.add(event_id)
        flaky.heal()
        for event_id in wanted:
            assert (await client.post(URL, json=event(event_id))).status_code == 200
    stored = committed(path)
    assert set(stored) == set(wanted)
    assert app.store.count() == len(wanted)


async def test_events_listing_is_paged_by_default() -> None:
    store = EventStore()
    for i in range(10_005):
        store.add(f"K{i}", f"K{i}", "customer", "subscribed", 0, f'{{"n": {i}}}')
    app = EndpointApp(ServeConfig(), store=store)
    async with client_for(app) as client:
        first = (await client.get("/_cio-aep/events")).json()
        rest = (
            await client.get("/_cio-aep/events", params={"after": first["next_after"]})
        ).json()
        exact = (await client.get("/_cio-aep/events", params={"limit": 10_005})).json()
        none = (await client.get("/_cio-aep/events", params={"limit": 0})).json()
    assert len(first["events"]) == 10_000 and first["count"] == 10_005
    assert first["next_after"] == first["events"][-1]["seq"]
    assert [e["event_id"] for e in rest["events"]] == [f"K{i}" for i in range(10_000, 10_005)]
    assert rest["next_after"] is None
    assert len(exact["events"]) == 10_005 and exact["next_after"] is None
    assert none["events"] == [] and none["next_after"] == 0


async def test_events_listing_of_an_empty_store() -> None:
    app = EndpointApp(ServeConfig())
    async with client_for(app) as client:
        listing = (await client.get("/_cio-aep/events")).json()
    assert listing == {"count": 0, "duplicates": 0, "events": [], "next_after": None}
