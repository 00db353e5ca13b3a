"""The signing key never appears anywhere we write (issue 6, part 3).

Every command that can take the key runs with a recognisable key, from `CIO_SIGNING_KEY` and
from `--signing-key-file`; stdout, stderr, `--json`, `--dry-run`, the server's log lines and
stored data, `/_cio-aep/events`, dead-letter and checkpoint files and exception messages are
grepped for it. The one allowed occurrence is GitHub's `::add-mask::<key>` line, which exists to
hide it from every later step of a CI job.
"""

from __future__ import annotations

import io
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cio_aep.cli.main import app
from cio_aep.generator import EventGenerator
from cio_aep.local_endpoint.app import ServeConfig
from cio_aep.local_endpoint.server import RunningServer, start_background_server
from cio_aep.signing import SigningKey, verify_signature

KEY = "cio-aep-SECRET-5f0c1d9e-never-print-me"
MASK_LINE = f"::add-mask::{KEY}"
INLET = "ab" * 32
FLOW = "439b3fc4-3042-4a3a-b5e0-a494898d3fb0"
FAST = ["--backoff-base", "0.01"]


def assert_no_key(*texts: str) -> None:
    """The key is in none of `texts`, except as the whole `::add-mask::` line."""
    for text in texts:
        kept = [line for line in text.splitlines() if line != MASK_LINE]
        assert KEY not in "\n".join(kept)
        assert KEY.encode().hex() not in text  # not even hex-encoded


def assert_result_clean(result: Result) -> None:
    assert_no_key(result.stdout, result.stderr)
    if result.exception is not None:
        assert_no_key(str(result.exception), repr(result.exception))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CIO_SIGNING_KEY", "CIO_AEP_URL", "CIO_AEP_ENDPOINT", "CIO_AEP_DATAFLOW_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "signing.key"
    path.write_text(KEY + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture(params=["env", "file"])
def key_source(request: pytest.FixtureRequest, key_file: Path) -> tuple[list[str], dict[str, str]]:
    """(extra CLI args, environment) giving the key one way or the other."""
    if request.param == "env":
        return [], {"CIO_SIGNING_KEY": KEY}
    return ["--signing-key-file", str(key_file)], {}


@pytest.fixture
def server() -> Iterator[tuple[RunningServer, io.StringIO]]:
    """serve with the key, logging a line per request into a buffer we grep."""
    log = io.StringIO()
    config = ServeConfig(signing_key=SigningKey(KEY), quiet=False, log_stream=log)
    with start_background_server(config) as running:
        yield running, log


def events_file(tmp_path: Path, count: int = 3) -> Path:
    generator = EventGenerator(seed=11)
    path = tmp_path / "events.ndjson"
    lines = [json.dumps(generator.generate("email", "sent")) for _ in range(count)]
    path.write_text("\n".join([*lines, "{not json"]) + "\n")
    return path


def server_outputs(running: RunningServer, log: io.StringIO) -> list[str]:
    import httpx

    listed = httpx.get(f"{running.url}/_cio-aep/events", timeout=5).text
    health = httpx.get(f"{running.url}/_cio-aep/health", timeout=5).text
    return [
        running.store.raw_dump(),
        listed,
        health,
        log.getvalue(),
        repr(running.app.config),
        repr(running.stats),
    ]


# ----------------------------------------------------------------------- send-test-event


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_send_test_event_dry_run(
    key_source: tuple[list[str], dict[str, str]], extra: list[str]
) -> None:
    args, env = key_source
    url = f"http://127.0.0.1:9/collection/{INLET}?x-adobe-flow-id={FLOW}"
    result = CliRunner().invoke(
        app, ["send-test-event", "--url", url, "--dry-run", "--all-events", *args, *extra], env=env
    )
    assert result.exit_code == 0, result.stderr
    assert "X-CIO-Signature" in result.stdout or "x-cio-signature" in result.stdout.lower()
    assert_result_clean(result)


@pytest.mark.parametrize("extra", [[], ["--json"], ["--sync-validation", "--json"]])
def test_send_test_event_to_serve(
    key_source: tuple[list[str], dict[str, str]],
    server: tuple[RunningServer, io.StringIO],
    extra: list[str],
) -> None:
    args, env = key_source
    running, log = server
    result = CliRunner().invoke(
        app, ["send-test-event", "--url", running.inlet_url, "--count", "2", *args, *extra],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    stored = running.store.events()
    assert len(stored) == 2 and all(e["signature_ok"] for e in stored)  # the key was used
    assert_result_clean(result)
    assert_no_key(*server_outputs(running, log))


def test_send_test_event_signature_rejected_and_unreachable(
    key_source: tuple[list[str], dict[str, str]], tmp_path: Path
) -> None:
    args, env = key_source
    other = ServeConfig(signing_key=SigningKey("a-different-key"))
    with start_background_server(other) as running:
        rejected = CliRunner().invoke(
            app, ["send-test-event", "--url", running.inlet_url, "--json", *args, *FAST], env=env
        )
        url = running.inlet_url
    assert rejected.exit_code == 1
    assert json.loads(rejected.stdout)["status"] == 401
    assert_result_clean(rejected)
    unreachable = CliRunner().invoke(
        app, ["send-test-event", "--url", url, "--retries", "1", *args, *FAST], env=env
    )
    assert unreachable.exit_code == 3
    assert_result_clean(unreachable)


# ------------------------------------------------------------------------------- replay


def test_replay_outputs_dead_letter_and_checkpoint(
    key_source: tuple[list[str], dict[str, str]],
    server: tuple[RunningServer, io.StringIO],
    tmp_path: Path,
) -> None:
    args, env = key_source
    running, log = server
    source = events_file(tmp_path)
    dead, checkpoint = tmp_path / "dead.ndjson", tmp_path / "run.ckpt"
    ok = CliRunner().invoke(
        app,
        ["replay", str(source), "--url", running.inlet_url, "--json", "--dead-letter", str(dead),
         "--checkpoint", str(checkpoint), *args],
        env=env,
    )  # fmt: skip
    assert ok.exit_code == 1, ok.stderr  # the invalid line is dead-lettered
    assert json.loads(ok.stdout)["accepted"] == 3
    assert all(e["signature_ok"] for e in running.store.events())
    assert_result_clean(ok)
    assert_no_key(*server_outputs(running, log))

    # A server with another key: every event is refused (401) and dead-lettered with AEP's
    # message; the dead letter and checkpoint must still not hold the key.
    dead2, checkpoint2 = tmp_path / "dead2.ndjson", tmp_path / "run2.ckpt"
    with start_background_server(ServeConfig(signing_key=SigningKey("other-key"))) as wrong:
        refused = CliRunner().invoke(
            app,
            ["replay", str(source), "--url", wrong.inlet_url, "--dead-letter", str(dead2),
             "--checkpoint", str(checkpoint2), "--retries", "0", *args],
            env=env,
        )  # fmt: skip
    assert refused.exit_code == 1
    assert_result_clean(refused)
    assert dead2.read_text().count("\n") == 4
    for path in (dead, checkpoint, dead2, checkpoint2):
        assert_no_key(path.read_text(errors="replace"))


# --------------------------------------------------------------------------- serve, demo


def test_serve_verifies_and_logs_without_the_key(server: tuple[RunningServer, io.StringIO]) -> None:
    import httpx

    from cio_aep.signing import signed_headers

    running, log = server
    body = json.dumps(EventGenerator(seed=3).generate("email", "opened")).encode()
    good = httpx.post(
        running.inlet_url, content=body, headers=signed_headers(SigningKey(KEY), body)
    )
    bad = httpx.post(
        running.inlet_url, content=body, headers=signed_headers(SigningKey("nope"), body)
    )
    unsigned = httpx.post(
        running.inlet_url, content=body, headers={"content-type": "application/json"}
    )
    assert (good.status_code, bad.status_code, unsigned.status_code) == (200, 401, 401)
    assert_no_key(good.text, bad.text, unsigned.text, *server_outputs(running, log))
    assert_no_key(*(f"{k}: {v}" for r in (good, bad, unsigned) for k, v in r.headers.items()))


def test_demo_with_a_key_in_the_environment() -> None:
    from cio_aep.demo import DEMO_KEY

    result = CliRunner().invoke(app, ["demo", "--seed", "1"], env={"CIO_SIGNING_KEY": KEY})
    assert result.exit_code == 0, result.stderr
    assert_result_clean(result)
    assert DEMO_KEY.reveal().decode() not in result.stdout + result.stderr


# ------------------------------------------------------------- how the key may be given


@pytest.mark.parametrize("command", ["send-test-event", "replay", "serve"])
@pytest.mark.parametrize("form", ["separate", "equals"])
def test_no_option_takes_the_key_itself(command: str, form: str, tmp_path: Path) -> None:
    # A key on the command line is visible to every user in the process list.
    option = ["--signing-key", KEY] if form == "separate" else [f"--signing-key={KEY}"]
    args = {
        "send-test-event": ["send-test-event", "--dry-run", "--url",
                            f"http://127.0.0.1:9/collection/{INLET}?x-adobe-flow-id={FLOW}"],
        "replay": ["replay", str(events_file(tmp_path)), "--url",
                   f"http://127.0.0.1:9/collection/{INLET}?x-adobe-flow-id={FLOW}"],
        "serve": ["serve", "--port", "0"],
    }[command]  # fmt: skip
    result = CliRunner().invoke(app, [*args, *option])
    assert result.exit_code == 2
    assert "No such option" in result.stderr and "--signing-key" in result.stderr
    assert_result_clean(result)


@pytest.mark.parametrize(("mode", "warned"), [(0o644, True), (0o640, True), (0o600, False),
                                              (0o400, False)])  # fmt: skip
def test_key_file_readable_by_others_is_warned_about(
    key_file: Path, mode: int, warned: bool
) -> None:
    key_file.chmod(mode)
    url = f"http://127.0.0.1:9/collection/{INLET}?x-adobe-flow-id={FLOW}"
    result = CliRunner().invoke(
        app, ["send-test-event", "--url", url, "--dry-run", "--signing-key-file", str(key_file)]
    )
    assert result.exit_code == 0, result.stderr
    assert ("is readable by others (group or all)" in result.stderr) is warned
    if warned:
        assert "chmod 600" in result.stderr
    assert stat.S_IMODE(key_file.stat().st_mode) == mode  # we warn, we do not touch it
    assert_result_clean(result)


def test_key_file_errors_name_the_file_not_the_key(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:9/collection/{INLET}?x-adobe-flow-id={FLOW}"
    cases: list[tuple[Path, str]] = [(tmp_path, "directory"), (tmp_path / "none", "no such")]
    empty = tmp_path / "empty.key"
    empty.write_text("  \n")
    cases.append((empty, "empty"))
    for name, content, message in [
        ("binary.key", b"\xff\xfe\x00k", "not utf-8 text"),
        ("env.key", f"# webhook\nCIO_SIGNING_KEY={KEY}\n".encode(), "more than one line"),
        ("huge.key", b"k" * 70_000, "over 64 kib"),
        ("dotenv.key", f"CIO_SIGNING_KEY={KEY}\n".encode(), "name=value line"),
        ("export.key", f"export CIO_SIGNING_KEY={KEY}".encode(), "name=value line"),
    ]:
        (tmp_path / name).write_bytes(content)
        cases.append((tmp_path / name, message))
    for path, message in cases:
        result = CliRunner().invoke(
            app, ["send-test-event", "--url", url, "--dry-run", "--signing-key-file", str(path)],
            env={"CIO_SIGNING_KEY": KEY},
        )  # fmt: skip
        assert result.exit_code == 2
        assert message in result.stderr.lower() and str(path) in result.stderr
        assert_result_clean(result)


def test_key_file_with_bom_and_trailing_newline_signs_like_the_key(tmp_path: Path) -> None:
    # A Windows editor's UTF-8 file: the BOM and CRLF are not part of the key.
    path = tmp_path / "windows.key"
    path.write_bytes(b"\xef\xbb\xbf" + KEY.encode() + b"\r\n")
    url = f"http://127.0.0.1:9/collection/{INLET}?x-adobe-flow-id={FLOW}"
    result = CliRunner().invoke(
        app, ["send-test-event", "--url", url, "--dry-run", "--signing-key-file", str(path)], env={}
    )
    assert result.exit_code == 0, result.stderr
    head, _, body = result.stdout.partition("\n\n")
    headers = dict(line.split(": ", 1) for line in head.splitlines()[1:])
    assert verify_signature(
        KEY, headers["X-CIO-Timestamp"], body.strip().encode(), headers["X-CIO-Signature"]
    )


# ------------------------------------------------------------ --format github masks the key


def _github(command: str, path: Path, env: dict[str, str]) -> Result:
    return CliRunner().invoke(app, [command, str(path), "--format", "github"], env=env)


def _events_with_findings(tmp_path: Path) -> Path:
    path = tmp_path / "events.ndjson"
    path.write_text('{"object_type": "email", "metric": "sent"}\n')
    return path


def _mapping(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.json"
    entries = [{"sourceType": "ATTRIBUTE", "source": "metric", "destination": "_t.metric"}]
    path.write_text(json.dumps({"mappings": entries}))
    return path


@pytest.mark.parametrize(
    "command",
    [
        "validate-events",
        "validate-mapping",
    ],
)
def test_github_format_masks_the_key(command: str, tmp_path: Path) -> None:
    path = _events_with_findings(tmp_path) if command == "validate-events" else _mapping(tmp_path)
    result = _github(command, path, {"CIO_SIGNING_KEY": f"  {KEY}\n", "GITHUB_ACTIONS": "true"})
    assert result.exit_code == 1  # both inputs have findings
    assert result.stdout.splitlines()[0] == MASK_LINE  # first: hidden from then on
    assert result.stdout.count(KEY) == 1
    assert_result_clean(result)


@pytest.mark.parametrize("command", ["validate-events", "validate-mapping"])
def test_no_mask_off_a_runner_nor_into_a_file(command: str, tmp_path: Path) -> None:
    # The add-mask line is for the runner's log only: a terminal or a report file would just
    # hold the key.
    path = _events_with_findings(tmp_path) if command == "validate-events" else _mapping(tmp_path)
    local = _github(command, path, {"CIO_SIGNING_KEY": KEY})
    assert local.exit_code == 1 and KEY not in local.stdout
    report = tmp_path / "report.txt"
    to_file = CliRunner().invoke(
        app,
        [command, str(path), "--format", "github", "-o", str(report)],
        env={"CIO_SIGNING_KEY": KEY, "GITHUB_ACTIONS": "true"},
    )
    assert to_file.exit_code == 1
    assert KEY not in report.read_text() and KEY not in to_file.stdout + to_file.stderr


@pytest.mark.parametrize("command", ["validate-events", "validate-mapping"])
def test_no_mask_without_a_key_nor_in_other_formats(command: str, tmp_path: Path) -> None:
    path = _events_with_findings(tmp_path) if command == "validate-events" else _mapping(tmp_path)
    assert "::add-mask::" not in _github(command, path, {}).stdout
    for fmt in ("text", "json", "sarif", "junit"):
        result = CliRunner().invoke(
            app, [command, str(path), "--format", fmt], env={"CIO_SIGNING_KEY": KEY}
        )
        assert result.exit_code == 1, (fmt, result.stderr)
        assert KEY not in result.stdout + result.stderr
