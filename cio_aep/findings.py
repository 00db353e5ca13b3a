"""The result of a validating command, as data: findings, checks and a checklist.

Reporters (cio_aep/reporters/) render a `Report`; validators never print. Shared by
`validate-events` and `validate-mapping`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Rule:
    """A check with a stable id (used by SARIF and in docs)."""

    id: str  # e.g. "CIO-E001"
    name: str  # short kebab-case name, e.g. "unknown-metric"
    description: str
    severity: Severity = Severity.ERROR


@dataclass(frozen=True)
class Finding:
    """One problem found in one input, located as precisely as we can."""

    rule: Rule
    message: str
    file: str
    line: int | None = None
    column: int | None = None
    path: str | None = None  # JSON path, e.g. "$.data.identifiers.id"
    hint: str | None = None  # how to fix it
    severity: Severity | None = None  # overrides rule.severity when set
    check: str | None = None  # name of the check (junit testcase) this belongs to

    @property
    def level(self) -> Severity:
        return self.severity or self.rule.severity

    @property
    def is_error(self) -> bool:
        return self.level is Severity.ERROR


@dataclass(frozen=True)
class ChecklistItem:
    """A line of the text checklist (e.g. one mandatory field), with how it was satisfied."""

    label: str
    ok: bool
    detail: str = ""


@dataclass
class Report:
    """What a validating command found. Rendering is the reporters' job."""

    command: str  # "validate-events" | "validate-mapping"
    files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    checklist: list[ChecklistItem] = field(default_factory=list)
    # Checks (junit testcases) that ran: names in order. Findings refer to them by `check`.
    checks: list[str] = field(default_factory=list)
    checks_total: int = 0  # counted even when `checks` is not kept (memory stays flat)
    strict: bool = False
    extra: dict[str, object] = field(default_factory=dict)  # command-specific data for json

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.is_error)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if not f.is_error)

    @property
    def ok(self) -> bool:
        """Passes: no errors, and no warnings either under --strict."""
        return self.errors == 0 and (not self.strict or self.warnings == 0)

    def fails_on(self, finding: Finding) -> bool:
        """True when `finding` fails the check: an error, or any finding under --strict.

        Machine formats (junit, sarif, github) show such a finding as a failure, so that a
        red job never comes with green annotations.
        """
        return self.strict or finding.is_error

    @property
    def status(self) -> str:
        return "ok" if self.ok else "failed"

    def rules(self) -> list[Rule]:
        """The distinct rules that produced findings, in first-seen order."""
        seen: dict[str, Rule] = {}
        for f in self.findings:
            seen.setdefault(f.rule.id, f.rule)
        return list(seen.values())
