"""`replay` when its own files fail: stopped at once, named, summarised; one run per checkpoint."""

from __future__ import annotations

import errno
import json
import time
from pathlib import Path

import pytest
from test_replay_engine import write_events
from typer.testing import CliRunner

import cio_aep.replay.checkpoint as checkpoint_module
from cio_aep.cli.main import app
from cio_aep.errors import CioAepError, UsageError
from cio_aep.local_endpoint import start_background_server
from cio_aep.replay.checkpoint import (
    CheckpointLog,
    Snapshot,
    fingerprint_inputs,
    load_checkpoint,
    lock_checkpoint,
    make_header,
)
from cio_aep.replay.engine import ReplayConfig, run_replay

DEV_FULL = Path("/dev/full")


def _events_with_invalid_first(path: Path, invalid: int, valid: int) -> None:
    """`invalid` broken lines (dead-lettered at once), then `valid` events."""
    valid_path = path.with_name("valid.ndjson")
    write_events(valid_path, valid)
    path.write_text("{oops\n" * invalid + valid_path.read_text())


def _run(*args: str) -> object:
    return CliRunner().invoke(app, ["replay", *args])


@pytest.mark.skipif(not DEV_FULL.exists(), reason="needs /dev/full")
def test_dead_letter_on_a_full_disk_stops_at_once_with_a_summary(tmp_path: Path) -> None:
    source = tmp_path / "events.ndjson"
    _events_with_invalid_first(source, 300, 500)  # 500 events at 50/s: 10 s if not stopped
    with start_background_server() as server:
        started = time.monotonic()
        result = _run(
            str(source), "--url", server.inlet_url, "--rate", "50", "--json",
            "--dead-letter", str(DEV_FULL),
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert result.exit_code == 2, result.stderr
    assert "error: /dev/full: cannot write the dead-letter file: No space left on device" in (
        result.stderr
    )
    summary = json.loads(result.stdout)
    assert summary["outcome"] == "stopped"
    assert summary["sent"] < 500
    assert elapsed < 5


def test_checkpoint_write_failure_stops_the_run_and_keeps_the_dead_letters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "events.ndjson"
    _events_with_invalid_first(source, 5, 500)
    ckpt = tmp_path / "run.ckpt"
    dead = tmp_path / "dead.ndjson"
    real = CheckpointLog._append
    calls = []

    def full_disk(self: CheckpointLog, snapshot: Snapshot) -> None:
        calls.append(snapshot)
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, snapshot)

    monkeypatch.setattr(CheckpointLog, "_append", full_disk)
    with start_background_server() as server:
        started = time.monotonic()
        result = _run(
            str(source), "--url", server.inlet_url, "--rate", "50", "--json",
            "--checkpoint", str(ckpt), "--dead-letter", str(dead),
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert result.exit_code == 2, result.stderr
    assert f"error: {ckpt}: cannot write the checkpoint: No space left on device" in (
        result.stderr
    )
    summary = json.loads(result.stdout)
    assert summary["outcome"] == "stopped"
    assert summary["sent"] < 500
    assert elapsed < 5
    lines = [json.loads(line) for line in dead.read_text().splitlines()]
    assert len(lines) == 5 and all(line["status"] == "invalid" for line in lines)
    load_checkpoint(ckpt, fingerprint_inputs([str(source)]))  # what was written still loads


def test_compaction_that_cannot_create_its_temporary_file_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoint_module, "COMPACT_BYTES", 0)  # every snapshot compacts
    source = tmp_path / "events.ndjson"
    write_events(source, 300)
    ckpt = tmp_path / "run.ckpt"
    config_flags = dict(rate=100.0, checkpoint=ckpt, flush_interval=0.05)
    with start_background_server() as server:
        config = ReplayConfig(url=server.inlet_url, **config_flags)  # type: ignore[arg-type]
        # Created once the run holds the checkpoint: the temporary file's name is a directory.
        blocker = tmp_path / "run.ckpt.tmp"
        real_init = CheckpointLog.__init__

        def then_block(self: CheckpointLog, *args: object, **kwargs: object) -> None:
            real_init(self, *args, **kwargs)  # type: ignore[arg-type]
            blocker.mkdir()

        monkeypatch.setattr(CheckpointLog, "__init__", then_block)
        started = time.monotonic()
        stats, error = run_replay(config, [str(source)], handle_signals=False)
        elapsed = time.monotonic() - started
    assert isinstance(error, CioAepError)
    assert str(error).startswith(f"{ckpt}: cannot write the checkpoint: ")
    assert stats.outcome == "stopped"
    assert stats.sent < 300
    assert elapsed < 2.5
    load_checkpoint(ckpt, fingerprint_inputs([str(source)]))


def test_compaction_keeps_the_lock_on_the_new_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoint_module, "COMPACT_BYTES", 0)
    source = tmp_path / "events.ndjson"
    write_events(source, 2)
    path = tmp_path / "run.ckpt"
    header = make_header(fingerprint_inputs([str(source)]), window=8, dead_letter=None)
    log = CheckpointLog(path, header, fresh=True)
    with pytest.raises(UsageError, match="in use by another replay"):
        lock_checkpoint(path, create=False)
    log.append(Snapshot([[0, 1]], 9, 0))  # compacted: a new file renamed over
    with pytest.raises(UsageError, match="in use by another replay"):
        lock_checkpoint(path, create=False)
    log.close()
    again = lock_checkpoint(path, create=False)
    assert again is not None
    again.close()


def test_a_second_replay_on_the_same_checkpoint_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "events.ndjson"
    write_events(source, 20)
    ckpt = tmp_path / "run.ckpt"
    dead = tmp_path / "dead.ndjson"
    with start_background_server() as server:
        args = [str(source), "--url", server.inlet_url, "--checkpoint", str(ckpt),
                "--dead-letter", str(dead), "--rate", "0"]  # fmt: skip
        assert _run(*args).exit_code == 0
        held = lock_checkpoint(ckpt, create=False)  # another replay, still running
        assert held is not None
        try:
            for extra in (["--resume"], []):
                result = _run(*args, *extra)
                assert result.exit_code == 2, result.stderr
                assert f"{ckpt}: the checkpoint is in use by another replay" in result.stderr
            # The engine checks again under the lock (the CLI check can race).
            config = ReplayConfig(url=server.inlet_url, checkpoint=ckpt, resume=True)
            with pytest.raises(UsageError, match="in use by another replay"):
                run_replay(config, [str(source)], handle_signals=False)
            assert server.store.count() == 20
        finally:
            held.close()
        result = _run(*args, "--resume", "--json")
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["skipped_already_done"] == 20


@pytest.mark.parametrize(
    "header_window, snapshot",
    [
        (-1, b'{"done":[[0,1]],"sent_below":2,"dead_letter_size":0}\n'),
        (8, b'{"done":5,"sent_below":2,"dead_letter_size":0}\n'),
        (8, b'{"sent_below":2,"dead_letter_size":0}\n'),
        (8, b"[1, 2]\n"),
    ],
)
def test_damaged_checkpoints_are_refused(
    tmp_path: Path, header_window: int, snapshot: bytes
) -> None:
    source = tmp_path / "events.ndjson"
    write_events(source, 2)
    inputs = fingerprint_inputs([str(source)])
    path = tmp_path / "run.ckpt"
    header = make_header(inputs, window=header_window, dead_letter=None)
    path.write_bytes(
        json.dumps(header).encode() + b"\n"
        + b'{"done":[[0,1]],"sent_below":2,"dead_letter_size":0}\n'
        + snapshot
    )  # fmt: skip
    with pytest.raises(UsageError, match="the checkpoint is damaged"):
        load_checkpoint(path, inputs)
