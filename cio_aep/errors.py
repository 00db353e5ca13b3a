"""One exception base for every failure a user can act on, and the exit codes.

The CLI catches `CioAepError` once (cio_aep/cli/main.py) and prints its message as one line;
no traceback reaches a user for a bad file, flag or URL.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit codes, documented in README."""

    OK = 0
    FAILED = 1  # checks failed, or events rejected
    USAGE = 2  # bad usage or unreadable input
    NETWORK = 3  # could not reach the endpoint
    INTERRUPTED = 130


class CioAepError(Exception):
    """Base of every expected failure. `str(err)` is the one line shown to the user."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(CioAepError):
    """A flag or argument that cannot work (exit 2)."""


class InputError(CioAepError):
    """An input file or stream that cannot be read or parsed (exit 2)."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = source or ""
        if source and line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.source = source
        self.line = line
        self.column = column


class WebhookUrlError(UsageError):
    """A streaming endpoint, dataflow ID or webhook URL that Customer.io must not be given."""


class NetworkError(CioAepError):
    """The endpoint could not be reached at all (exit 3)."""

    exit_code = ExitCode.NETWORK
