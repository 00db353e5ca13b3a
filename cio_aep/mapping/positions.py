"""Offsets in a text → 1-based line and column, cheap when only a few are asked for."""

from __future__ import annotations

import bisect
import itertools

# Look-ups that go backwards are counted from the start of the text; past this many, an index
# of every line start is cheaper.
_INDEX_AFTER = 8


class LineIndex:
    """Turns character offsets into (line, column), both 1-based, columns in characters.

    Findings are mostly asked for in file order, so each look-up counts newlines from the
    previous one; a full index of line starts is built only when look-ups jump around.
    """

    __slots__ = ("_backward", "_last_line", "_last_offset", "_starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: list[int] | None = None
        self._backward = 0
        self._last_offset = 0
        self._last_line = 1

    def position(self, offset: int) -> tuple[int, int]:
        """The line and column of the character at `offset`."""
        text = self.text
        offset = max(0, min(offset, len(text)))
        if self._starts is None:
            if offset >= self._last_offset:
                line = self._last_line + text.count("\n", self._last_offset, offset)
            elif self._backward < _INDEX_AFTER:
                self._backward += 1
                line = text.count("\n", 0, offset) + 1
            else:
                # Line starts: cumulative (length + 1) of the lines, computed in C.
                lengths = map(len, text.split("\n"))
                self._starts = [0, *itertools.accumulate(map((1).__add__, lengths))]
                return self.position(offset)
            self._last_offset, self._last_line = offset, line
            return line, offset - text.rfind("\n", 0, offset)
        line = bisect.bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1
