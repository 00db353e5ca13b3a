"""Small pieces every command shares: messages on stderr, writing data, report formats."""

from __future__ import annotations

import enum
import os
import sys
from pathlib import Path

from cio_aep.errors import UsageError


class ReportFormat(str, enum.Enum):
    """Output formats of the validating commands (one reporter class each)."""

    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"
    junit = "junit"


def color_enabled(stream: object = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    target = stream if stream is not None else sys.stderr
    isatty = getattr(target, "isatty", None)
    return bool(isatty and isatty())


def info(message: str) -> None:
    """A message for the person at the terminal: stderr, so stdout stays data."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def warn(message: str) -> None:
    info(f"warning: {message}")


def write_data(text: str, output: Path | None = None, *, force: bool = False) -> None:
    """Write command output to stdout, or to `output` (refusing to overwrite unless `force`)."""
    if not text.endswith("\n"):
        text += "\n"
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    if output.is_dir():
        raise UsageError(f"{output}: is a directory; give a file name for --output")
    if output.exists() and not force:
        raise UsageError(f"{output}: already exists", hint="add --force to overwrite it")
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as err:
        raise UsageError(f"{output}: cannot write: {err.strerror}") from None
    info(f"wrote {output}")
