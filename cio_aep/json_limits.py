"""JSON that is well formed but beyond what Python will decode: the message and the place.

`json` raises a plain ValueError for an integer longer than `sys.get_int_max_str_digits()`
(4,300 by default, a guard against quadratic-time conversion). The message names a Python
setting, which means nothing to a user; this names the number and where it is.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from cio_aep.errors import InputError

TOO_LONG = "a number too long to read (thousands of digits)"


def is_long_number(err: BaseException) -> bool:
    return isinstance(err, ValueError) and "digits" in str(err)


def long_number_position(text: str) -> tuple[int | None, int | None]:
    """Line and column (1-based) of the first integer over the digit limit, if found."""
    limit = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 4300
    found = re.search(f"[0-9]{{{limit + 1},}}", text) if limit else None
    if found is None:
        return None, None
    start = found.start()
    line = text.count("\n", 0, start) + 1
    return line, start - (text.rfind("\n", 0, start) + 1) + 1


def load_json(text: str, source: str, what: str, hint: str | None = None) -> Any:
    """`json.loads(text)`, or an InputError that says `what` is wrong and where.

    `what` starts every message, e.g. "invalid JSON in the XDM schema".
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(
            f"{what}: {err.msg}", source=source, line=err.lineno, column=err.colno, hint=hint
        ) from None
    except RecursionError:
        raise InputError(f"{what}: nested too deeply to read", source=source) from None
    except ValueError as err:
        if is_long_number(err):
            line, column = long_number_position(text)
            raise InputError(
                f"{what}: {TOO_LONG}", source=source, line=line, column=column
            ) from None
        raise InputError(f"{what}: {err}", source=source) from None
