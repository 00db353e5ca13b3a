"""Option values are coerced without pydantic (cli/common.py), with Typer's kind of errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from samples import UNREACHABLE_URL
from typer.testing import CliRunner

from cio_aep.cli.main import app

runner = CliRunner(env={"NO_COLOR": "1", "COLUMNS": "200"})
URL = UNREACHABLE_URL


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["generate-schema", "--seed", "abc"],
            "Invalid value for '--seed': 'abc' is not a whole number",
        ),
        (["generate-schema", "--seed", "1.5"], "'1.5' is not a whole number"),
        (["generate-schema", "-f", "xml"], "'xml' is not one of 'sample', 'json-schema'"),
        (["validate-events", "-f", "SARIF", "x"], "'SARIF' is not one of 'text', 'json'"),
        (
            ["send-test-event", "--count", "0"],
            "Invalid value for '--count' / '-n': 0 is below the minimum, 1",
        ),
        (["send-test-event", "--count", "1001"], "1001 is above the maximum, 1000"),
        (["send-test-event", "--timeout", "nan"], "'nan' is not a finite number"),
        (["send-test-event", "--timeout", "inf"], "'inf' is not a finite number"),
        (
            ["replay", "x", "--url", URL, "--rate", "-1"],
            "Invalid value for '--rate' / '-r': -1.0 is below the minimum, 0",
        ),
        (["serve", "--port", "http"], "Invalid value for '--port': 'http' is not a whole number"),
    ],
)
def test_bad_values_are_usage_errors(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.replace("│", " ").split()), result.stderr
    assert "Value error" not in result.stderr  # pydantic's wording, gone with pydantic


def test_good_values_are_typed() -> None:
    result = runner.invoke(
        app,
        [
            "generate-schema",
            "-f",
            "sample",
            "-e",
            "email:sent",
            "--seed",
            "7",
            "--timestamp",
            "1613063089",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["timestamp"] == 1613063089
    again = runner.invoke(
        app, ["generate-schema", "-e", "email:sent", "--seed", "7", "--timestamp", "1613063089"]
    )
    assert again.stdout == result.stdout  # the seed was an int, not the text "7"


def test_paths_and_choices(tmp_path: Path) -> None:
    out = tmp_path / "report.sarif"
    events = tmp_path / "events.ndjson"
    events.write_text('{"object_type": "email"}\n')
    result = runner.invoke(
        app, ["validate-events", str(events), "--format", "sarif", "--output", str(out)]
    )
    assert result.exit_code == 1
    assert json.loads(out.read_text())["version"] == "2.1.0"


def test_shared_ranged_option_is_checked() -> None:
    result = runner.invoke(app, ["send-test-event", "--dry-run", "--url", URL, "--retries", "-1"])
    assert result.exit_code == 2 and "below the minimum, 0" in " ".join(result.stderr.split())


def test_help_paragraphs_are_reflowed_and_examples_kept() -> None:
    from cio_aep.cli.common import reflow_help

    text = """Title line
    goes on.

    A paragraph written
    over three
    lines.

    Example:

        cio-aep x \\
          --flag
    """
    assert reflow_help(text) == (
        "Title line goes on.\n\nA paragraph written over three lines.\n\nExample:\n\n"
        "    cio-aep x \\\n      --flag"
    )


def test_help_paragraph_is_one_line_on_a_wide_terminal() -> None:
    # Typer keeps a docstring's line breaks; re-wrapped at 80 columns they left half-lines.
    wide = CliRunner(env={"NO_COLOR": "1", "COLUMNS": "400"})
    result = wide.invoke(app, ["send-test-event", "--help"])
    assert result.exit_code == 0
    (line,) = [x for x in result.stdout.splitlines() if "Each event is one POST" in x]
    assert "with a 4 s timeout like Customer.io's" in line and "other 4xx never are." in line


@pytest.mark.parametrize("command", ["validate-events", "validate-mapping"])
def test_output_over_an_input_is_refused_even_with_force(tmp_path: Path, command: str) -> None:
    path = tmp_path / "input.json"
    path.write_text('{"mappings": []}')
    result = runner.invoke(app, [command, str(path), "-o", str(path), "--force"])
    assert result.exit_code == 2
    assert "is also an input: the report would replace it" in result.stderr
    assert path.read_text() == '{"mappings": []}'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", "x.ndjson", "--url", URL, "--dead-letter", "-"], "--dead-letter needs a file"),
        (["replay", "x.ndjson", "--url", URL, "--checkpoint", "-"], "--checkpoint needs a file"),
        (["serve", "--store", "-"], "--store needs a file name"),
        (["serve", "--store", "."], "--store needs a file name"),
        (["send-test-event", "--dry-run", "--url", URL, "--signing-key-file", "-"], "(stdin)"),
    ],
)
def test_dash_where_no_stream_is_read_or_written(args: list[str], message: str) -> None:
    # '-' would have become a file named '-' (or "no such file"): say what the option needs.
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
