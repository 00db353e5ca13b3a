"""The replay building blocks: done-set, checkpoint file, dead-letter lines, pacing, percentiles."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cio_aep.errors import UsageError
from cio_aep.replay.checkpoint import (
    CheckpointLog,
    DoneSet,
    Snapshot,
    fingerprint_inputs,
    load_checkpoint,
    make_header,
)
from cio_aep.replay.dead_letter import DeadLetterWriter, dead_letter_record, unwrap_dead_letter
from cio_aep.replay.rate import RateLimiter
from cio_aep.replay.summary import LatencyHistogram, ReplayStats, render_summary

# ------------------------------------------------------------------------------- DoneSet


@given(st.lists(st.integers(min_value=0, max_value=300), max_size=200))
def test_done_set_holds_exactly_what_was_added(positions: list[int]) -> None:
    done = DoneSet()
    for p in positions:
        done.add(p)
    assert {p for p in range(320) if p in done} == set(positions)
    assert len(done) == len(set(positions))
    # Round trip through the compact ranges written to the checkpoint.
    again = DoneSet.from_ranges(done.ranges())
    assert {p for p in range(320) if p in again} == set(positions)
    assert again.ranges() == done.ranges()


def test_done_set_is_compact_when_holes_are_few() -> None:
    done = DoneSet()
    for p in range(100_000):
        if p not in (5, 70_000):
            done.add(p)
    assert done.ranges() == [[0, 5], [6, 70_000], [70_001, 100_000]]
    assert done.low == 5
    assert list(done.holes_below(100_002)) == [5, 70_000, 100_000, 100_001]


# ------------------------------------------------------------------------------ checkpoint


def _inputs(tmp_path: Path) -> tuple[Path, list[dict[str, object]]]:
    source = tmp_path / "events.ndjson"
    source.write_text('{"event_id":"a"}\n{"event_id":"b"}\n')
    return source, fingerprint_inputs([str(source)])


def test_checkpoint_last_complete_snapshot_wins_over_a_torn_line(tmp_path: Path) -> None:
    _, inputs = _inputs(tmp_path)
    path = tmp_path / "run.ckpt"
    log = CheckpointLog(path, make_header(inputs, window=64, dead_letter=None), fresh=True)
    log.append(Snapshot([[0, 10]], 74, 0))
    log.append(Snapshot([[0, 12], [20, 25]], 90, 123))
    log.close()
    with path.open("ab") as handle:
        handle.write(b'{"done":[[0,9')  # what kill -9 can leave behind
    state = load_checkpoint(path, inputs)
    assert state.done.ranges() == [[0, 12], [20, 25]]
    assert state.sent_below == 90
    assert state.dead_letter_size == 123
    assert state.window == 64


def test_checkpoint_is_compacted_when_it_grows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cio_aep.replay.checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "COMPACT_BYTES", 2000)
    _, inputs = _inputs(tmp_path)
    path = tmp_path / "run.ckpt"
    log = CheckpointLog(path, make_header(inputs, window=8, dead_letter=None), fresh=True)
    for n in range(1, 200):
        log.append(Snapshot([[0, n]], n + 8, 0))
    log.close()
    assert path.stat().st_size < 2500
    assert load_checkpoint(path, inputs).done.ranges() == [[0, 199]]
    assert not (tmp_path / "run.ckpt.tmp").exists()


def test_checkpoint_of_other_inputs_is_refused(tmp_path: Path) -> None:
    source, inputs = _inputs(tmp_path)
    path = tmp_path / "run.ckpt"
    CheckpointLog(path, make_header(inputs, window=8, dead_letter=None), fresh=True).close()
    source.write_text('{"event_id":"c"}\n')
    with pytest.raises(UsageError, match="other input files"):
        load_checkpoint(path, fingerprint_inputs([str(source)]))


def test_checkpoint_that_is_not_ours_or_missing(tmp_path: Path) -> None:
    _, inputs = _inputs(tmp_path)
    with pytest.raises(UsageError, match="not a regular file"):
        load_checkpoint(Path("/dev/zero"), inputs)
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}\n')
    with pytest.raises(UsageError, match="not a cio-aep replay checkpoint"):
        load_checkpoint(other, inputs)
    with pytest.raises(UsageError, match="no checkpoint to resume from"):
        load_checkpoint(tmp_path / "missing", inputs)


@pytest.mark.parametrize(
    "data",
    [b"[" * 100_000, b'{"a": ' + b"9" * 5000 + b"}", b"\xff\xfe", b""],
    ids=["deep", "long-number", "binary", "empty"],
)
def test_checkpoint_undecodable_header_is_not_ours(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "run.ckpt"
    path.write_bytes(data)
    with pytest.raises(UsageError, match="not a cio-aep replay checkpoint"):
        load_checkpoint(path, [])


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_checkpoint_garbage_is_a_clean_error_or_a_state(data: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.ckpt"
        path.write_bytes(data)
        with contextlib.suppress(UsageError):
            load_checkpoint(path, [])


# ----------------------------------------------------------------------------- dead letter


def test_dead_letter_lines_unwrap_and_ordinary_events_do_not() -> None:
    event = {"event_id": "01H", "object_type": "email", "metric": "sent", "data": {}}
    record = dead_letter_record(
        event, status=400, message="Bad request", attempts=1, source="f.ndjson", line=3
    )
    assert unwrap_dead_letter(json.loads(json.dumps(record))) == (event, True)
    # An event that merely has an `event` field is an event.
    lookalike = {"event": {"x": 1}, "status": "ok"}
    assert unwrap_dead_letter(lookalike) == (lookalike, False)


def test_dead_letter_resume_cuts_lines_written_after_the_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "dl.ndjson"
    writer = DeadLetterWriter(path)
    writer.write({"event": 1})
    size = writer.flush()
    writer.write({"event": 2})
    writer.close()
    writer = DeadLetterWriter(path, resume_at=size)
    writer.write({"event": 3})
    writer.close()
    assert [json.loads(line)["event"] for line in path.read_text().splitlines()] == [1, 3]


def test_dead_letter_keeps_lone_surrogates_as_json(tmp_path: Path) -> None:
    path = tmp_path / "dl.ndjson"
    writer = DeadLetterWriter(path)
    writer.write({"event": "bad \udcff text"})
    writer.close()
    assert json.loads(path.read_text())["event"] == "bad \udcff text"


# ------------------------------------------------------------------------------------ rate


def test_rate_limiter_paces_requests() -> None:
    clock = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    limiter = RateLimiter(100, burst=1, clock=lambda: clock[0], sleep=sleep)

    async def go() -> None:
        for _ in range(101):
            await limiter.acquire()

    asyncio.run(go())
    assert clock[0] == pytest.approx(1.0)  # 101 requests at 100/s: the last one after 1 s


def test_rate_limiter_burst_and_unlimited() -> None:
    clock = [10.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def go(limiter: RateLimiter, n: int) -> None:
        for _ in range(n):
            await limiter.acquire()

    asyncio.run(go(RateLimiter(1000, burst=20, clock=lambda: clock[0], sleep=sleep), 20))
    assert slept == []  # a quiet start may send `burst` at once
    asyncio.run(go(RateLimiter(0, clock=lambda: clock[0], sleep=sleep), 1000))
    assert slept == []


# ------------------------------------------------------------------------------- summary


@given(st.lists(st.floats(min_value=1e-4, max_value=100.0), min_size=1, max_size=300))
def test_latency_percentiles_within_two_percent(samples: list[float]) -> None:
    histogram = LatencyHistogram()
    for value in samples:
        histogram.add(value)
    ordered = sorted(samples)
    for p in (50, 95, 99):
        exact = ordered[max(1, math.ceil(len(ordered) * p / 100)) - 1]
        got = histogram.percentile(p)
        assert got is not None
        assert abs(got - exact) <= 0.02 * exact


def test_summary_text_and_json_agree() -> None:
    stats = ReplayStats(read=3, sent=2, accepted=1, rejected=1, dead_lettered=1, attempts=2)
    stats.count_status("200")
    stats.count_status("400")
    stats.latency.add(0.010)
    stats.latency.add(0.020)
    data = stats.to_dict()
    assert data["statuses"] == {"200": 1, "400": 1}
    assert data["accepted"] == 1 and data["dead_lettered"] == 1
    text = render_summary(stats)
    assert "accepted        1" in text and "200: 1, 400: 1" in text
    assert LatencyHistogram().percentile(50) is None


# ------------------------------------------------------------------------------ progress


def test_plain_progress_writes_a_line_per_interval() -> None:
    import io

    from cio_aep.replay.progress import PlainProgress, progress_for

    stream = io.StringIO()
    progress = PlainProgress(stream, interval=0.0)
    progress.start(1000)
    stats = ReplayStats(read=10, sent=8, accepted=7, dead_lettered=1)
    progress.update(stats, 500)
    line = stream.getvalue()
    assert line.startswith("replay: 10 read, 8 sent, 7 accepted, 1 dead-lettered, ")
    assert "ETA" in line and line.endswith("\n")
    assert isinstance(progress_for(io.StringIO(), color=False), PlainProgress)
