"""`cio-aep events` and `cio-aep validate-events` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cio_aep.cli.main import app
from cio_aep.generator import EventGenerator, compact_json

runner = CliRunner()


def test_events_json_lists_the_catalog() -> None:
    result = runner.invoke(app, ["events", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    by_key = {r["key"]: r for r in rows}
    assert by_key["whatsapp:sent"]["aep_supported"] is False
    assert by_key["email:clicked"]["aep_supported"] is True
    assert {"name": "link_id", "types": ["integer"], "required": True} in by_key[
        "email:clicked"]["fields"]  # fmt: skip


def test_events_table_and_filter() -> None:
    result = runner.invoke(app, ["events", "--object-type", "slack"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0 and "slack" in result.stdout and "email" not in result.stdout
    assert "\x1b[" not in result.stdout
    bad = runner.invoke(app, ["events", "--object-type", "fax"])
    assert bad.exit_code == 2 and "customer" in bad.stderr


def events_file(tmp_path: Path, events: list[object], name: str = "e.ndjson") -> str:
    path = tmp_path / name
    path.write_bytes(b"\n".join(json.dumps(e).encode() for e in events) + b"\n")
    return str(path)


def test_valid_file_exit_0(tmp_path: Path) -> None:
    src = events_file(tmp_path, EventGenerator(seed=1).generate_all())
    result = runner.invoke(app, ["validate-events", src])
    assert result.exit_code == 0, result.stdout
    assert "0 errors" in result.stdout


def test_findings_exit_1_with_file_line_and_path(tmp_path: Path) -> None:
    events: list[object] = EventGenerator(seed=1).generate_all()[:3]
    bad = dict(EventGenerator(seed=2).generate("email", "sent"))
    bad["timestamp"] = str(bad["timestamp"])
    events.append(bad)
    src = events_file(tmp_path, events)
    result = runner.invoke(app, ["validate-events", src, "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["status"] == "failed"
    (finding,) = report["findings"]
    assert (finding["rule_id"], finding["line"], finding["path"]) == ("CIO-E006", 4, "$.timestamp")


def test_warnings_pass_unless_strict(tmp_path: Path) -> None:
    src = events_file(tmp_path, [EventGenerator(seed=1).generate("whatsapp", "sent")])
    assert runner.invoke(app, ["validate-events", src]).exit_code == 0
    assert runner.invoke(app, ["validate-events", src, "--strict"]).exit_code == 1


def test_stdin_and_array(tmp_path: Path) -> None:
    events = EventGenerator(seed=1).generate_all()[:5]
    result = runner.invoke(app, ["validate-events", "-"], input=json.dumps(events, indent=2))
    assert result.exit_code == 0 and "5 checks" in result.stdout


def test_github_format(tmp_path: Path) -> None:
    src = events_file(tmp_path, [{"object_type": "email"}])
    result = runner.invoke(app, ["validate-events", src, "--format", "github"])
    assert result.exit_code == 1
    assert f"::error file={src},line=1,title=CIO-E002" in result.stdout


def test_sarif_and_junit(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    good = EventGenerator(seed=1).generate("email", "sent")
    src = events_file(tmp_path, [good, {"object_type": "fax"}, good])
    sarif = json.loads(runner.invoke(app, ["validate-events", src, "-f", "sarif"]).stdout)
    assert sarif["version"] == "2.1.0"
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {"CIO-E002"}
    junit = runner.invoke(app, ["validate-events", src, "-f", "junit"]).stdout
    suite = ET.fromstring(junit).find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "3" and suite.get("failures") == "1"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\x00\x00\x00", "binary"),
        (b"[{", "invalid JSON"),
    ],
)
def test_unreadable_exit_2(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(data)
    result = runner.invoke(app, ["validate-events", str(path)])
    assert result.exit_code == 2
    assert message in result.stdout and "bad.json" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_malformed_line_exit_2_but_other_findings_kept(tmp_path: Path) -> None:
    path = tmp_path / "mixed.ndjson"
    path.write_bytes(b'{"object_type":"fax"}\nnot json\n')
    result = runner.invoke(app, ["validate-events", str(path)])
    assert result.exit_code == 2
    assert "mixed.ndjson:2:1: error CIO-E000" in result.stdout
    assert "mixed.ndjson:1: error CIO-E002" in result.stdout


def test_missing_file_and_directory(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate-events", str(tmp_path / "no.json"), str(tmp_path)])
    assert result.exit_code == 2
    assert "no such file" in result.stdout and "is a directory" in result.stdout


def test_invalid_utf8_line(tmp_path: Path) -> None:
    path = tmp_path / "u.ndjson"
    good = compact_json(EventGenerator(seed=1).generate("email", "sent"))
    path.write_bytes(good + b"\n\xff\xfe{}\n")
    result = runner.invoke(app, ["validate-events", str(path)])
    assert result.exit_code == 2 and "u.ndjson:2" in result.stdout and "UTF-8" in result.stdout
