"""`cio-aep build-url` through the real CLI: stdout is the URL alone; errors: one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cio_aep.cli.main import app

FLOWS = Path(__file__).parent / "data" / "flows"

INLET = "febc116d22ba0ea2868e9c93b199375302afb8a589617700991bb8f3f0341ad7"
ENDPOINT = f"https://dcs.adobedc.net/collection/{INLET}"
FLOW = "439b3fc4-3042-4a3a-b5e0-a494898d3fb0"
URL = f"{ENDPOINT}?x-adobe-flow-id={FLOW}"

FIXTURE_INLET = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
FIXTURE_ENDPOINT = f"https://dcs.adobedc.net/collection/{FIXTURE_INLET}"
FIXTURE_FLOW = "7d2f0c4e-91b3-4c5a-8e6f-2a1b3c4d5e6f"
FIXTURE_URL = f"{FIXTURE_ENDPOINT}?x-adobe-flow-id={FIXTURE_FLOW}"

runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CIO_AEP_ENDPOINT", "CIO_AEP_DATAFLOW_ID", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)


def invoke(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> Result:
    return runner.invoke(app, ["build-url", *args], env=env, input=stdin)


GOOD = [
    pytest.param(["--endpoint", ENDPOINT, "--dataflow-id", FLOW], URL, id="plain"),
    pytest.param(["-e", f' "{ENDPOINT}/" ', "-d", "{" + FLOW.upper() + "}"], URL, id="pasted"),
    pytest.param(["--endpoint", URL, "--dataflow-id", FLOW], URL, id="same id in endpoint"),
    pytest.param(["--endpoint", URL], URL, id="whole URL, no dataflow id"),
    pytest.param(
        [
            "--endpoint",
            f"https://aep-proxy.example.com/collection/{INLET}",
            "-d",
            FLOW,
            "--allow-host",
            "other.example.com",
            "--allow-host",
            "aep-proxy.example.com",
        ],
        f"https://aep-proxy.example.com/collection/{INLET}?x-adobe-flow-id={FLOW}",
        id="allowed proxy",
    ),
]


@pytest.mark.parametrize(("args", "expected"), GOOD)
def test_prints_the_url_alone(args: list[str], expected: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected + "\n"
    assert result.stderr == ""


BAD = [
    pytest.param(["--endpoint", ENDPOINT.replace("https", "http"), "-d", FLOW], "https://"),
    pytest.param(["--endpoint", f"{ENDPOINT}?syncValidation=true", "-d", FLOW], "an hour"),
    pytest.param(["--endpoint", ENDPOINT.replace("n/", "n/batch/"), "-d", FLOW], "batch"),
    pytest.param(
        ["--endpoint", f"https://proxy.example.com/collection/{INLET}", "-d", FLOW],
        "--allow-host proxy.example.com",
    ),
    pytest.param(["--endpoint", ENDPOINT, "-d", "439b3fc4"], "not a UUID"),
    pytest.param(["--endpoint", f"{ENDPOINT[:20]}\u202e{ENDPOINT[20:]}", "-d", FLOW], "U+202E"),
    pytest.param(
        ["--endpoint", f"{URL}&x-adobe-flow-id=4982698b-e6b3-48c2-8dcf-040e20121fd2", "-d", FLOW],
        "two different",
    ),
    pytest.param(["--endpoint", f"{ENDPOINT}#x", "-d", FLOW], "fragment"),
    pytest.param(
        ["--endpoint", "https://u:p@dcs.adobedc.net/collection/x", "-d", FLOW], "credentials"
    ),
    pytest.param(["-d", FLOW], "--endpoint URL (or set CIO_AEP_ENDPOINT"),
    pytest.param(["--endpoint", ENDPOINT], "--dataflow-id ID (or set CIO_AEP_DATAFLOW_ID"),
    pytest.param(["--endpoint", "  ", "-d", FLOW], "--endpoint URL"),
]


@pytest.mark.parametrize(("args", "words"), BAD)
def test_refusals_exit_2_with_one_line(args: list[str], words: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1
    assert words in result.stderr
    assert "Traceback" not in result.stderr


def test_warnings_go_to_stderr() -> None:
    result = invoke("--endpoint", "http://127.0.0.1:8080/collection/local", "-d", FLOW)
    assert result.exit_code == 0
    assert result.stdout == f"http://127.0.0.1:8080/collection/local?x-adobe-flow-id={FLOW}\n"
    assert result.stderr.startswith("warning: inlet id 'local' is not 64 hex")


def test_json() -> None:
    result = invoke(
        "--endpoint",
        f"https://dcs-int.adobedc.net/collection/{INLET}/",
        "--dataflow-id",
        FLOW.upper(),
        "--json",
    )
    assert result.exit_code == 0
    parts = json.loads(result.stdout)
    assert parts == {
        "endpoint": f"https://dcs-int.adobedc.net/collection/{INLET}",
        "host": "dcs-int.adobedc.net",
        "port": None,
        "inlet_id": INLET,
        "dataflow_id": FLOW,
        "url": f"https://dcs-int.adobedc.net/collection/{INLET}?x-adobe-flow-id={FLOW}",
        "warnings": [parts["warnings"][0]],
    }
    assert "dcs.adobedc.net" in parts["warnings"][0]
    assert result.stderr.startswith("warning: host dcs-int.adobedc.net")


def test_environment() -> None:
    env = {"CIO_AEP_ENDPOINT": ENDPOINT, "CIO_AEP_DATAFLOW_ID": FLOW}
    result = invoke(env=env)
    assert result.exit_code == 0 and result.stdout == URL + "\n"


def test_flag_wins_over_environment() -> None:
    env = {"CIO_AEP_ENDPOINT": "http://wrong.example/x", "CIO_AEP_DATAFLOW_ID": "nope"}
    result = invoke("--endpoint", ENDPOINT, "--dataflow-id", FLOW, env=env)
    assert result.exit_code == 0 and result.stdout == URL + "\n"
    # One from each.
    result = invoke("--dataflow-id", FLOW, env={"CIO_AEP_ENDPOINT": ENDPOINT})
    assert result.exit_code == 0 and result.stdout == URL + "\n"


def test_bad_environment_value_is_refused() -> None:
    result = invoke(env={"CIO_AEP_ENDPOINT": ENDPOINT, "CIO_AEP_DATAFLOW_ID": "{DATAFLOW_ID}"})
    assert result.exit_code == 2 and "not a UUID" in result.stderr and result.stdout == ""


def test_from_flow_file() -> None:
    result = invoke("--from-flow", str(FLOWS / "streaming_flow.json"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == FIXTURE_URL + "\n"
    assert result.stderr == ""


def test_from_flow_stdin() -> None:
    data = (FLOWS / "streaming_flow.json").read_bytes()
    result = invoke("--from-flow", "-", "--json", stdin=data)
    assert result.exit_code == 0, result.stderr
    parts = json.loads(result.stdout)
    assert parts["url"] == FIXTURE_URL and parts["inlet_id"] == FIXTURE_INLET


def test_flags_win_over_from_flow_and_from_flow_over_env() -> None:
    flow_file = str(FLOWS / "streaming_flow.json")
    result = invoke("--from-flow", flow_file, "--dataflow-id", FLOW)
    assert result.stdout == f"{FIXTURE_ENDPOINT}?x-adobe-flow-id={FLOW}\n"
    result = invoke("--from-flow", flow_file, "--endpoint", ENDPOINT)
    assert result.stdout == f"{ENDPOINT}?x-adobe-flow-id={FIXTURE_FLOW}\n"
    env = {"CIO_AEP_ENDPOINT": ENDPOINT, "CIO_AEP_DATAFLOW_ID": FLOW}
    result = invoke("--from-flow", flow_file, env=env)
    assert result.stdout == FIXTURE_URL + "\n"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("batch_flow_no_inlet.json", "items[0].options.inletUrl"),
        ("missing_id.json", "items[0].id"),
        ("truncated.json", "truncated.json:3:"),
        ("no_such_flow.json", "no such file"),
    ],
)
def test_from_flow_errors(name: str, words: str) -> None:
    path = str(FLOWS / name)
    result = invoke("--from-flow", path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {path}")
    assert words in result.stderr
    assert result.stderr.count("\n") == 1


def test_from_flow_stdin_not_json() -> None:
    result = invoke("--from-flow", "-", stdin=b"<html>502 Bad Gateway</html>")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: <stdin>:1:1: not JSON")


def test_help_has_examples() -> None:
    result = runner.invoke(app, ["build-url", "--help"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0
    for word in ("Example", "--from-flow", "--allow-host", "CIO_AEP_ENDPOINT", "--json"):
        assert word in result.stdout
