"""The dead-letter file: events that failed for good, one JSON object a line (NDJSON).

A line is `{"event": <the event as read>, "status": <HTTP status, or "invalid", "timeout",
"connection_refused"...>, "message": "...", "attempts": N, "source": "<file>", "line": N}`.
It is itself a valid `replay` input: the reader recognises such lines and replays their `event`
(an invalid line's `event` is the text as read, a string, which stays invalid until fixed).

The key never gets here: only the event, AEP's answer and where the event came from.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from cio_aep.errors import CioAepError, UsageError

_FIELDS = frozenset({"event", "status", "message", "attempts", "source", "line"})
INVALID = "invalid"


def dead_letter_record(
    event: object,
    *,
    status: int | str,
    message: str,
    attempts: int,
    source: str,
    line: int | None,
) -> dict[str, Any]:
    """One dead-letter line as a dict (key order as documented)."""
    return {
        "event": event,
        "status": status,
        "message": message,
        "attempts": attempts,
        "source": source,
        "line": line,
    }


def unwrap_dead_letter(value: object) -> tuple[object, bool]:
    """(the event to send, True) for a dead-letter line; (value, False) for anything else.

    A line is a dead-letter line when it has exactly the documented fields: an event that
    merely carries an `event` field is sent as it is.
    """
    if isinstance(value, Mapping) and len(value) == len(_FIELDS) and _FIELDS.issuperset(value):
        return value["event"], True
    return value, False


class DeadLetterWriter:
    """Appends dead-letter lines; `flush()` hands them to the OS, `sync()` makes them durable.

    A fresh run truncates the file; a resumed run first cuts it back to the size recorded with
    the checkpoint (lines written after it belong to events that will be sent again) and appends.
    """

    def __init__(self, path: Path, *, resume_at: int | None = None) -> None:
        self.path = path
        self.count = 0
        try:
            if resume_at is None:
                self._file: IO[bytes] = open(path, "wb")  # noqa: SIM115 (closed by close())
            else:
                self._file = open(path, "ab")  # noqa: SIM115
                size = self._file.seek(0, os.SEEK_END)
                if size > resume_at:
                    self._file.truncate(resume_at)
                    self._file.seek(resume_at)
        except IsADirectoryError:
            raise UsageError(
                f"{path}: is a directory; give a file name for --dead-letter"
            ) from None
        except OSError as err:
            raise UsageError(
                f"{path}: cannot write the dead-letter file: {err.strerror}"
            ) from None

    def _failed(self, err: OSError) -> CioAepError:
        return CioAepError(
            f"{self.path}: cannot write the dead-letter file: {err.strerror or err}"
        )

    def write(self, record: Mapping[str, Any]) -> None:
        """Append one line (buffered). Raises CioAepError naming the file if it cannot."""
        # ensure_ascii: an invalid line's text may hold lone surrogates; escaped, it stays JSON.
        line = json.dumps(record, separators=(",", ":")).encode("ascii") + b"\n"
        try:
            self._file.write(line)
        except OSError as err:
            raise self._failed(err) from None
        self.count += 1

    def flush(self) -> int:
        """Hand buffered lines to the OS; returns the file size so far."""
        try:
            self._file.flush()
            return self._file.tell()
        except OSError as err:
            raise self._failed(err) from None

    def sync(self) -> None:
        """Make flushed lines durable (before a checkpoint that counts them is written)."""
        try:
            os.fsync(self._file.fileno())
        except OSError as err:
            if err.errno == errno.EINVAL:  # a device or pipe (/dev/null): nothing to sync
                return
            raise self._failed(err) from None

    def close(self) -> None:
        """Flush, sync and close (closed even when the flush fails, which is raised)."""
        if self._file.closed:
            return
        try:
            self.flush()
            self.sync()
        finally:
            with contextlib.suppress(OSError):
                self._file.close()
