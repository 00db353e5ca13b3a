"""Output formats of the validating commands: one `Reporter` class per format.

`render_report(report, "sarif")` is all a command needs; a new format is one class added to
`REPORTERS`, not a new branch in every command.
"""

from __future__ import annotations

from collections.abc import Sequence

from cio_aep.errors import UsageError
from cio_aep.findings import Report
from cio_aep.reporters.base import Reporter
from cio_aep.reporters.github import GithubReporter
from cio_aep.reporters.json_format import JsonReporter
from cio_aep.reporters.junit import JunitReporter
from cio_aep.reporters.sarif import SarifReporter
from cio_aep.reporters.text import TextReporter

REPORTERS: dict[str, type[Reporter]] = {
    cls.name: cls
    for cls in (TextReporter, JsonReporter, GithubReporter, SarifReporter, JunitReporter)
}

__all__ = ["REPORTERS", "Reporter", "get_reporter", "render_report"]


def get_reporter(fmt: str) -> type[Reporter]:
    """The reporter class for a format name (a `ReportFormat` member works too)."""
    name = str(getattr(fmt, "value", fmt))
    try:
        return REPORTERS[name]
    except KeyError:
        choices = ", ".join(REPORTERS)
        raise UsageError(f"unknown report format {name!r}; choose one of: {choices}") from None


def render_report(
    report: Report, fmt: str, *, color: bool = False, masks: Sequence[str] = ()
) -> str:
    """`report` rendered in `fmt` (text, json, github, sarif, junit), ending with a newline.

    `color` adds ANSI colours (text and github summary); `masks` are secrets the github
    format asks the Actions runner to hide (`::add-mask::`), ignored by the other formats.
    """
    return get_reporter(fmt)(color=color, masks=masks).render(report)
