"""Offsets in a text → 1-based line and column, cheap when only a few are asked for."""

from __future__ import annotations

import bisect
import re

_NEWLINE = re.compile("\n")
# Below this many look-ups, counting newlines is cheaper than indexing every line start.
_INDEX_AFTER = 16


class LineIndex:
    """Turns character offsets into (line, column), both 1-based, columns in characters."""

    __slots__ = ("_lookups", "_starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: list[int] | None = None
        self._lookups = 0

    def position(self, offset: int) -> tuple[int, int]:
        """The line and column of the character at `offset`."""
        offset = max(0, min(offset, len(self.text)))
        if self._starts is None:
            self._lookups += 1
            if self._lookups <= _INDEX_AFTER:
                line = self.text.count("\n", 0, offset) + 1
                start = self.text.rfind("\n", 0, offset) + 1
                return line, offset - start + 1
            self._starts = [0, *(m.end() for m in _NEWLINE.finditer(self.text))]
        line = bisect.bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1
