"""`serve --flow-id` / `--inlet-id`: checked and canonicalised like `build-url` does them, so the
webhook URL serve prints is one the tool itself accepts, and the tool's own senders (which send
the canonical, lower-case dataflow ID) get through."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cio_aep.cli.main import app as cli_app
from cio_aep.errors import UsageError
from cio_aep.local_endpoint import ServeConfig, start_background_server
from cio_aep.webhook_url import build_webhook_url, parse_webhook_url

UPPER = "439B3FC4-3042-4A3A-B5E0-A494898D3FB0"
LOWER = UPPER.lower()
OTHER = "11111111-2222-4333-8444-555555555555"
INLET = "ab" * 32


def event(event_id: str = "ID1") -> dict[str, Any]:
    return {
        "event_id": event_id,
        "object_type": "customer",
        "metric": "subscribed",
        "timestamp": 1700000000,
        "data": {"identifiers": {"id": "42"}},
    }


class _NoRun:
    """Stands in for the uvicorn server: `serve` binds, prints its URLs, then stops at once."""

    started = True
    should_exit = False

    def run(self, sockets: object = None) -> None:
        return None


@pytest.fixture
def no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "cio_aep.local_endpoint.server._uvicorn_server", lambda app, config: _NoRun()
    )


@pytest.fixture
def must_not_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("serve started listening")

    monkeypatch.setattr("cio_aep.local_endpoint.server.serve_forever", refuse)


def printed_webhook_url(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("webhook URL: ")]
    assert len(lines) == 1, stderr
    return lines[0].removeprefix("webhook URL: ")


# --- 1. the configured flow id is canonical; requests compare case-insensitively --------------


@pytest.mark.usefixtures("no_run")
@pytest.mark.parametrize("given", [UPPER, LOWER, "{" + UPPER + "}", " " + UPPER.replace("-", "")])
def test_cli_prints_the_canonical_flow_id(given: str) -> None:
    result = CliRunner().invoke(cli_app, ["serve", "--port", "0", "--quiet", "--flow-id", given])
    assert result.exit_code == 0, result.output
    url = printed_webhook_url(result.stderr)
    assert url.endswith(f"?x-adobe-flow-id={LOWER}")
    assert parse_webhook_url(url).dataflow_id == LOWER  # the tool accepts what serve prints
    assert "warning" not in result.stderr


@pytest.mark.parametrize("configured", [UPPER, LOWER, "{" + UPPER + "}"])
def test_flow_id_of_requests_matches_in_any_case_and_with_braces(configured: str) -> None:
    with start_background_server(ServeConfig(flow_id=configured)) as server:
        assert server.flow_id == LOWER
        assert server.inlet_url.endswith(f"?x-adobe-flow-id={LOWER}")
        endpoint = server.endpoint
        # what send-test-event / replay send: build-url's canonical (lower-case) URL
        sent = build_webhook_url(endpoint, UPPER).url
        answers = [httpx.post(sent, json=event("A"))]
        for flow in (UPPER, LOWER, "{" + UPPER + "}", "{" + LOWER + "}"):
            answers.append(httpx.post(endpoint, params={"x-adobe-flow-id": flow}, json=event()))
            answers.append(httpx.post(endpoint, headers={"x-adobe-flow-id": flow}, json=event()))
        other = httpx.post(endpoint, params={"x-adobe-flow-id": OTHER}, json=event("B"))
        other_braced = httpx.post(endpoint, headers={"x-adobe-flow-id": "{" + OTHER + "}"})
        count = server.store.count()
    assert [a.status_code for a in answers] == [200] * len(answers), [a.text for a in answers]
    assert other.status_code == 400
    assert "unknown dataflow id" in other.text
    assert other_braced.status_code == 400
    assert count == 2  # "A" and "ID1" (its duplicates counted, not added)


def test_send_test_event_reaches_a_serve_given_an_upper_case_flow_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("CIO_AEP_URL", "CIO_AEP_ENDPOINT", "CIO_AEP_DATAFLOW_ID", "CIO_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    with start_background_server(ServeConfig(flow_id=UPPER)) as server:
        result = CliRunner().invoke(
            cli_app,
            ["send-test-event", "--endpoint", server.endpoint, "--dataflow-id", UPPER],
        )
        accepted = server.store.count()
    assert result.exit_code == 0, result.output
    assert "unknown dataflow id" not in result.output
    assert accepted == 1


# --- 2. ids that cannot make a valid webhook URL are usage errors -------------------------------


_BAD_IDS = [
    ("--flow-id", "zzz", "the dataflow ID 'zzz' is not a UUID"),
    ("--flow-id", "", "the dataflow ID is empty"),
    ("--flow-id", INLET, "is not a UUID"),
    ("--flow-id", LOWER + "0", "is not a UUID"),
    ("--flow-id", "439b3fc4 3042-4a3a-b5e0-a494898d3fb0", "a space"),
    ("--inlet-id", "a b/c?d", "the inlet id has U+0020 (SPACE) at character 2, a space"),
    ("--inlet-id", "a/b", "the inlet id 'a/b' holds characters an inlet id cannot hold"),
    ("--inlet-id", "a?b", "the inlet id 'a?b' holds characters an inlet id cannot hold"),
    ("--inlet-id", "a#b", "the inlet id 'a#b' holds characters an inlet id cannot hold"),
    ("--inlet-id", "a%20b", "the inlet id 'a%20b' holds characters an inlet id cannot hold"),
    ("--inlet-id", "a\x01b", "a control character"),
    ("--inlet-id", "a\x7fb", "a control character"),
    ("--inlet-id", "caf\u00e9", "not ASCII"),
    ("--inlet-id", "a\u202eb", "bidirectional"),
    ("--inlet-id", "", "the inlet id is empty"),
    ("--inlet-id", "  ", "the inlet id is empty"),
    ("--inlet-id", "..", "the inlet id '..' is a dot segment"),
    ("--inlet-id", ".", "the inlet id '.' is a dot segment"),
]


@pytest.mark.usefixtures("must_not_serve")
@pytest.mark.parametrize(("option", "value", "message"), _BAD_IDS)
def test_cli_refuses_ids_that_make_no_webhook_url(option: str, value: str, message: str) -> None:
    # A flow id that is not a UUID, an inlet id that is not one URL path segment.
    result = CliRunner().invoke(cli_app, ["serve", "--port", "0", option, value])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


@pytest.mark.usefixtures("no_run")
def test_cli_accepts_an_inlet_id_of_another_shape_with_a_warning() -> None:
    result = CliRunner().invoke(
        cli_app, ["serve", "--port", "0", "--quiet", "--inlet-id", "demo-inlet_1.x~"]
    )
    assert result.exit_code == 0, result.output
    assert "warning: inlet id 'demo-inlet_1.x~' is not 64 hex characters" in result.stderr
    url = printed_webhook_url(result.stderr)
    assert "/collection/demo-inlet_1.x~?x-adobe-flow-id=" in url
    assert parse_webhook_url(url).inlet_id == "demo-inlet_1.x~"


@pytest.mark.usefixtures("no_run")
def test_cli_accepts_a_64_hex_inlet_id_quietly() -> None:
    result = CliRunner().invoke(cli_app, ["serve", "--port", "0", "--quiet", "--inlet-id", INLET])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    assert f"/collection/{INLET}?x-adobe-flow-id=" in printed_webhook_url(result.stderr)


@pytest.mark.parametrize(
    "config",
    [{"flow_id": "zzz"}, {"flow_id": ""}, {"inlet_id": "a b"}, {"inlet_id": "a/b"}],
)
def test_the_library_refuses_them_too(config: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        start_background_server(ServeConfig(**config))


def test_a_served_inlet_with_dots_and_tildes_answers() -> None:
    inlet = "my.inlet~1"
    with start_background_server(ServeConfig(inlet_id=inlet, flow_id=UPPER)) as server:
        response = httpx.post(server.inlet_url, json=event())
        other = httpx.post(server.inlet_url.replace(inlet, "my.inlet~2"), json=event())
    assert response.status_code == 200, response.text
    assert response.json()["inletId"] == inlet
    assert other.status_code == 404
