"""`kill -9` a replay mid-run, then `--resume`: nothing lost, duplicates within the bound."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from test_replay_engine import dead_letter_ids, dead_letter_lines, write_events
from typer.testing import CliRunner

from cio_aep.cli.main import app
from cio_aep.local_endpoint import FaultConfig, ServeConfig, start_background_server
from cio_aep.replay.checkpoint import fingerprint_inputs, load_checkpoint


def _done_so_far(checkpoint: Path, source: Path) -> int:
    try:
        return len(load_checkpoint(checkpoint, fingerprint_inputs([str(source)])).done)
    except Exception:  # not written yet
        return 0


def test_kill_9_then_resume_sends_only_what_was_not_acknowledged(tmp_path: Path) -> None:
    source = tmp_path / "events.ndjson"
    ids = write_events(source, 2000, extra=["{not json"])
    checkpoint = tmp_path / "run.ckpt"
    dead = tmp_path / "dead.ndjson"
    faults = FaultConfig(fail_rate=0.2, fail_statuses=(503, 500), retry_after=0, seed=3)
    with start_background_server(ServeConfig(faults=faults)) as server:
        args = [
            str(source),
            "--url",
            server.inlet_url,
            "--checkpoint",
            str(checkpoint),
            "--dead-letter",
            str(dead),
            "--retries",
            "3",
        ]
        child = subprocess.Popen(
            [sys.executable, "-m", "cio_aep", "replay", *args, "--rate", "400", "-c", "8"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "NO_COLOR": "1"},
        )
        try:
            deadline = time.monotonic() + 60
            while _done_so_far(checkpoint, source) < 300:
                assert child.poll() is None, child.stderr.read() if child.stderr else ""
                assert time.monotonic() < deadline, "the replay made no progress"
                time.sleep(0.02)
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
        finally:
            if child.poll() is None:
                child.kill()
            if child.stderr is not None:
                child.stderr.close()
        assert child.returncode == -signal.SIGKILL
        done_before = _done_so_far(checkpoint, source)
        assert 300 <= done_before < 2001  # killed mid-run
        stored_before = server.store.count()

        result = CliRunner().invoke(
            app, ["replay", *args, "--resume", "--rate", "0", "-c", "200", "--json"]
        )
        summary = json.loads(result.stdout)
        stored = server.store.event_ids()
        duplicates = server.store.duplicates()

    assert result.exit_code in (0, 1), result.stderr
    dead_ids = dead_letter_ids(dead)
    assert stored | dead_ids == set(ids)  # none lost
    # Only what the checkpoint did not record was read again and sent.
    assert summary["skipped_already_done"] == done_before
    assert summary["read"] == 2001
    assert summary["sent"] + summary["invalid"] == 2001 - done_before
    assert summary["accepted"] == len(stored) - stored_before + duplicates
    # The dead letter was cut back to the checkpoint: each failed event is in it once,
    # and the invalid line too.
    records = dead_letter_lines(dead)
    event_records = [r for r in records if isinstance(r["event"], dict)]
    assert len(event_records) == len(dead_ids)
    assert [r["line"] for r in records if r["status"] == "invalid"] == [2001]
    # Sent twice: only events in flight at the kill, and never more than reported, which is
    # at most the reservation step (64 for 8 workers) plus the events finished but not yet
    # recorded (bounded by the window, 512).
    assert duplicates <= summary["possible_duplicates"] <= 512
    assert summary["possible_duplicates"] <= 2000 - done_before


def test_resume_after_ctrl_c_reports_interrupted_and_goes_on(tmp_path: Path) -> None:
    source = tmp_path / "events.ndjson"
    ids = write_events(source, 400)
    checkpoint = tmp_path / "run.ckpt"
    with start_background_server() as server:
        args = [str(source), "--url", server.inlet_url, "--checkpoint", str(checkpoint)]
        child = subprocess.Popen(
            [sys.executable, "-m", "cio_aep", "replay", *args, "--rate", "100", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "NO_COLOR": "1"},
        )
        deadline = time.monotonic() + 60
        while _done_so_far(checkpoint, source) < 50 and time.monotonic() < deadline:
            time.sleep(0.02)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
        assert child.returncode == 130, err
        first = json.loads(out)
        assert first["outcome"] == "interrupted"
        assert b"--resume" in err
        result = CliRunner().invoke(app, ["replay", *args, "--resume", "--rate", "0", "--json"])
        assert result.exit_code == 0, result.stderr
        second = json.loads(result.stdout)
        assert server.store.event_ids() == set(ids)
        assert second["skipped_already_done"] + second["sent"] == 400
        assert server.store.duplicates() <= second["possible_duplicates"]
