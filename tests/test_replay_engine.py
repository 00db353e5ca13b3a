"""The replay engine against `cio-aep serve` on 127.0.0.1 with injected faults: none lost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cio_aep.delivery.retry import RetryPolicy
from cio_aep.local_endpoint import (
    FaultConfig,
    RunningServer,
    ServeConfig,
    start_background_server,
)
from cio_aep.replay.engine import ReplayConfig, run_replay
from cio_aep.replay.summary import ReplayStats

# Fast retries: the policy is the real one, only its waits are shortened for tests.
FAST = RetryPolicy(retries=4, base=0.005, cap=0.02, max_retry_after=0.02)


def write_events(path: Path, count: int, *, prefix: str = "E", extra: list[str] = ()) -> list[str]:
    """NDJSON of `count` distinct events (plus `extra` raw lines at the end); their ids."""
    ids = [f"{prefix}{n:025d}"[:26] for n in range(count)]
    with path.open("w") as handle:
        for n, event_id in enumerate(ids):
            event = {
                "event_id": event_id,
                "object_type": "email",
                "metric": "sent",
                "timestamp": 1_700_000_000 + n,
                "data": {
                    "delivery_id": f"d{n}",
                    "identifiers": {"id": f"person-{n}"},
                    "recipient": "someone@example.com",
                    "subject": "Hello",
                },
            }
            handle.write(json.dumps(event) + "\n")
        for line in extra:
            handle.write(line + "\n")
    return ids


def dead_letter_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def dead_letter_ids(path: Path) -> set[str]:
    ids = set()
    for record in dead_letter_lines(path):
        event = record["event"]
        if isinstance(event, dict):
            ids.add(str(event["event_id"]))
    return ids


@pytest.fixture
def faulty() -> Iterator[RunningServer]:
    faults = FaultConfig(
        fail_rate=0.3, fail_statuses=(503, 429, 500), drop_rate=0.05, retry_after=0, seed=11
    )
    with start_background_server(ServeConfig(faults=faults)) as server:
        yield server


def replay(server: RunningServer, sources: list[Path], **options: object) -> ReplayStats:
    config = ReplayConfig(url=server.inlet_url, **options)  # type: ignore[arg-type]
    stats, error = run_replay(config, [str(s) for s in sources], handle_signals=False)
    assert error is None, error
    return stats


def test_faults_2000_events_none_lost(faulty: RunningServer, tmp_path: Path) -> None:
    source = tmp_path / "events.ndjson"
    ids = write_events(source, 2000)
    dead = tmp_path / "dead.ndjson"
    stats = replay(
        faulty, [source], concurrency=32, rate=0, retry=FAST, timeout=2.0, dead_letter=dead
    )
    stored = faulty.store.event_ids()
    dead_ids = dead_letter_ids(dead)
    assert stored | dead_ids == set(ids)  # none lost
    assert stats.read == stats.sent == 2000
    assert stats.accepted + stats.dead_lettered == 2000
    # Injected failures and drops are never stored: the counts match the server exactly.
    assert stats.accepted == faulty.store.count() == len(stored)
    assert stats.dead_lettered == len(dead_ids) == len(dead_letter_lines(dead))
    assert stored.isdisjoint(dead_ids)
    assert stats.retried > 500  # ~35 % of attempts fail: the retries really happened
    assert sum(stats.statuses.values()) == stats.attempts == faulty.stats.requests
    assert stats.statuses.get("200") == stats.accepted
    assert {"503", "429", "500", "connection_reset"} <= set(stats.statuses)
    for record in dead_letter_lines(dead):
        assert record["attempts"] == 5
        assert record["status"] in (503, 429, 500, "connection_reset")
        assert record["source"] == str(source)
        assert isinstance(record["line"], int)
    p50, p99 = stats.latency.percentile(50), stats.latency.percentile(99)
    assert p50 is not None and p99 is not None and 0 < p50 <= p99


def test_answers_slower_than_the_timeout_are_failures_and_possible_duplicates(
    tmp_path: Path,
) -> None:
    source = tmp_path / "events.ndjson"
    ids = write_events(source, 24)
    dead = tmp_path / "dead.ndjson"
    with start_background_server(ServeConfig(faults=FaultConfig(latency_ms=400))) as server:
        stats = replay(
            server,
            [source],
            concurrency=8,
            rate=0,
            retry=RetryPolicy(retries=1, base=0.001, cap=0.001),
            timeout=0.15,
            dead_letter=dead,
        )
        stored = server.store.event_ids()
    assert stats.accepted == 0
    assert stats.failed == stats.dead_lettered == 24
    assert stats.statuses == {"timeout": 48}
    assert dead_letter_ids(dead) == set(ids)
    assert stored <= set(ids)  # whatever arrived late is stored, and still dead-lettered
    # Each event was retried after a timeout: it may have arrived twice.
    assert stats.possible_duplicates == 24
    for record in dead_letter_lines(dead):
        assert record["status"] == "timeout"
        assert "Timed out" in str(record["message"])


def test_ordered_delivers_in_file_order_despite_failures(tmp_path: Path) -> None:
    source = tmp_path / "events.ndjson"
    ids = write_events(source, 150)
    faults = FaultConfig(fail_rate=0.3, fail_statuses=(503,), retry_after=0, seed=5)
    with start_background_server(ServeConfig(faults=faults)) as server:
        stats = replay(
            server,
            [source],
            ordered=True,
            concurrency=50,
            rate=0,
            retry=RetryPolicy(retries=10, base=0.001, cap=0.002),
        )
        order = [event["event_id"] for event in server.store.events()]
    assert stats.accepted == 150
    assert stats.retried > 10
    assert order == ids


def test_rate_limits_requests(tmp_path: Path) -> None:
    source = tmp_path / "events.ndjson"
    write_events(source, 60)
    with start_background_server() as server:
        stats = replay(server, [source], concurrency=16, rate=200)
    # 60 requests at 200/s: about 0.3 s (a burst of 4 allowed at the start).
    assert stats.accepted == 60
    assert 0.2 <= stats.elapsed < 10.0  # upper bound generous: CI machines are loaded


def test_dead_letter_file_replays(tmp_path: Path) -> None:
    source = tmp_path / "events.ndjson"
    ids = write_events(source, 40, extra=["{broken", "[1, 2]"])
    dead = tmp_path / "dead.ndjson"
    refusing = FaultConfig(fail_rate=1.0, fail_statuses=(503,), retry_after=0)
    with start_background_server(ServeConfig(faults=refusing)) as server:
        first = replay(
            server, [source], rate=0, retry=RetryPolicy(retries=0), dead_letter=dead
        )
    assert first.accepted == 0 and first.dead_lettered == 42 and first.invalid == 2
    records = dead_letter_lines(dead)
    assert [r["status"] for r in records].count(503) == 40
    invalid = [r for r in records if r["status"] == "invalid"]
    assert [r["line"] for r in invalid] == [41, 42]
    assert invalid[0]["event"] == "{broken"

    again = tmp_path / "dead-again.ndjson"
    with start_background_server() as server:
        second = replay(server, [dead], rate=0, dead_letter=again)
        stored = server.store.event_ids()
        bodies = [e["event"] for e in server.store.events()]
    assert stored == set(ids)
    assert second.accepted == 40
    # Invalid records stay invalid, pointing at the dead-letter file now.
    assert second.invalid == 2 and second.dead_lettered == 2
    assert {r["source"] for r in dead_letter_lines(again)} == {str(dead)}
    # What was replayed is the event itself, not the dead-letter wrapper.
    assert all(set(body) == {"event_id", "object_type", "metric", "timestamp", "data"}
               for body in bodies)  # fmt: skip
