"""The json format: one object with a top-level `status`, for scripts and other tools."""

from __future__ import annotations

import dataclasses
import enum
import json
from pathlib import PurePath

from cio_aep.findings import Finding, Report
from cio_aep.reporters.base import Reporter, checks_count


def _finding(finding: Finding) -> dict[str, object]:
    return {
        "rule_id": finding.rule.id,
        "rule_name": finding.rule.name,
        "severity": finding.level.value,
        "message": finding.message,
        "file": finding.file,
        "line": finding.line,
        "column": finding.column,
        "path": finding.path,
        "hint": finding.hint,
        "check": finding.check,
    }


def _jsonable(value: object) -> object:
    """`report.extra` may hold paths, enums, sets or dataclasses: give each a stable form."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def report_document(report: Report) -> dict[str, object]:
    """The json document as a dict (also handy for commands that embed it)."""
    return {
        "status": report.status,
        "command": report.command,
        "files": list(report.files),
        "summary": {
            "errors": report.errors,
            "warnings": report.warnings,
            "checks": checks_count(report),
            "strict": report.strict,
        },
        "checklist": [
            {"label": item.label, "ok": item.ok, "detail": item.detail} for item in report.checklist
        ],
        "findings": [_finding(f) for f in report.findings],
        "details": report.extra,
    }


class JsonReporter(Reporter):
    """Stable key order, 2-space indent; non-ASCII kept as is (the output is UTF-8)."""

    name = "json"

    def _render(self, report: Report) -> str:
        return json.dumps(report_document(report), indent=2, ensure_ascii=False, default=_jsonable)
