"""Opening an input file: one place for the errors every reader gives alike.

No such file, a directory, no permission, or any other OS error becomes one InputError that
names the file; reads are bounded so that `/dev/zero` or a wrong file cannot fill memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from cio_aep.errors import InputError


def open_file(name: str, what: str, *, hint: str | None = None) -> BinaryIO:
    """`name` opened for binary reading; `what` names the file expected, for a directory."""
    path = Path(name)
    try:
        if path.is_dir():
            raise IsADirectoryError
        return path.open("rb")
    except FileNotFoundError:
        raise InputError("no such file", source=name, hint=hint) from None
    except IsADirectoryError:
        raise InputError(f"is a directory, expected {what}", source=name, hint=hint) from None
    except PermissionError:
        raise InputError("permission denied", source=name, hint=hint) from None
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", source=name, hint=hint) from None


def read_capped(name: str, limit: int, what: str, *, hint: str | None = None) -> bytes:
    """At most `limit` + 1 bytes of `name` (one more than allowed: the caller says "too large")."""
    with open_file(name, what, hint=hint) as handle:
        try:
            return handle.read(limit + 1)
        except OSError as err:
            raise InputError(
                f"cannot read: {err.strerror or err}", source=name, hint=hint
            ) from None
