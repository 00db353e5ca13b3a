"""`cio-aep replay` through the CLI: usage errors, exit codes, outputs, and the key kept secret."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from test_replay_engine import dead_letter_lines, write_events
from typer.testing import CliRunner

from cio_aep.cli.main import app
from cio_aep.local_endpoint import RunningServer, ServeConfig, start_background_server
from cio_aep.signing import SigningKey

INLET = "a" * 64
FLOW = "c10ae000-5e7e-4000-8000-000000000001"


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> object:
    return CliRunner().invoke(app, ["replay", *args], env=env, input=stdin)


@pytest.fixture
def events(tmp_path: Path) -> Path:
    source = tmp_path / "events.ndjson"
    write_events(source, 30)
    return source


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/collection/{INLET}?x-adobe-flow-id={FLOW}"


def test_all_accepted_exit_0_and_json_summary(
    local_endpoint: RunningServer, events: Path
) -> None:
    result = run(str(events), "--url", local_endpoint.inlet_url, "--json", "--rate", "0")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["outcome"] == "completed"
    assert summary["read"] == summary["sent"] == summary["accepted"] == 30
    assert summary["dead_lettered"] == 0
    assert summary["statuses"] == {"200": 30}
    assert set(summary["latency_ms"]) == {"p50", "p95", "p99"}
    assert local_endpoint.store.count() == 30


def test_human_summary_on_stdout_progress_and_notices_on_stderr(
    local_endpoint: RunningServer, tmp_path: Path
) -> None:
    source = tmp_path / "events.ndjson"
    write_events(source, 5, extra=["{oops", '"a string"'])
    result = run(str(source), "--url", local_endpoint.inlet_url)
    assert result.exit_code == 1  # invalid records were dead-lettered (here: only reported)
    assert "accepted        5" in result.stdout
    assert "read            7 (2 invalid)" in result.stdout
    assert f"{source}:6: invalid JSON" in result.stderr
    assert f"{source}:7: the record is not a JSON object" in result.stderr
    assert "add --dead-letter FILE" in result.stderr
    assert "warning" not in result.stdout


def test_invalid_lines_go_to_the_dead_letter_file(
    local_endpoint: RunningServer, tmp_path: Path
) -> None:
    source = tmp_path / "events.ndjson"
    write_events(source, 3, extra=["{oops"])
    dead = tmp_path / "dead.ndjson"
    result = run(str(source), "--url", local_endpoint.inlet_url, "--dead-letter", str(dead))
    assert result.exit_code == 1
    (record,) = dead_letter_lines(dead)
    assert record["status"] == "invalid" and record["line"] == 4 and record["event"] == "{oops"
    assert record["attempts"] == 0 and record["source"] == str(source)
    assert "dead-lettered" in result.stderr


def test_strict_stops_at_the_first_invalid_record_exit_2(
    local_endpoint: RunningServer, tmp_path: Path
) -> None:
    source = tmp_path / "events.ndjson"
    write_events(source, 300, extra=["{oops"])
    with source.open("a") as handle:
        handle.write(source.read_text().splitlines()[0] + "\n")
    result = run(str(source), "--url", local_endpoint.inlet_url, "--strict", "--json")
    assert result.exit_code == 2
    assert f"error: {source}:301: invalid JSON" in result.stderr
    assert "--strict" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["outcome"] == "stopped"
    assert summary["invalid"] == 1 and summary["dead_lettered"] == 0
    # Events before the bad line went out; nothing after it did.
    assert summary["accepted"] == local_endpoint.store.count() <= 300
    assert "Traceback" not in result.stderr


def test_unreachable_endpoint_exit_3_nothing_dead_lettered(events: Path, tmp_path: Path) -> None:
    dead = tmp_path / "dead.ndjson"
    result = run(
        str(events), "--url", _closed_port_url(), "--retries", "0", "--dead-letter", str(dead)
    )
    assert result.exit_code == 3
    assert "error: cannot reach 127.0.0.1:" in result.stderr
    assert "connection refused" in result.stderr
    assert "replay unreachable" in result.stdout
    assert dead_letter_lines(dead) == []


def test_stdin_input(local_endpoint: RunningServer, events: Path) -> None:
    result = run("-", "--url", local_endpoint.inlet_url, "--json", stdin=events.read_text())
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["accepted"] == 30


def test_json_array_input_and_ordered(local_endpoint: RunningServer, tmp_path: Path) -> None:
    ndjson = tmp_path / "events.ndjson"
    ids = write_events(ndjson, 12)
    array = tmp_path / "events.json"
    array.write_text(json.dumps([json.loads(line) for line in ndjson.read_text().splitlines()]))
    result = run(str(array), "--url", local_endpoint.inlet_url, "--ordered", "--json")
    assert result.exit_code == 0, result.stderr
    assert [e["event_id"] for e in local_endpoint.store.events()] == ids


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--resume"], "--resume needs --checkpoint"),
        (["--concurrency", "0"], "--concurrency"),
        (["--rate", "-1"], "--rate"),
    ],
)
def test_usage_errors(events: Path, extra: list[str], message: str) -> None:
    url = f"http://127.0.0.1:9/collection/{INLET}?x-adobe-flow-id={FLOW}"
    result = run(str(events), "--url", url, *extra)
    assert result.exit_code == 2
    assert message in result.stderr


def test_file_errors(events: Path, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:9/collection/{INLET}?x-adobe-flow-id={FLOW}"
    missing = run(str(tmp_path / "nope.ndjson"), "--url", url)
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    same = run(str(events), "--url", url, "--dead-letter", str(events))
    assert same.exit_code == 2 and "also an input file" in same.stderr
    assert events.read_text().count("\n") == 30  # not truncated
    stdin = run("-", "--url", url, "--checkpoint", str(tmp_path / "c"), stdin="")
    assert stdin.exit_code == 2 and "stdin cannot be resumed" in stdin.stderr
    existing = tmp_path / "run.ckpt"
    existing.write_text('{"cio_aep_checkpoint": 1, "inputs": []}\n')
    again = run(str(events), "--url", url, "--checkpoint", str(existing))
    assert again.exit_code == 2 and "already exists" in again.stderr and "--resume" in again.stderr
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    other = run(str(events), "--url", url, "--checkpoint", str(notes))
    assert other.exit_code == 2 and "is not a replay checkpoint; not overwriting it" in other.stderr
    assert notes.read_text() == "my notes"
    folder = run(str(events), "--url", url, "--checkpoint", str(tmp_path))
    assert folder.exit_code == 2 and "is a directory; give a file name" in folder.stderr
    bad_url = run(str(events), "--url", "https://example.com/hook")
    assert bad_url.exit_code == 2 and bad_url.stderr.startswith("error: ")


def test_resume_with_a_checkpoint_of_other_input_is_refused(
    local_endpoint: RunningServer, events: Path, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "run.ckpt"
    first = run(str(events), "--url", local_endpoint.inlet_url, "--checkpoint", str(checkpoint))
    assert first.exit_code == 0, first.stderr
    other = tmp_path / "other.ndjson"
    write_events(other, 3, prefix="O")
    result = run(
        str(other), "--url", local_endpoint.inlet_url, "--checkpoint", str(checkpoint), "--resume"
    )
    assert result.exit_code == 2
    assert "written for other input files" in result.stderr
    # The same input resumes, and has nothing left to send.
    same = run(
        str(events),
        "--url",
        local_endpoint.inlet_url,
        "--checkpoint",
        str(checkpoint),
        "--resume",
        "--json",
    )
    assert same.exit_code == 0, same.stderr
    assert json.loads(same.stdout)["skipped_already_done"] == 30
    assert local_endpoint.store.duplicates() == 0


def test_rate_above_5000_warns(local_endpoint: RunningServer, events: Path) -> None:
    result = run(str(events), "--url", local_endpoint.inlet_url, "--rate", "8000")
    assert result.exit_code == 0
    assert "warning: --rate 8000" in result.stderr


def test_signed_and_the_key_never_written(tmp_path: Path) -> None:
    secret = "s3cr3t-signing-key-for-replay-tests"
    source = tmp_path / "events.ndjson"
    write_events(source, 20, extra=["{oops"])
    dead = tmp_path / "dead.ndjson"
    checkpoint = tmp_path / "run.ckpt"
    config = ServeConfig(signing_key=SigningKey(secret))
    with start_background_server(config) as server:
        result = run(
            str(source),
            "--url",
            server.inlet_url,
            "--dead-letter",
            str(dead),
            "--checkpoint",
            str(checkpoint),
            "--json",
            env={"CIO_SIGNING_KEY": secret},
        )
        events = server.store.events()
        dump = server.store.raw_dump()
    assert result.exit_code == 1  # the invalid line
    assert json.loads(result.stdout)["accepted"] == 20  # serve verified every signature
    assert all(event["signature_ok"] for event in events)
    for text in (result.stdout, result.stderr, dead.read_text(), checkpoint.read_text(), dump):
        assert secret not in text
    # A wrong key: every event is refused (401, not retried) and dead-lettered, key unseen.
    with start_background_server(config) as server:
        wrong = run(
            str(source),
            "--url",
            server.inlet_url,
            "--json",
            env={"CIO_SIGNING_KEY": "another-key"},
        )
    assert wrong.exit_code == 1
    summary = json.loads(wrong.stdout)
    assert summary["statuses"] == {"401": 20} and summary["rejected"] == 20
    assert "another-key" not in wrong.stdout + wrong.stderr


def test_help_documents_exit_codes_and_example() -> None:
    result = CliRunner().invoke(app, ["replay", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "3 endpoint unreachable" in text
    assert "Example:" in text
    assert "at least once" in text


def test_clean_runs_dead_letter_replays_as_nothing(
    local_endpoint: RunningServer, events: Path, tmp_path: Path
) -> None:
    dead = tmp_path / "dead.ndjson"
    first = run(str(events), "--url", local_endpoint.inlet_url, "--dead-letter", str(dead))
    assert first.exit_code == 0 and dead.read_bytes() == b""
    again = run(str(dead), str(events), "--url", local_endpoint.inlet_url, "--json")
    assert again.exit_code == 0, again.stderr
    assert f"warning: {dead} is empty: nothing to send from it" in again.stderr
    assert json.loads(again.stdout)["accepted"] == 30


def test_dead_letter_with_earlier_failures_is_not_overwritten(events: Path, tmp_path: Path) -> None:
    dead = tmp_path / "dead.ndjson"
    dead.write_text('{"event": {"event_id": "lost?"}, "status": 400}\n')
    url = f"http://127.0.0.1:9/collection/{INLET}?x-adobe-flow-id={FLOW}"
    result = run(str(events), "--url", url, "--dead-letter", str(dead))
    assert result.exit_code == 2
    assert "is not empty (failures of an earlier run?)" in result.stderr
    assert dead.read_text().startswith('{"event": {"event_id": "lost?"}')
