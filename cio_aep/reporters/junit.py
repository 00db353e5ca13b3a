"""The junit format: JUnit XML, one testcase per check, for CI test-report views."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cio_aep.findings import Finding, Report
from cio_aep.reporters.base import Reporter, checks_count, printable
from cio_aep.reporters.text import finding_lines, summary_line

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element


def _xml_text(text: str) -> str:
    # XML 1.0 forbids most control characters even as references: show them escaped.
    return printable(text)


def _details(findings: list[Finding]) -> str:
    return "\n".join(line for f in findings for line in finding_lines(f))


def _group(report: Report) -> dict[str, list[Finding]]:
    """Findings per testcase: their check when the report ran it, else their rule id."""
    groups: dict[str, list[Finding]] = {name: [] for name in report.checks}
    for finding in report.findings:
        key = finding.check if finding.check in groups else finding.rule.id
        groups.setdefault(key, []).append(finding)
    return groups


class JunitReporter(Reporter):
    """`<testsuites><testsuite name="cio-aep COMMAND">`: a check with errors fails, a check
    with only warnings passes and lists them in `<system-out>` (under --strict it fails)."""

    name = "junit"

    def _render(self, report: Report) -> str:
        # Imported here: only this format needs it, and every validating command imports us.
        import xml.etree.ElementTree as ET

        classname = _xml_text(f"cio-aep.{report.command}")
        cases: list[Element] = []
        if not report.checks and checks_count(report) > 0:
            summary = ET.Element(
                "testcase", {"classname": classname, "name": f"{checks_count(report)} checks"}
            )
            ET.SubElement(summary, "system-out").text = _xml_text(summary_line(report))
            cases.append(summary)
        for name, findings in _group(report).items():
            case = ET.Element("testcase", {"classname": classname, "name": _xml_text(name)})
            errors = [f for f in findings if report.fails_on(f)]
            warnings = [f for f in findings if not report.fails_on(f)]
            if errors:
                first = errors[0]
                message = f"{first.rule.id} {first.rule.name}: {first.message}"
                if len(errors) > 1:
                    message += f" (and {len(errors) - 1} more)"
                failure = ET.SubElement(
                    case,
                    "failure",
                    {"message": _xml_text(message), "type": _xml_text(first.rule.id)},
                )
                failure.text = _xml_text(_details(errors))
            if warnings:
                ET.SubElement(case, "system-out").text = _xml_text(_details(warnings))
            cases.append(case)

        failures = str(sum(1 for case in cases if case.find("failure") is not None))
        counts = {"tests": str(len(cases)), "failures": failures, "errors": "0", "skipped": "0"}
        root = ET.Element("testsuites", {"name": "cio-aep", **counts})
        suite = ET.SubElement(
            root, "testsuite", {"name": _xml_text(f"cio-aep {report.command}"), **counts}
        )
        suite.extend(cases)
        ET.indent(root)
        body = ET.tostring(root, encoding="unicode")
        return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'
