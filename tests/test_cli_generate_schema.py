"""`cio-aep generate-schema` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from samples import ADOBE_TEXT
from typer.testing import CliRunner

from cio_aep.catalog import CATALOG
from cio_aep.cli.main import app

runner = CliRunner()


def test_default_is_adobes_sample_exactly() -> None:
    result = runner.invoke(app, ["generate-schema"])
    assert result.exit_code == 0
    assert result.stdout == ADOBE_TEXT
    assert result.stderr == ""


def test_default_matches_the_reference_file_when_present() -> None:
    ref = Path(__file__).parents[2] / "shared/reference/aep/customerio_sample_source_schema.json"
    if ref.exists():
        assert runner.invoke(app, ["generate-schema"]).stdout == ref.read_text()


def test_test_mode_and_id_only() -> None:
    out = json.loads(runner.invoke(app, ["generate-schema", "--test-mode"]).stdout)
    assert out["data"]["identifiers"] == {"id": "42", "email": "test@example.com"}
    out = json.loads(runner.invoke(app, ["generate-schema", "--id-only"]).stdout)
    assert out["data"]["identifiers"] == {"id": "42"}


def test_one_event() -> None:
    result = runner.invoke(app, ["generate-schema", "--event", "customer:unsubscribed"])
    event = json.loads(result.stdout)
    assert (event["object_type"], event["metric"]) == ("customer", "unsubscribed")


def test_all_events_superset_holds_every_source_path() -> None:
    result = runner.invoke(app, ["generate-schema", "--all-events", "--seed", "1"])
    assert result.exit_code == 0
    sample = json.loads(result.stdout)
    paths: set[str] = set()

    def walk(value: object, prefix: str) -> None:
        paths.add(prefix)
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{prefix}.{k}" if prefix else k)
        elif isinstance(value, list) and value:
            walk(value[0], f"{prefix}[*]")

    walk(sample, "")
    missing = set(CATALOG.source_fields()) - paths
    assert not missing


def test_seed_and_timestamp_reproduce() -> None:
    args = ["generate-schema", "--all-events", "--seed", "9", "--timestamp", "1613063089"]
    assert runner.invoke(app, args).stdout == runner.invoke(app, args).stdout


def test_json_schema_validates_generated_events() -> None:
    import jsonschema

    from cio_aep.generator import EventGenerator

    result = runner.invoke(app, ["generate-schema", "--all-events", "--format", "json-schema"])
    schema = json.loads(result.stdout)
    assert schema["$schema"].endswith("2020-12/schema")
    validator = jsonschema.Draft202012Validator(schema)
    for event in EventGenerator(seed=5).generate_all():
        assert not list(validator.iter_errors(event)), event
    assert list(validator.iter_errors({"object_type": "email"}))


def test_unknown_event_exit_2_names_choices() -> None:
    result = runner.invoke(app, ["generate-schema", "--event", "email:sentt"])
    assert result.exit_code == 2
    assert "delivered" in result.stderr and result.stdout == ""
    assert "Traceback" not in result.stderr


def test_output_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    assert runner.invoke(app, ["generate-schema", "-o", str(out)]).exit_code == 0
    assert json.loads(out.read_text())["event_id"] == "01E4C4CT6YDC7Y5M7FE1GWWPQJ"
    again = runner.invoke(app, ["generate-schema", "-o", str(out), "--all-events"])
    assert again.exit_code == 2 and "--force" in again.stderr
    forced = runner.invoke(app, ["generate-schema", "-o", str(out), "--all-events", "--force"])
    assert forced.exit_code == 0 and len(out.read_text()) > len(ADOBE_TEXT)


def test_help_has_an_example() -> None:
    result = runner.invoke(app, ["generate-schema", "--help"])
    assert result.exit_code == 0 and "cio-aep generate-schema --all-events" in result.stdout


@pytest.mark.parametrize(
    ("timestamp", "hint"),
    [
        ("-5", "Unix seconds"),
        ("99999999999999999999", "Unix seconds"),
        ("1700000000000", "looks like milliseconds; Customer.io sends seconds: 1700000000"),
    ],
)
def test_timestamp_out_of_ulid_range_is_a_usage_error(timestamp: str, hint: str) -> None:
    # It used to end in a traceback from the ULID encoder.
    result = runner.invoke(
        app, ["generate-schema", "--event", "email:sent", "--timestamp", timestamp]
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: timestamp {timestamp} is out of range")
    assert hint in result.stderr and result.stderr.count("\n") == 1


def test_largest_timestamp_still_makes_a_valid_ulid() -> None:
    result = runner.invoke(
        app, ["generate-schema", "--event", "email:sent", "--timestamp", "281474976708"]
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["event_id"].startswith("7ZZZZZZ")


def test_seed_and_timestamp_without_an_event_are_pointed_out() -> None:
    result = runner.invoke(app, ["generate-schema", "--timestamp", "1700000000"])
    assert result.exit_code == 0
    assert result.stdout == ADOBE_TEXT
    assert "warning: --seed and --timestamp change nothing here" in result.stderr
