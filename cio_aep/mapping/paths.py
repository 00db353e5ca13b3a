"""Data Prep field paths: dot notation, `\\.` for a literal dot, `[0]`/`[*]` for arrays."""

from __future__ import annotations

import re

_INDEX = re.compile(r"\[(?:[0-9]+|\*)\]")
_UNESCAPED_DOT = re.compile(r"(?<!\\)\.")


def normalise(path: str) -> str:
    """`data.recipients[0].device_id` → `data.recipients[*].device_id` (any index → `[*]`)."""
    return _INDEX.sub("[*]", path) if "[" in path else path


def without_indexes(path: str) -> str:
    """`data.recipients[*].device_id` → `data.recipients.device_id`."""
    return _INDEX.sub("", path) if "[" in path else path


def segments(path: str) -> list[str]:
    """The names along a path, split on unescaped dots, indexes dropped, escapes undone."""
    parts = _UNESCAPED_DOT.split(path) if "\\" in path else path.split(".")
    return [without_indexes(p).replace("\\.", ".") for p in parts]


def last_segment(path: str) -> str:
    """The field name a path ends in: `_tenant.customerio.event_id` → `event_id`."""
    if "\\" not in path and "[" not in path:
        return path.rpartition(".")[2]
    return segments(path)[-1]
