"""What every reporter shares: the `Reporter` base class and small display helpers.

A reporter turns a `cio_aep.findings.Report` into text. Reporters never print: the command
decides where the text goes (stdout or `--output`).
"""

from __future__ import annotations

import abc
import re
from collections.abc import Sequence
from typing import ClassVar

from cio_aep.findings import Finding, Report

# Lone surrogates (from file names decoded with surrogateescape) cannot be written as UTF-8.
_SURROGATES = re.compile("[\ud800-\udfff]")
# C0/C1 control characters except tab and newline: shown escaped so a crafted message cannot
# move the cursor or recolour a terminal, and so that XML 1.0 stays well-formed.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")


class Reporter(abc.ABC):
    """Renders a `Report` in one output format. Subclasses implement `_render`."""

    name: ClassVar[str]

    def __init__(self, *, color: bool = False, masks: Sequence[str] = ()) -> None:
        self.color = color
        # Secrets the CI runner must hide (github format only; other formats ignore them).
        self.masks = tuple(masks)

    def render(self, report: Report) -> str:
        """The whole document, ending with a newline, safe to encode as UTF-8."""
        text = self._render(report)
        if not text.endswith("\n"):
            text += "\n"
        return _SURROGATES.sub("\ufffd", text)

    @abc.abstractmethod
    def _render(self, report: Report) -> str:
        """The document in this format."""


def printable(text: str) -> str:
    """`text` with control characters shown as `\\xNN` (tab and newline kept)."""
    return _CONTROL.sub(_escape_char, text)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def display_file(file: str) -> str:
    """How a finding's file is shown to people: stdin (`-`) reads as `<stdin>`."""
    return "<stdin>" if file in ("", "-") else file


def location(finding: Finding) -> str:
    """`file:line:column` as compilers print it; line and column only when known."""
    where = display_file(finding.file)
    if finding.line is not None:
        where += f":{finding.line}"
        if finding.column is not None:
            where += f":{finding.column}"
    return where


def files_count(report: Report) -> int:
    """Files checked: those the command read, or else those findings name."""
    return len(report.files) or len({f.file for f in report.findings})


def checks_count(report: Report) -> int:
    """Checks that ran, even when the command did not keep their names."""
    return max(report.checks_total, len(report.checks))
