"""Standard streams that are closed or failing: one `error:` line, never a traceback or abort.

These run the real console entry point in a subprocess: a closed fd 0 or a full disk behind
fd 1 cannot be staged inside CliRunner.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from samples import ADOBE_EVENT, ADOBE_TEXT
from typer.testing import CliRunner

from cio_aep.cli.main import app
from cio_aep.local_endpoint import RunningServer

URL = (
    "http://127.0.0.1:9/collection/" + "a" * 64
    + "?x-adobe-flow-id=439b3fc4-3042-4a3a-b5e0-a494898d3fb0"
)  # fmt: skip
MAPPING = str(Path(__file__).parent.parent / "examples/mappings/valid-api-mapping-set.json")


def cio_aep(shell_redirects: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `python -m cio_aep ARGS` under bash with the given redirections (e.g. `<&-`)."""
    quoted = " ".join("'" + a.replace("'", "'\\''") + "'" for a in args)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIO_")}
    return subprocess.run(
        ["bash", "-c", f"exec '{sys.executable}' -m cio_aep {quoted} {shell_redirects}"],
        capture_output=True, text=True, timeout=60, cwd=cwd, env=env, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        ["validate-events", "-"],
        ["validate-mapping", "-"],
        ["validate-mapping", MAPPING, "--xdm-schema", "-"],
        ["build-url", "--from-flow", "-"],
        ["send-test-event", "--dry-run", "--url", URL, "--file", "-"],
        ["replay", "-", "--url", URL],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_closed_stdin(tmp_path: Path, args: list[str]) -> None:
    done = cio_aep("<&-", *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "Fatal" not in done.stderr
    assert "standard input is closed" in done.stdout + done.stderr  # validate-events: the report


def test_replay_of_a_file_with_stdin_closed_does_not_abort(tmp_path: Path) -> None:
    # uvloop aborts when it closes a socket numbered 0-2: fd 0 must not be free for one.
    (tmp_path / "one.json").write_text(ADOBE_TEXT)
    done = cio_aep("<&-", "replay", "one.json", "--url", URL, "--retries", "0", cwd=tmp_path)
    assert done.returncode == 3, done.stderr  # nothing listens on port 9
    assert "cannot reach 127.0.0.1:9" in done.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args",
    [
        ["generate-schema"],
        ["events", "--json"],
        [
            "build-url",
            "-e",
            URL.split("?")[0].replace("http://127.0.0.1:9", "https://dcs.adobedc.net"),
            "-d",
            "439b3fc4-3042-4a3a-b5e0-a494898d3fb0",
        ],
        ["validate-mapping", MAPPING],
        ["send-test-event", "--dry-run", "--url", URL],
    ],
    ids=lambda args: args[0],
)
def test_full_disk_on_stdout(tmp_path: Path, args: list[str]) -> None:
    done = cio_aep(">/dev/full", *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert errors == ["error: cannot write the output: No space left on device"]


def test_pipe_closed_early_is_not_an_error(tmp_path: Path) -> None:
    done = cio_aep("| head -c 1", "generate-schema", "--all-events", cwd=tmp_path)
    assert done.stdout == "{"
    assert done.stderr == ""


def test_undecodable_key_in_the_environment(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["send-test-event", "--dry-run", "--url", URL], env={"CIO_SIGNING_KEY": "k\udcff"}
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("error: CIO_SIGNING_KEY: not UTF-8 text")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [["validate-events", "-", "-"], ["validate-mapping", "-", "--xdm-schema", "-"]],
    ids=["validate-events", "validate-mapping"],
)
def test_stdin_named_twice_is_a_usage_error(args: list[str]) -> None:
    result = CliRunner().invoke(app, args, input=ADOBE_TEXT)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: '-' (stdin) can be given only once")


def test_ctrl_c_while_replay_waits_on_stdin(local_endpoint: RunningServer) -> None:
    # The reader thread sits in a read of stdin; the interpreter's shutdown used to find
    # stdin's lock held and abort ("Fatal Python error", exit 134).
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIO_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cio_aep", "replay", "-", "--url", local_endpoint.inlet_url],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stdin is not None
    try:
        proc.stdin.write(json.dumps(ADOBE_EVENT).encode() + b"\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        while local_endpoint.store.count() < 1:  # replay is up, and now waits for more
            assert time.monotonic() < deadline, "replay sent nothing"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err.decode()
    assert b"Fatal" not in err and b"Traceback" not in err
