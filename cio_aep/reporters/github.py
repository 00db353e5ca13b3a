"""The github format: GitHub Actions workflow commands, which become annotations on the PR.

Escaping follows @actions/core (toolkit `command.ts`): GitHub un-escapes exactly these.
"""

from __future__ import annotations

from cio_aep.findings import Finding, Report
from cio_aep.reporters.base import Reporter
from cio_aep.reporters.text import checklist_lines, summary_line


def escape_data(text: str) -> str:
    """Escape a command's message (after `::`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value (`file=`, `title=`...), where `:` and `,` are separators."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(finding: Finding, *, failing: bool | None = None) -> str:
    """`::error file=…,line=…,col=…,title=…::message` for one finding.

    `failing` (default: the finding is an error) makes it `::error`, e.g. a warning under
    --strict, which fails the job.
    """
    props: list[tuple[str, str]] = []
    # stdin has no file in the repository to annotate: the annotation goes on the run.
    if finding.file not in ("", "-"):
        props.append(("file", finding.file))
    if finding.line is not None:
        props.append(("line", str(finding.line)))
        if finding.column is not None:
            props.append(("col", str(finding.column)))
    props.append(("title", f"{finding.rule.id} {finding.rule.name}"))
    message = finding.message
    if finding.path:
        message += f"\nat {finding.path}"
    if finding.hint:
        message += f"\nhint: {finding.hint}"
    joined = ",".join(f"{key}={escape_property(value)}" for key, value in props)
    level = "error" if (finding.is_error if failing is None else failing) else "warning"
    return f"::{level} {joined}::{escape_data(message)}"


class GithubReporter(Reporter):
    """Masks first (so the runner hides them from then on), then one command per finding,
    then the plain checklist and summary line."""

    name = "github"

    def _render(self, report: Report) -> str:
        lines = [f"::add-mask::{escape_data(value)}" for value in self.masks if value]
        lines.extend(workflow_command(f, failing=report.fails_on(f)) for f in report.findings)
        lines.extend(checklist_lines(report, color=self.color))
        lines.append(summary_line(report, color=self.color))
        return "\n".join(lines) + "\n"
