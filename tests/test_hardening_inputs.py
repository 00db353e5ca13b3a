"""Hostile input through the real CLI, for every command that reads a file (issue 6, part 1).

The only outcomes allowed: exit 0/1 with a result, or exit 2 with ONE clean `error:` line on
stderr; never a traceback, never an uncaught exception, never a hang. `replay` may also end
with exit 3 (nothing listens on its target) once a valid event gets as far as sending.
"""

from __future__ import annotations

import codecs
import json
import os
import resource
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from cio_aep.cli.main import app
from cio_aep.generator import EventGenerator

INLET = "ab" * 32
FLOW = "439b3fc4-3042-4a3a-b5e0-a494898d3fb0"
# Nothing listens on port 9 (discard) of loopback: valid input fails to connect, fast.
DEAD_URL = f"http://127.0.0.1:9/collection/{INLET}?x-adobe-flow-id={FLOW}"
SLOW = os.environ.get("CIO_AEP_SLOW_TESTS") == "1"

VALID_MAPPING = str(Path(__file__).parent.parent / "examples/mappings/valid-api-mapping-set.json")

COMMANDS: dict[str, Callable[[str], list[str]]] = {
    "validate-events": lambda path: ["validate-events", path],
    "validate-mapping": lambda path: ["validate-mapping", path],
    "xdm-schema": lambda path: ["validate-mapping", VALID_MAPPING, "--xdm-schema", path],
    "build-url": lambda path: ["build-url", "--from-flow", path],
    "send-test-event": lambda path: [
        "send-test-event",
        "--url",
        DEAD_URL,
        "--dry-run",
        "--file",
        path,
    ],
    "replay": lambda path: ["replay", path, "--url", DEAD_URL, "--retries", "0"],
}
ALLOWED_EXITS = {name: {0, 1, 2} for name in COMMANDS} | {"replay": {0, 1, 2, 3}}

FLOW_ANSWER = json.dumps(
    {
        "items": [
            {"id": FLOW, "options": {"inletUrl": f"https://dcs.adobedc.net/collection/{INLET}"}}
        ]
    }
).encode()
MAPPING = json.dumps(
    {
        "mappings": [
            {"sourceType": "ATTRIBUTE", "source": "data.identifiers.id", "destination": "_t.id"},
            {"sourceType": "ATTRIBUTE", "source": "metric", "destination": "_t.metric"},
        ]
    }
).encode()
EVENT = json.dumps(EventGenerator(seed=6, timestamp=1_700_000_000).generate("email", "sent"))

HOSTILE: dict[str, bytes] = {
    "invalid-utf8": b'{"object_type": "email", "metric": "sent\xff\xfe"}\n',
    "invalid-utf8-array": b'[{"a": "\xc3\x28"}]',
    "bom-utf8": codecs.BOM_UTF8 + EVENT.encode() + b"\n",
    "bom-utf16-le": codecs.BOM_UTF16_LE + (EVENT + "\n").encode("utf-16-le"),
    "bom-utf16-be": codecs.BOM_UTF16_BE + (EVENT + "\n").encode("utf-16-be"),
    "nul-bytes": b'{"object_type": "email",\x00 "metric": "sent"}\n',
    "nul-late": (EVENT + "\n").encode() * 2000 + b"\x00\n",
    "deep-array-open": b"[" * 10_000,
    "deep-array-closed": b"[" * 10_000 + b"]" * 10_000,
    "deep-object-line": b'{"a":' * 10_000 + b"1" + b"}" * 10_000 + b"\n",
    "deep-object-pretty": b'{\n"a":' * 10_000 + b"1" + b"}" * 10_000,
    "deep-in-array": b"[" + b'{"a":' * 10_000 + b"1" + b"}" * 10_000 + b"]",
    "number-1e400": EVENT.replace('"timestamp": 1700000000', '"timestamp": 1e400').encode(),
    "number-5000-digits": b'{"object_type": "email", "timestamp": ' + b"9" * 5000 + b"}\n",
    "number-5000-digits-array": b'[{"timestamp": ' + b"9" * 5000 + b"}]",
    "number-5000-digits-pretty": b'{\n"timestamp": ' + b"9" * 5000 + b"\n}",
    "number-5000-digits-bare": b"9" * 5000 + b"\n",
    "duplicate-keys": b'{"object_type": "email", "object_type": "sms", "metric": "sent"}\n',
    "empty": b"",
    "blank": b" \n\t\n",
    "nan-infinity": b'{"timestamp": NaN, "x": -Infinity}\n',
    "flow-deep": b'{"items": ' + b"[" * 10_000,
    "mapping-deep": b'{"mappings": ' + b'{"a":' * 10_000,
    "yaml-deep": b"mappings: " + b"[" * 10_000 + b"\n",
    "yaml-alias-bomb": b"".join(
        [b'a: &a ["x","x","x","x","x","x","x","x","x"]\n']
        + [
            f"{n}: &{n} [{','.join(['*' + p] * 9)}]\n".encode()
            for p, n in zip("abcdefg", "bcdefgh", strict=True)
        ]
    ),
    "csv-huge-field": b"source,destination\n" + b"a" * 200_000 + b",b\n",
    "csv-nul": b"source,destination\ndata.x\x00,y\n",
}


def assert_clean(result: Result, command: str) -> None:
    """Exit 0/1 (or replay's 3) with a result, or 2 with one `error:` line; no traceback."""
    everything = result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{command} raised {result.exception!r}"
    )
    assert "Traceback" not in everything
    assert result.exit_code in ALLOWED_EXITS[command], (result.exit_code, result.stderr[-500:])
    if result.exit_code == 2:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if not line.startswith("warning: ")]
        assert len(errors) == 1, result.stderr
        assert errors[0].startswith("error: "), result.stderr


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CIO_SIGNING_KEY", "CIO_AEP_URL", "CIO_AEP_ENDPOINT", "CIO_AEP_DATAFLOW_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_file(runner: CliRunner, tmp_path: Path, command: str, case: str) -> None:
    path = tmp_path / f"{case}.json"
    path.write_bytes(HOSTILE[case])
    result = runner.invoke(app, COMMANDS[command](str(path)))
    assert_clean(result, command)


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("case", ["invalid-utf8", "nul-bytes", "deep-array-closed", "empty"])
def test_hostile_stdin(runner: CliRunner, command: str, case: str) -> None:
    result = runner.invoke(app, COMMANDS[command]("-"), input=HOSTILE[case])
    assert_clean(result, command)


@pytest.mark.parametrize("command", ["validate-events", "send-test-event", "replay"])
@pytest.mark.parametrize("case", ["deep-object-line", "number-5000-digits", "invalid-utf8"])
def test_undecodable_records_are_named_not_crashed(
    runner: CliRunner, tmp_path: Path, command: str, case: str
) -> None:
    # The reader turns json's RecursionError / int-digit ValueError into a record error.
    path = tmp_path / "events.ndjson"
    path.write_bytes(HOSTILE[case])
    result = runner.invoke(
        app,
        [
            *COMMANDS[command](str(path)),
            *(["--format", "json"] if command == "validate-events" else []),
        ],
    )
    assert_clean(result, command)
    assert result.exit_code in (1, 2)
    shown = result.stdout + result.stderr
    assert any(w in shown for w in ("nested too deeply", "too long to read", "invalid UTF-8"))


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("kind", ["directory", "symlink-to-directory", "missing", "dangling"])
def test_not_a_file(runner: CliRunner, tmp_path: Path, command: str, kind: str) -> None:
    target = {
        "directory": tmp_path,
        "symlink-to-directory": tmp_path / "link",
        "missing": tmp_path / "missing.json",
        "dangling": tmp_path / "dangling",
    }[kind]
    if kind == "symlink-to-directory":
        target.symlink_to(tmp_path, target_is_directory=True)
    if kind == "dangling":
        target.symlink_to(tmp_path / "nowhere")
    result = runner.invoke(app, COMMANDS[command](str(target)))
    assert_clean(result, command)
    assert result.exit_code == 2
    assert str(target) in result.stdout + result.stderr


# `/dev/zero` never ends: every reader needs a size or binary cap. validate-mapping reads the
# whole file (no cap yet: its owner is told), so it runs in a subprocess with a memory limit.
@pytest.mark.parametrize("command", ["validate-events", "build-url", "send-test-event", "replay"])
def test_dev_zero_is_refused(runner: CliRunner, command: str) -> None:
    result = runner.invoke(app, COMMANDS[command]("/dev/zero"))
    assert_clean(result, command)
    assert result.exit_code == 2
    assert any(w in result.stdout + result.stderr for w in ("binary", "larger than", "NUL"))


def _limited_memory() -> None:
    limit = 1536 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_dev_zero_validate_mapping_is_refused() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cio_aep", "validate-mapping", "/dev/zero"],
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=_limited_memory,
    )
    assert proc.returncode == 2, proc.stderr[-300:]
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def _write_fifo(path: Path, data: bytes) -> threading.Thread:
    os.mkfifo(path)

    def writer() -> None:
        with open(path, "wb") as fifo:  # blocks until the command opens it
            fifo.write(data)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("command", ["validate-events", "send-test-event"])
def test_fifo_is_read_like_a_file(runner: CliRunner, tmp_path: Path, command: str) -> None:
    # e.g. `cio-aep validate-events <(zcat events.ndjson.gz)`
    fifo = tmp_path / "events.fifo"
    thread = _write_fifo(fifo, (EVENT + "\n").encode() * 3)
    result = runner.invoke(app, COMMANDS[command](str(fifo)))
    thread.join(timeout=5)
    assert_clean(result, command)
    assert result.exit_code == 0, result.stderr
    if command == "send-test-event":
        assert result.stdout.count("POST ") == 3


def test_fifo_flow_answer(runner: CliRunner, tmp_path: Path) -> None:
    fifo = tmp_path / "flow.fifo"
    thread = _write_fifo(fifo, FLOW_ANSWER)
    result = runner.invoke(app, COMMANDS["build-url"](str(fifo)))
    thread.join(timeout=5)
    assert_clean(result, "build-url")
    assert result.exit_code == 0
    assert result.stdout.startswith("https://")


# ------------------------------------------------------------------ a 100 MB single line


@pytest.fixture(scope="module")
def hundred_mb_line(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "one-line.ndjson"
    chunk = b"a" * (1 << 20)
    with open(path, "wb") as out:
        out.write(b'{"object_type": "email", "metric": "sent", "pad": "')
        for _ in range(100):
            out.write(chunk)
        out.write(b'"}\n')
    return path


@pytest.mark.parametrize("command", ["validate-events", "build-url", "send-test-event", "replay"])
def test_hundred_mb_line_is_refused_quickly(
    runner: CliRunner, hundred_mb_line: Path, command: str
) -> None:
    # These stop at their cap (8 MiB per record, 4 MB per flow answer), so this stays fast.
    result = runner.invoke(app, COMMANDS[command](str(hundred_mb_line)))
    assert_clean(result, command)
    assert result.exit_code == 2
    assert any(w in result.stdout + result.stderr for w in ("longer than", "larger than"))


@pytest.mark.skipif(not SLOW, reason="reads 100 MB whole; set CIO_AEP_SLOW_TESTS=1")
def test_hundred_mb_line_validate_mapping(runner: CliRunner, hundred_mb_line: Path) -> None:
    result = runner.invoke(app, COMMANDS["validate-mapping"](str(hundred_mb_line)))
    assert_clean(result, "validate-mapping")
    assert result.exit_code == 2


# ------------------------------------------------------------------------- property tests

_PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    for op, at, piece in edits:
        at %= len(data) + 1
        if op == 0:
            data = data[:at] + piece + data[at:]
        elif op == 1:
            data = data[:at] + data[at + len(piece) :]
        else:
            data = data[:at] + piece + data[at + len(piece) :]
    return data


SEEDS = [
    (EVENT + "\n").encode() * 2,
    f"[{EVENT}, {EVENT}]".encode(),
    json.dumps(EventGenerator(seed=2).generate("email", "sent"), indent=2).encode(),
    FLOW_ANSWER,
    MAPPING,
    b"source,destination\ndata.identifiers.id,_t.id\nmetric,_t.metric\n",
    b"mappings:\n  data.identifiers.id: _t.id\n  metric: _t.metric\n",
]

hostile_bytes = st.one_of(
    st.binary(max_size=400),
    st.builds(
        _mutate,
        st.sampled_from(SEEDS),
        st.lists(
            st.tuples(
                st.integers(0, 2),
                st.integers(0, 5000),
                st.sampled_from(
                    [
                        b"\x00",
                        b"\xff",
                        b"\xef\xbb\xbf",
                        b"[",
                        b"{",
                        b"}",
                        b"]",
                        b'"',
                        b",",
                        b"\n",
                        b"1e400",
                        b"9" * 5000,
                        b"[" * 3000,
                        b": &a [*a]",
                        b"\r\n",
                        b"\\u0000",
                        b"\xed\xa0\x80",
                    ]
                ),
            ),
            max_size=6,
        ),
    ),
)


@pytest.mark.parametrize("command", list(COMMANDS))
@_PROPERTY
@given(data=hostile_bytes)
def test_random_and_mutated_bytes(
    runner: CliRunner, tmp_path: Path, command: str, data: bytes
) -> None:
    path = tmp_path / "input"
    path.write_bytes(data)
    assert_clean(runner.invoke(app, COMMANDS[command](str(path))), command)


# Found by a long hypothesis run: PyYAML parses these, then raises ValueError building them.
UNBUILDABLE_YAML = {
    "bare-number-5000-digits": (b"9" * 5000 + b"\n", "1:1", "a number too long to read"),
    "number-5000-digits": (
        b"mappings:\n  data.x: " + b"9" * 5000 + b"\n",
        "2:11",
        "a number too long to read",
    ),
    "impossible-date": (b"mappings:\n  data.x: 2024-13-45\n", "2:11", "month must be in 1..12"),
    "impossible-date-in-list": (
        b"- source: 2024-02-31\n  destination: _t.id\n",
        "1:3",
        "day is out of range",
    ),
}


@pytest.mark.parametrize("suffix", [".yaml", ""])
@pytest.mark.parametrize("case", list(UNBUILDABLE_YAML))
def test_yaml_value_that_cannot_be_built(
    runner: CliRunner, tmp_path: Path, case: str, suffix: str
) -> None:
    data, place, reason = UNBUILDABLE_YAML[case]
    path = tmp_path / f"mapping{suffix}"
    path.write_bytes(data)
    result = runner.invoke(app, COMMANDS["validate-mapping"](str(path)))
    assert_clean(result, "validate-mapping")
    assert result.exit_code == 2
    assert f"{path}:{place}: invalid YAML: a value cannot be read: {reason}" in result.stderr


@pytest.mark.parametrize("data", [b"\x01", b"mappings:\n  data.x\x05: _t.id\n"])
def test_yaml_reader_error_is_one_line(runner: CliRunner, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_bytes(data)
    result = runner.invoke(app, COMMANDS["validate-mapping"](str(path)))
    assert_clean(result, "validate-mapping")
    assert result.exit_code == 2


# ------------------------------------------------------------- URL and ID arguments

url_like = st.one_of(
    st.text(max_size=120),
    st.builds(
        lambda scheme, host, path, extra: f"{scheme}{host}{path}{extra}",
        st.sampled_from(["https://", "http://", "", "ftp://", "https://user:pw@", " "]),
        st.sampled_from(
            [
                "dcs.adobedc.net",
                "127.0.0.1:8080",
                "[::1]",
                "xn--e1a.adobedc.net",
                "dcs.adobedc.net.evil.com",
                "",
                "%00",
                "dcs.adobedc\u202e.net",
            ]
        ),
        st.sampled_from(
            [
                f"/collection/{INLET}",
                "/collection/batch/x",
                "",
                "/",
                "/collection/",
                f"/collection/{INLET}?syncValidation=true",
                "/../../etc/passwd",
            ]
        ),
        st.text(max_size=30),
    ),
)
id_like = st.one_of(
    st.text(max_size=60),
    st.uuids().map(str),
    st.uuids().map(lambda u: "{" + str(u).upper() + "}"),
    st.builds(lambda u, junk: str(u) + junk, st.uuids(), st.text(max_size=5)),
)


@_PROPERTY
@given(endpoint=url_like, dataflow_id=id_like)
def test_build_url_arguments(runner: CliRunner, endpoint: str, dataflow_id: str) -> None:
    result = runner.invoke(app, ["build-url", "--endpoint", endpoint, "--dataflow-id", dataflow_id])
    assert_clean(result, "build-url")
    assert result.exit_code in (0, 2)
    if result.exit_code == 0:
        url = result.stdout.strip()
        assert url.isascii() and url.isprintable() and " " not in url
        assert url.count("?") == 1
        assert "syncvalidation" not in url.lower()


@_PROPERTY
@given(url=url_like)
def test_send_test_event_url_argument(runner: CliRunner, url: str) -> None:
    result = runner.invoke(app, ["send-test-event", "--url", url, "--dry-run"])
    assert_clean(result, "send-test-event")
    assert result.exit_code in (0, 2)


# ------------------------------------------------------------- numbers over Python's digit limit

LONG = b"9" * 5000


@pytest.mark.parametrize(
    ("args", "content", "place"),
    [
        (["validate-mapping"], b'{"mappings": [], "version": ' + LONG + b"}", "1:29"),
        (["build-url", "--from-flow"], b'{\n  "items": ' + LONG + b"\n}", "2:12"),
        (
            ["validate-mapping", VALID_MAPPING, "--xdm-schema"],
            b'{"type": "object", "maxLength": ' + LONG + b"}",
            "1:33",
        ),
    ],
)
def test_long_number_named_with_its_place(
    runner: CliRunner, tmp_path: Path, args: list[str], content: bytes, place: str
) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(content)
    result = runner.invoke(app, [*args, str(path)])
    assert result.exit_code == 2, result.stderr
    assert f"{path}:{place}: " in result.stderr
    assert "a number too long to read (thousands of digits)" in result.stderr
    assert "set_int_max_str_digits" not in result.stderr  # Python's advice means nothing here
