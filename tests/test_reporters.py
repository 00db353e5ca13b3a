"""The reporter layer: every format rendered from hand-built reports, checked on real output."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cio_aep import __version__
from cio_aep.cli.common import ReportFormat
from cio_aep.errors import UsageError
from cio_aep.findings import ChecklistItem, Finding, Report, Rule, Severity
from cio_aep.reporters import REPORTERS, get_reporter, render_report, sarif
from cio_aep.reporters.github import escape_data, escape_property
from cio_aep.reporters.sarif import artifact_location

UNKNOWN_PATH = Rule(
    "CIO-M003",
    "unknown-source-path",
    "The source path is in no Customer.io payload. Fix its spelling.",
)
DUPLICATE = Rule("CIO-M001", "duplicate-destination", "Two mappings write one destination.")
TIMESTAMP = Rule(
    "CIO-M010", "timestamp-needs-conversion", "Unix seconds into date-time.", Severity.WARNING
)
ANSI_ESC = "\x1b"


def mapping_report() -> Report:
    """A failing validate-mapping report: checklist, checks, findings of every shape."""
    report = Report(
        command="validate-mapping",
        files=["maps/a,b:c.json", "-"],
        checks=["object_type", "cio_id", "timestamp"],
        checks_total=3,
        checklist=[
            ChecklistItem("object_type", True, "destination _tenant.customerio.object_type"),
            ChecklistItem("cio_id", False, "not mapped"),
        ],
        extra={"mandatory": ["object_type", "cio_id"]},
    )
    report.add(
        Finding(
            UNKNOWN_PATH,
            "unknown path 'data.identifier.id'\n100% wrong",
            "maps/a,b:c.json",
            line=12,
            column=5,
            path="$.mappings[3].source",
            hint="did you mean data.identifiers.id?",
            check="cio_id",
        )
    )
    report.add(Finding(DUPLICATE, "two mappings to _tenant.x", "maps/a,b:c.json", line=7))
    report.add(Finding(TIMESTAMP, 'needs <&> "conversion" é\x01', "-", check="timestamp"))
    return report


def clean_report() -> Report:
    return Report(command="validate-events", files=["events.ndjson"], checks_total=4)


# --- registry ----------------------------------------------------------------------------------


def test_every_cli_format_has_a_reporter() -> None:
    assert list(REPORTERS) == [f.value for f in ReportFormat]
    assert get_reporter(ReportFormat.sarif) is REPORTERS["sarif"]


def test_unknown_format_names_the_choices() -> None:
    with pytest.raises(UsageError) as err:
        render_report(clean_report(), "yaml")
    assert "'yaml'" in str(err.value)
    assert "text, json, github, sarif, junit" in str(err.value)


@pytest.mark.parametrize("fmt", list(REPORTERS))
def test_output_is_deterministic_and_ends_with_a_newline(fmt: str) -> None:
    first = render_report(mapping_report(), fmt)
    assert first == render_report(mapping_report(), fmt)
    assert first.endswith("\n")
    assert ANSI_ESC not in first.replace("\\x1b", "")


@pytest.mark.parametrize("fmt", list(REPORTERS))
def test_lone_surrogates_in_file_names_do_not_break_utf8_output(fmt: str) -> None:
    report = Report(command="validate-events", files=["bad\udcff.json"])
    report.add(Finding(UNKNOWN_PATH, "m\udcff", "bad\udcff.json", line=1))
    out = render_report(report, fmt)
    out.encode("utf-8")  # would raise on a surrogate
    assert "\ufffd" in out or "%EF%BF%BD" in out


# --- text -------------------------------------------------------------------------------------


def test_text_checklist_findings_and_summary() -> None:
    assert render_report(mapping_report(), "text") == (
        "✓ object_type  destination _tenant.customerio.object_type\n"
        "✗ cio_id       not mapped\n"
        "\n"
        "maps/a,b:c.json:12:5: error CIO-M003 unknown-source-path: unknown path "
        "'data.identifier.id'\n"
        "    100% wrong\n"
        "    at $.mappings[3].source\n"
        "    hint: did you mean data.identifiers.id?\n"
        "maps/a,b:c.json:7: error CIO-M001 duplicate-destination: two mappings to _tenant.x\n"
        '<stdin>: warning CIO-M010 timestamp-needs-conversion: needs <&> "conversion" é\\x01\n'
        "\n"
        "2 errors, 1 warning in 2 files (3 checks): failed\n"
    )


def test_text_clean_report_is_one_summary_line() -> None:
    assert (
        render_report(clean_report(), "text") == "0 errors, 0 warnings in 1 file (4 checks): ok\n"
    )


def test_text_strict_says_why_warnings_fail() -> None:
    report = Report(command="validate-events", files=["e.json"], strict=True, checks_total=1)
    report.add(Finding(TIMESTAMP, "loose", "e.json", line=1, column=1))
    assert render_report(report, "text").splitlines()[-1] == (
        "0 errors, 1 warning in 1 file (1 check): failed (warnings fail under --strict)"
    )


@pytest.mark.parametrize("strict", [False, True])
def test_machine_formats_fail_warnings_under_strict(strict: bool) -> None:
    # A red job must not come with green annotations (and junit must not say 0 failures).
    report = Report(
        command="validate-events", files=["e.json"], strict=strict, checks=["t"], checks_total=1
    )
    report.add(Finding(TIMESTAMP, "loose", "e.json", line=1, column=1, check="t"))
    junit = ET.fromstring(render_report(report, "junit"))
    assert junit.get("failures") == ("1" if strict else "0")
    (result,) = json.loads(render_report(report, "sarif"))["runs"][0]["results"]
    assert result["level"] == ("error" if strict else "warning")
    github = render_report(report, "github").splitlines()[0]
    assert github.startswith("::error " if strict else "::warning ")
    assert report.ok is not strict


def test_text_counts_files_from_findings_when_files_unknown() -> None:
    report = Report(command="validate-events")
    report.add(Finding(DUPLICATE, "x", "a.json"))
    report.add(Finding(DUPLICATE, "y", "b.json"))
    assert render_report(report, "text").endswith(
        "2 errors, 0 warnings in 2 files (0 checks): failed\n"
    )


def test_text_color_uses_plain_ansi() -> None:
    out = render_report(mapping_report(), "text", color=True)
    assert "\x1b[32m✓\x1b[0m object_type" in out
    assert "\x1b[31m✗\x1b[0m cio_id" in out
    assert ": \x1b[31merror\x1b[0m CIO-M003" in out
    assert ": \x1b[33mwarning\x1b[0m CIO-M010" in out
    assert out.rstrip().endswith("\x1b[31m\x1b[1mfailed\x1b[0m")


def test_text_shows_control_characters_instead_of_sending_them() -> None:
    report = Report(command="validate-events", files=["e.json"])
    report.add(Finding(DUPLICATE, "evil \x1b[2J\rtext", "e\x07.json", hint="h\x1b"))
    out = render_report(report, "text")
    assert ANSI_ESC not in out and "\r" not in out and "\x07" not in out
    assert "e\\x07.json: error CIO-M001 duplicate-destination: evil \\x1b[2J\\x0dtext" in out
    assert "    hint: h\\x1b" in out


# --- json -------------------------------------------------------------------------------------


def test_json_document() -> None:
    out = render_report(mapping_report(), "json")
    assert out.startswith('{\n  "status": "failed",\n  "command": "validate-mapping",')
    doc = json.loads(out)
    assert list(doc) == [
        "status",
        "command",
        "files",
        "summary",
        "checklist",
        "findings",
        "details",
    ]
    assert doc["summary"] == {"errors": 2, "warnings": 1, "checks": 3, "strict": False}
    assert doc["checklist"][1] == {"label": "cio_id", "ok": False, "detail": "not mapped"}
    assert doc["findings"][0] == {
        "rule_id": "CIO-M003",
        "rule_name": "unknown-source-path",
        "severity": "error",
        "message": "unknown path 'data.identifier.id'\n100% wrong",
        "file": "maps/a,b:c.json",
        "line": 12,
        "column": 5,
        "path": "$.mappings[3].source",
        "hint": "did you mean data.identifiers.id?",
        "check": "cio_id",
    }
    assert doc["findings"][2]["line"] is None
    assert doc["findings"][2]["severity"] == "warning"
    assert doc["findings"][2]["message"] == 'needs <&> "conversion" é\x01'
    assert doc["details"] == {"mandatory": ["object_type", "cio_id"]}
    assert "é" in out  # non-ASCII kept readable


def test_json_ok_status_and_odd_extra_values() -> None:
    report = clean_report()
    report.extra = {
        "path": PurePosixPath("a/b.json"),
        "kinds": {"b", "a"},
        "severity": Severity.WARNING,
        "rule": TIMESTAMP,
        "other": object,
    }
    doc = json.loads(render_report(report, "json"))
    assert doc["status"] == "ok"
    assert doc["findings"] == [] and doc["checklist"] == []
    assert doc["details"]["path"] == "a/b.json"
    assert doc["details"]["kinds"] == ["a", "b"]
    assert doc["details"]["severity"] == "warning"
    assert doc["details"]["rule"]["id"] == "CIO-M010"
    assert doc["details"]["other"] == "<class 'object'>"


# --- github -----------------------------------------------------------------------------------


def test_github_escaping_matches_the_toolkit() -> None:
    assert escape_data("100%\r\n: ,") == "100%25%0D%0A: ,"
    assert escape_property("100%\r\n: ,") == "100%25%0D%0A%3A %2C"
    # `%` first, so an already-escaped-looking value is not un-escaped by the runner.
    assert escape_property("%3A") == "%253A"


def test_github_commands_then_summary() -> None:
    out = render_report(mapping_report(), "github")
    assert out.splitlines() == [
        "::error file=maps/a%2Cb%3Ac.json,line=12,col=5,title=CIO-M003 unknown-source-path"
        "::unknown path 'data.identifier.id'%0A100%25 wrong%0Aat $.mappings[3].source"
        "%0Ahint: did you mean data.identifiers.id?",
        "::error file=maps/a%2Cb%3Ac.json,line=7,title=CIO-M001 duplicate-destination"
        "::two mappings to _tenant.x",
        '::warning title=CIO-M010 timestamp-needs-conversion::needs <&> "conversion" é\x01',
        "✓ object_type  destination _tenant.customerio.object_type",
        "✗ cio_id       not mapped",
        "2 errors, 1 warning in 2 files (3 checks): failed",
    ]


def test_github_masks_come_first_and_are_escaped() -> None:
    out = render_report(clean_report(), "github", masks=["k3y%\nx", ""])
    assert out.splitlines() == [
        "::add-mask::k3y%25%0Ax",
        "0 errors, 0 warnings in 1 file (4 checks): ok",
    ]


def test_github_checklist_cannot_inject_a_command() -> None:
    report = clean_report()
    report.checklist = [ChecklistItem("a\n::error::boom", False, "d\n::warning::x")]
    lines = render_report(report, "github").splitlines()
    assert not [line for line in lines if line.startswith("::")]


# --- sarif ------------------------------------------------------------------------------------


def test_sarif_structure() -> None:
    doc = json.loads(render_report(mapping_report(), "sarif"))
    assert doc["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert doc["version"] == "2.1.0"
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "cio-aep"
    assert driver["version"] == __version__
    assert set(driver) == {"name", "version", "rules"}
    rules = driver["rules"]
    assert [r["id"] for r in rules] == ["CIO-M001", "CIO-M003", "CIO-M010"]  # sorted: stable
    assert rules[1] == {
        "id": "CIO-M003",
        "name": "unknown-source-path",
        "shortDescription": {"text": "The source path is in no Customer.io payload."},
        "fullDescription": {
            "text": "The source path is in no Customer.io payload. Fix its spelling."
        },
        "defaultConfiguration": {"level": "error"},
        "help": {"text": "The source path is in no Customer.io payload. Fix its spelling."},
    }
    assert rules[2]["defaultConfiguration"] == {"level": "warning"}
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["CIO-M003", "CIO-M001", "CIO-M010"]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
    assert [r["level"] for r in results] == ["error", "error", "warning"]
    first = results[0]
    assert "hint: did you mean data.identifiers.id?" in first["message"]["text"]
    assert first["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "maps/a,b%3Ac.json", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 12, "startColumn": 5},
    }
    assert results[1]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 7,
        "startColumn": 1,
    }
    stdin = results[2]["locations"][0]["physicalLocation"]
    assert stdin["artifactLocation"]["uri"] == "stdin"
    assert stdin["region"] == {"startLine": 1, "startColumn": 1}


def test_sarif_without_findings_is_still_a_log() -> None:
    doc = json.loads(render_report(clean_report(), "sarif"))
    assert doc["runs"][0]["results"] == []
    assert doc["runs"][0]["tool"]["driver"]["rules"] == []


def test_sarif_line_zero_becomes_one() -> None:
    report = Report(command="validate-events")
    report.add(Finding(DUPLICATE, "x", "a.json", line=0, column=0))
    doc = json.loads(render_report(report, "sarif"))
    region = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 1, "startColumn": 1}


def test_sarif_uris(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert artifact_location("maps\\in #1.json") == {
        "uri": "maps/in%20%231.json",
        "uriBaseId": "%SRCROOT%",
    }
    assert artifact_location("./é.json")["uri"] == "%C3%A9.json"
    assert artifact_location(str(tmp_path / "sub" / "m.json")) == {
        "uri": "sub/m.json",
        "uriBaseId": "%SRCROOT%",
    }
    outside = artifact_location(str(tmp_path.parent / "m.json"))
    assert outside == {"uri": (tmp_path.parent / "m.json").as_uri()}


def test_sarif_matches_a_minimal_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    text = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}
    schema = {
        "type": "object",
        "required": ["version", "runs"],
        "properties": {
            "version": {"const": "2.1.0"},
            "runs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["tool", "results"],
                    "properties": {
                        "tool": {
                            "type": "object",
                            "required": ["driver"],
                            "properties": {
                                "driver": {
                                    "type": "object",
                                    "required": ["name", "rules"],
                                    "properties": {
                                        "rules": {
                                            "type": "array",
                                            "items": {
                                                "type": "object",
                                                "required": ["id", "shortDescription"],
                                                "properties": {"shortDescription": text},
                                            },
                                        }
                                    },
                                }
                            },
                        },
                        "results": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["ruleId", "ruleIndex", "level", "message"],
                                "properties": {
                                    "level": {"enum": ["error", "warning", "note", "none"]},
                                    "message": text,
                                },
                            },
                        },
                    },
                },
            },
        },
    }
    jsonschema.validate(json.loads(render_report(mapping_report(), "sarif")), schema)


# --- junit ------------------------------------------------------------------------------------


def _junit(report: Report) -> ET.Element:
    out = render_report(report, "junit")
    assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(out.encode("utf-8"))


def test_junit_one_testcase_per_check() -> None:
    root = _junit(mapping_report())
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "cio-aep validate-mapping"
    # three checks + one testcase for the finding that names no check (by rule id)
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "2", "0")
    assert suite.get("skipped") == "0"
    assert root.get("tests") == "4" and root.get("failures") == "2"
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert list(cases) == ["object_type", "cio_id", "timestamp", "CIO-M001"]
    assert {case.get("classname") for case in cases.values()} == {"cio-aep.validate-mapping"}
    assert list(cases["object_type"]) == []

    failure = cases["cio_id"].find("failure")
    assert failure is not None
    assert failure.get("type") == "CIO-M003"
    assert failure.get("message") == (
        "CIO-M003 unknown-source-path: unknown path 'data.identifier.id'\n100% wrong"
    )
    assert failure.text is not None
    assert "maps/a,b:c.json:12:5: error CIO-M003" in failure.text
    assert "hint: did you mean data.identifiers.id?" in failure.text

    # warnings only: the testcase passes and lists them
    timestamp = cases["timestamp"]
    assert timestamp.find("failure") is None
    out = timestamp.findtext("system-out")
    assert (
        out == '<stdin>: warning CIO-M010 timestamp-needs-conversion: needs <&> "conversion" é\\x01'
    )

    orphan = cases["CIO-M001"].find("failure")
    assert orphan is not None and orphan.get("type") == "CIO-M001"


def test_junit_several_errors_in_one_check() -> None:
    report = Report(command="validate-events", checks=["e.ndjson:1"], checks_total=1)
    for n in range(3):
        report.add(Finding(DUPLICATE, f"m{n}", "e.ndjson", line=1, check="e.ndjson:1"))
    failure = _junit(report).find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == "CIO-M001 duplicate-destination: m0 (and 2 more)"
    assert failure.text is not None and failure.text.count("\n") == 2


def test_junit_summary_testcase_when_checks_were_not_kept() -> None:
    suite = _junit(clean_report()).find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("1", "0")
    (case,) = suite.findall("testcase")
    assert case.get("name") == "4 checks"
    assert case.findtext("system-out") == "0 errors, 0 warnings in 1 file (4 checks): ok"


def test_junit_findings_without_kept_checks_group_by_rule() -> None:
    report = Report(command="validate-events", files=["e.ndjson"], checks_total=100)
    report.add(Finding(DUPLICATE, "a", "e.ndjson", line=3, check="e.ndjson:3"))
    report.add(Finding(DUPLICATE, "b", "e.ndjson", line=9, check="e.ndjson:9"))
    report.add(Finding(TIMESTAMP, "c", "e.ndjson", line=9, check="e.ndjson:9"))
    suite = _junit(report).find("testsuite")
    assert suite is not None
    names = [case.get("name") for case in suite.findall("testcase")]
    assert names == ["100 checks", "CIO-M001", "CIO-M010"]
    assert (suite.get("tests"), suite.get("failures")) == ("3", "1")


def test_junit_empty_report_has_no_testcases() -> None:
    suite = _junit(Report(command="validate-mapping")).find("testsuite")
    assert suite is not None and suite.get("tests") == "0" and list(suite) == []


def test_junit_strips_what_xml_forbids() -> None:
    report = Report(command="validate-events", checks=["bad\x00check"])
    report.add(Finding(DUPLICATE, "nul\x00 bell\x07 \ufffe", "f\x1b.json", check="bad\x00check"))
    case = _junit(report).find("testsuite/testcase")
    assert case is not None
    assert case.get("name") == "bad\\x00check"
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == "CIO-M001 duplicate-destination: nul\\x00 bell\\x07 \\ufffe"


# --- properties -------------------------------------------------------------------------------

ANY_TEXT = st.text(max_size=40)


@st.composite
def reports(draw: st.DrawFn) -> Report:
    checks = draw(st.lists(ANY_TEXT, max_size=3))
    report = Report(
        command=draw(ANY_TEXT),
        files=draw(st.lists(ANY_TEXT, max_size=3)),
        checks=checks,
        checks_total=draw(st.integers(0, 5)),
        strict=draw(st.booleans()),
        checklist=[
            ChecklistItem(label, ok, detail)
            for label, ok, detail in draw(
                st.lists(st.tuples(ANY_TEXT, st.booleans(), ANY_TEXT), max_size=3)
            )
        ],
    )
    for _ in range(draw(st.integers(0, 4))):
        rule = draw(st.sampled_from([UNKNOWN_PATH, DUPLICATE, TIMESTAMP]))
        report.add(
            Finding(
                rule,
                draw(ANY_TEXT),
                draw(ANY_TEXT),
                line=draw(st.none() | st.integers(0, 10**6)),
                column=draw(st.none() | st.integers(0, 10**3)),
                path=draw(st.none() | ANY_TEXT),
                hint=draw(st.none() | ANY_TEXT),
                check=draw(st.none() | st.sampled_from([*checks, "elsewhere"])),
            )
        )
    return report


@settings(max_examples=150, deadline=None)
@given(reports())
def test_any_text_gives_well_formed_documents(report: Report) -> None:
    doc = json.loads(render_report(report, "json"))
    assert doc["status"] == report.status
    assert len(doc["findings"]) == len(report.findings)

    sarif = json.loads(render_report(report, "sarif"))
    assert len(sarif["runs"][0]["results"]) == len(report.findings)

    root = ET.fromstring(render_report(report, "junit").encode("utf-8"))
    suite = root.find("testsuite")
    assert suite is not None
    assert int(suite.get("tests", "-1")) == len(suite.findall("testcase"))

    github = render_report(report, "github", masks=["s\ne,c:r%t"])
    assert "\r" not in github
    # The runner splits its log on \n and \r only (str.splitlines would split on more).
    lines = github.rstrip("\n").split("\n")
    commands = [line for line in lines if line.startswith("::")]
    assert len(commands) == len(report.findings) + 1  # + the mask
    # every other line is the checklist or the summary: nothing leaked out of a command
    assert len(lines) == len(commands) + len(report.checklist) + 1

    assert ANSI_ESC not in render_report(report, "text")


def test_sarif_keeps_errors_first_within_the_upload_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sarif, "MAX_RESULTS", 3)
    report = Report(command="validate-events")
    report.add(Finding(TIMESTAMP, "w1", "e.json", line=1))
    for n in range(4):
        report.add(Finding(DUPLICATE, f"e{n}", "e.json", line=n + 2))
    run = json.loads(render_report(report, "sarif"))["runs"][0]
    assert [r["message"]["text"] for r in run["results"]] == ["e0", "e1", "e2"]
    (invocation,) = run["invocations"]
    (note,) = invocation["toolExecutionNotifications"]
    assert note["message"]["text"].startswith("2 more findings left out")
    assert "invocations" not in json.loads(render_report(mapping_report(), "sarif"))["runs"][0]
