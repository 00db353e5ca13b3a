"""`cio-aep validate-mapping` through the real CLI: formats, options, exit codes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cio_aep.cli.main import app

DATA = Path(__file__).resolve().parent / "data" / "mappings"
INVALID = DATA / "invalid" / "unknown-source.json"
VALID = DATA / "valid" / "api.json"


@pytest.fixture(autouse=True)
def _no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["validate-mapping", *args])
    return result.exit_code, result.stdout, result.stderr


def test_text_checklist_and_summary() -> None:
    code, stdout, stderr = run(str(VALID))
    assert code == 0 and stderr == ""
    assert stdout.splitlines()[0] == (
        "✓ object_type  by source: object_type → _acme.customerio.object_type (line 9)"
    )
    assert "✓ timestamp    by expression using timestamp → timestamp (line 18)" in stdout
    assert stdout.rstrip().endswith("0 errors, 0 warnings in 1 file (18 checks): ok")


def test_github_annotations() -> None:
    code, stdout, _ = run("--format", "github", str(INVALID))
    assert code == 1
    first = stdout.splitlines()[0]
    assert first.startswith(
        f"::error file={INVALID},line=4,col=43,title=CIO-M003 unknown-source-field::"
    )
    assert "%0Ahint: did you mean data.identifiers.id?" in first
    assert "2 errors, 0 warnings in 1 file" in stdout


def test_sarif() -> None:
    code, stdout, _ = run("-f", "sarif", str(INVALID))
    assert code == 1
    sarif = json.loads(stdout)
    assert sarif["version"] == "2.1.0"
    run_ = sarif["runs"][0]
    results = run_["results"]
    assert [r["ruleId"] for r in results] == ["CIO-M003", "CIO-M003"]
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (4, 43)
    rule_ids = {r["id"] for r in run_["tool"]["driver"]["rules"]}
    assert "CIO-M003" in rule_ids


def test_junit_one_testcase_per_rule_and_field() -> None:
    code, stdout, _ = run("-f", "junit", str(INVALID))
    assert code == 1
    root = ET.fromstring(stdout.split("\n", 1)[1])
    names = [case.get("name") for case in root.iter("testcase")]
    assert "mandatory field event_id" in names and "CIO-M006 duplicate-destination" in names
    assert len(names) == 18  # 7 fields + 11 entry rules (no --xdm-schema)
    failed = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
    assert failed == ["CIO-M003 unknown-source-field"]


def test_json_details_and_several_files() -> None:
    code, stdout, _ = run("-f", "json", str(VALID), str(INVALID))
    document = json.loads(stdout)
    assert code == 1 and document["status"] == "failed"
    assert len(document["checklist"]) == 14
    assert document["checklist"][0]["label"] == f"{VALID}: object_type"
    fields = document["details"]["fields"]
    assert {f["how"] for f in fields if f["file"] == str(VALID)} == {"source", "expression"}


def test_strict_and_output_file(tmp_path: Path) -> None:
    warned = DATA / "valid" / "legacy.json"
    assert run(str(warned))[0] == 0
    out = tmp_path / "r.sarif"
    code, stdout, stderr = run("--strict", "-f", "sarif", "-o", str(out), str(warned))
    assert code == 1 and stdout == "" and f"wrote {out}" in stderr
    assert json.loads(out.read_text(encoding="utf-8"))["runs"][0]["results"][0]["ruleId"] == (
        "CIO-M010"
    )
    code, _, stderr = run("-o", str(out), str(warned))
    assert code == 2 and "already exists" in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "event_id"], "expected FIELD=DESTINATION"),
        (["--target", "nope=_x.y"], "'nope' is not a mandatory field"),
        (["--format", "xml"], "unknown --format 'xml'"),
        (["--xdm-schema", "/nonexistent/schema.json"], "schema.json: no such file"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    code, stdout, stderr = run(*args, str(VALID))
    assert code == 2 and stdout == ""
    assert stderr.startswith("error: ") and message in stderr


def test_help_has_examples() -> None:
    result = CliRunner().invoke(app, ["validate-mapping", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert "    cio-aep validate-mapping mapping.json" in result.stdout
    assert "--test-mode" in result.stdout and "--xdm-schema" in result.stdout


def test_one_unreadable_file_among_several_keeps_the_others_findings(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"mappings": [\n  {"source": x}\n]}')
    good = tmp_path / "good.json"
    good.write_text('{"mappings": [{"source": "data.identifier.id", "destination": "_x.id"}]}')
    result = CliRunner().invoke(
        app, ["validate-mapping", str(good), str(broken), "--format", "sarif"]
    )
    assert result.exit_code == 2
    assert result.stderr == "error: 1 unreadable input(s); see the report\n"
    results = json.loads(result.stdout)["runs"][0]["results"]
    rules = [r["ruleId"] for r in results]
    assert "CIO-M000" in rules and "CIO-M003" in rules  # the good file was still checked
    unreadable = next(r for r in results if r["ruleId"] == "CIO-M000")
    region = unreadable["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (2, 14)
    # One file alone: one error line, as before.
    alone = CliRunner().invoke(app, ["validate-mapping", str(broken)])
    assert alone.exit_code == 2 and alone.stdout == ""
    assert alone.stderr.startswith(f"error: {broken}:2:14: invalid JSON")
