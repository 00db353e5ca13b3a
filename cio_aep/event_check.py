"""`validate-events` as a library call: stream files of events through the catalog checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cio_aep.errors import InputError
from cio_aep.event_reader import display_name, read_events
from cio_aep.event_validation import INVALID_JSON, validate_event
from cio_aep.findings import Finding, Report, Rule

PROGRESS_EVERY = 4096  # events between two `on_progress` calls
UNREADABLE = Rule("CIO-E009", "unreadable-input", "The file cannot be read as JSON or NDJSON.")


@dataclass
class EventCheck:
    """The report, and whether any input could not be read (exit 2 rather than 1)."""

    report: Report
    unreadable: int = 0
    events: int = 0


def check_event_files(
    sources: Sequence[str],
    *,
    strict: bool = False,
    keep_checks: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> EventCheck:
    """Validate every event of `sources` (paths or `-`). Memory stays flat unless
    `keep_checks` (the junit format needs one testcase name per event)."""
    report = Report(command="validate-events", strict=strict)
    result = EventCheck(report)
    for source in sources:
        name = display_name(source)
        report.files.append(name)
        try:
            for record in read_events(source):
                result.events += 1
                check = f"{name}:{record.line}" if record.line is not None else name
                if record.error is not None:
                    result.unreadable += 1
                    report.add(Finding(INVALID_JSON, record.error, name, record.line,
                                       record.column, None, check=check))  # fmt: skip
                else:
                    findings = validate_event(
                        record.value, file=name, line=record.line, size=len(record.text)
                    )
                    if findings:
                        check = _check_name(check, record.value)
                        for f in findings:
                            report.add(_with_check(f, check))
                    elif keep_checks:
                        check = _check_name(check, record.value)
                if keep_checks:
                    report.checks.append(check)
                report.checks_total += 1
                if on_progress is not None and result.events % PROGRESS_EVERY == 0:
                    on_progress(result.events)
        except InputError as err:
            result.unreadable += 1
            message = err.message.split(": ", 1)[-1] if err.source else err.message
            report.add(Finding(UNREADABLE, message, name, err.line, err.column, None, err.hint,
                               check=name))  # fmt: skip
            if keep_checks:
                report.checks.append(name)
    report.extra["events"] = result.events
    return result


def _check_name(prefix: str, event: object) -> str:
    if isinstance(event, dict):
        key = f"{event.get('object_type')}:{event.get('metric')}"
        return f"{prefix} {key} {event.get('event_id', '')}".rstrip()
    return prefix


def _with_check(finding: Finding, check: str) -> Finding:
    return Finding(finding.rule, finding.message, finding.file, finding.line, finding.column,
                   finding.path, finding.hint, finding.severity, check)  # fmt: skip
