"""The text format: a checklist, one line per finding (compiler style), and a summary line."""

from __future__ import annotations

from cio_aep.findings import Finding, Report
from cio_aep.reporters.base import Reporter, checks_count, files_count, location, printable

# Plain ANSI codes: importing rich would cost more than the whole validation of a small file.
_RED = "\x1b[31m"
_YELLOW = "\x1b[33m"
_GREEN = "\x1b[32m"
_BOLD = "\x1b[1m"
_RESET = "\x1b[0m"

_INDENT = "    "


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _one_line(text: str) -> str:
    # A checklist line must stay one line: in the github format a new line starting with
    # `::` would be read as a workflow command.
    return printable(text).replace("\n", " ")


def checklist_lines(report: Report, *, color: bool = False) -> list[str]:
    """`✓ label  detail` / `✗ label  detail`, labels aligned."""
    width = max((len(item.label) for item in report.checklist), default=0)
    lines = []
    for item in report.checklist:
        mark = _paint("✓", _GREEN, color) if item.ok else _paint("✗", _RED, color)
        label = _one_line(item.label).ljust(width)
        line = f"{mark} {label}  {_one_line(item.detail)}"
        lines.append(line.rstrip())
    return lines


def finding_lines(finding: Finding, *, color: bool = False) -> list[str]:
    """`file:line:col: error ID name: message`, then indented `at` and `hint` lines."""
    level = finding.level.value
    painted = _paint(level, _RED if finding.is_error else _YELLOW, color)
    first, *rest = printable(finding.message).split("\n")
    lines = [
        f"{printable(location(finding))}: {painted} {finding.rule.id} {finding.rule.name}: {first}"
    ]
    # A multi-line message stays visibly part of its finding.
    lines.extend(_INDENT + line for line in rest)
    if finding.path:
        lines.append(f"{_INDENT}at {printable(finding.path)}")
    if finding.hint:
        lines.append(f"{_INDENT}hint: " + printable(finding.hint).replace("\n", "\n" + _INDENT))
    return lines


def summary_line(report: Report, *, color: bool = False) -> str:
    """`N errors, M warnings in K files (C checks): ok|failed`."""
    status = _paint(report.status, _GREEN if report.ok else _RED + _BOLD, color)
    line = (
        f"{_plural(report.errors, 'error')}, {_plural(report.warnings, 'warning')} "
        f"in {_plural(files_count(report), 'file')} "
        f"({_plural(checks_count(report), 'check')}): {status}"
    )
    if not report.ok and report.errors == 0:
        line += " (warnings fail under --strict)"
    return line


class TextReporter(Reporter):
    """For people at a terminal; colour only when asked (the CLI honours NO_COLOR)."""

    name = "text"

    def _render(self, report: Report) -> str:
        sections: list[list[str]] = []
        if report.checklist:
            sections.append(checklist_lines(report, color=self.color))
        if report.findings:
            sections.append(
                [line for f in report.findings for line in finding_lines(f, color=self.color)]
            )
        sections.append([summary_line(report, color=self.color)])
        return "\n\n".join("\n".join(lines) for lines in sections) + "\n"
