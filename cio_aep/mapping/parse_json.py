"""JSON mapping sets with the line and column of every entry and field.

The standard library's json gives no positions, and a pure-Python tokenizer would be ~30×
slower than json's C scanner. So the C scanner parses the document in big pieces (one call
for the whole "mappings" array), and positions are found afterwards, only when a finding
needs one, by stepping through the array element by element with the same scanner.
"""

from __future__ import annotations

import json
import re
from json.scanner import make_scanner

from cio_aep.errors import InputError
from cio_aep.json_limits import TOO_LONG, is_long_number, long_number_position
from cio_aep.mapping import shapes
from cio_aep.mapping.model import ParsedMappings
from cio_aep.mapping.positions import LineIndex

_SCAN = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # typeshed is wrong
_WS = re.compile(r"[ \t\n\r]*")
_ARRAY_SEP = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")
_OBJECT_SEP = re.compile(r"[ \t\n\r]*([,}])[ \t\n\r]*")
_COLON = re.compile(r"[ \t\n\r]*:[ \t\n\r]*")
_NESTING_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_MAX_DEPTH = 500

Pair = tuple[str, int, object, int]  # key, key offset, value, value offset


class _Syntax(Exception):
    """The fast path met something it does not expect; json.loads will say what."""


def _pairs(text: str, start: int) -> tuple[list[Pair], int]:
    """The members of the object at `text[start] == "{"`, in order, and the end offset."""
    j = _WS.match(text, start + 1).end()  # type: ignore[union-attr]
    pairs: list[Pair] = []
    if text.startswith("}", j):
        return pairs, j + 1
    while True:
        if not text.startswith('"', j):
            raise _Syntax
        key, end = _SCAN(text, j)
        colon = _COLON.match(text, end)
        if colon is None:
            raise _Syntax
        value_at = colon.end()
        value, end = _SCAN(text, value_at)
        pairs.append((key, j, value, value_at))
        sep = _OBJECT_SEP.match(text, end)
        if sep is None:
            raise _Syntax
        if sep.group(1) == "}":
            return pairs, end + sep.group(0).index("}") + 1
        j = sep.end()


def _find_key(text: str, start: int, keys: tuple[str, ...]) -> int | None:
    """Offset of the value stored under the first of `keys` in the object at `start`."""
    if not text.startswith("{", start):
        return None
    pairs, _ = _pairs(text, start)
    for key in keys:
        for name, _k, _v, value_at in reversed(pairs):  # json keeps the last duplicate
            if name == key:
                return value_at
    return None


class _ArrayLocator:
    """Positions of the elements of one JSON array, found lazily and only as far as needed."""

    def __init__(self, text: str, lines: LineIndex, array_at: int) -> None:
        self._text = text
        self._lines = lines
        self._starts: list[int] = []
        self._next = _WS.match(text, array_at + 1).end()  # type: ignore[union-attr]
        self._done = text.startswith("]", self._next)

    def _offset(self, index: int) -> int | None:
        starts, text = self._starts, self._text
        while len(starts) <= index and not self._done:
            at = self._next
            starts.append(at)
            _, end = _SCAN(text, at)
            sep = _ARRAY_SEP.match(text, end)
            if sep is None or sep.group(1) == "]":
                self._done = True
            else:
                self._next = sep.end()
        return starts[index] if index < len(starts) else None

    def entry(self, index: int) -> tuple[int | None, int | None]:
        at = self._offset(index)
        return (None, None) if at is None else self._lines.position(at)

    def field(self, index: int, keys: tuple[str, ...]) -> tuple[int | None, int | None]:
        at = self._offset(index)
        value_at = None if at is None else _find_key(self._text, at, keys)
        return (None, None) if value_at is None else self._lines.position(value_at)


class _ConfigLocator:
    """Positions in a `{"mappings": {"source": "destination"}}` config."""

    def __init__(self, text: str, lines: LineIndex, pairs: list[Pair]) -> None:
        self._text = text
        self._lines = lines
        self._pairs = pairs

    def entry(self, index: int) -> tuple[int | None, int | None]:
        return self._lines.position(self._pairs[index][1])

    def field(self, index: int, keys: tuple[str, ...]) -> tuple[int | None, int | None]:
        _key, key_at, value, value_at = self._pairs[index]
        if "source" in keys:
            return self._lines.position(key_at)
        if isinstance(value, dict):
            found = _find_key(self._text, value_at, keys)
            return (None, None) if found is None else self._lines.position(found)
        if "destination" in keys:
            return self._lines.position(value_at)
        return None, None


def parse_json(text: str, file: str) -> ParsedMappings:
    """A mapping document in JSON; InputError (with line and column) when it cannot be read."""
    if "\r" in text and "\n" not in text:
        # Classic Mac line ends: editors count them as lines. One character for one, so every
        # offset stays; a raw CR or LF inside a JSON string is invalid either way.
        text = text.replace("\r", "\n")
    lines = LineIndex(text)
    try:
        return _parse(text, file, lines)
    except InputError:
        raise
    except RecursionError:
        raise _nesting_error(text, file, lines) from None
    except (_Syntax, StopIteration, ValueError, IndexError):
        raise _canonical_error(text, file, lines) from None


def _parse(text: str, file: str, lines: LineIndex) -> ParsedMappings:
    start = _WS.match(text, 0).end()  # type: ignore[union-attr]
    if start == len(text):
        raise InputError("empty: no JSON in it", source=file)
    if text[start] == "[":
        entries, end = _SCAN(text, start)
        _expect_end(text, end)
        shape = shapes.list_shape(entries, bare=True, has_output_schema=False)
        return ParsedMappings(
            file, "json", shape, entries, _ArrayLocator(text, lines, start), "bare"
        )
    if text[start] != "{":
        value, end = _SCAN(text, start)
        _expect_end(text, end)
        raise shapes.top_level_error(value, file, *lines.position(start))
    top, end = _pairs(text, start)
    _expect_end(text, end)
    found: Pair | None = None
    for pair in top:
        if pair[0] == "mappings":
            found = pair  # the last one wins, as in json.loads
    if found is None:
        raise shapes.no_mappings_error([p[0] for p in top], file)
    _key, _key_at, mappings, value_at = found
    if isinstance(mappings, list):
        has_schema = any(p[0] == "outputSchema" for p in top)
        shape = shapes.list_shape(mappings, bare=False, has_output_schema=has_schema)
        return ParsedMappings(file, "json", shape, mappings, _ArrayLocator(text, lines, value_at))
    if isinstance(mappings, dict):
        pairs, _ = _pairs(text, value_at)
        items: list[object] = [shapes.config_item(k, v) for k, _ka, v, _va in pairs]
        config = _ConfigLocator(text, lines, pairs)
        return ParsedMappings(file, "json", shapes.CONFIG_OBJECT_SHAPE, items, config, "config")
    raise shapes.bad_mappings_error(mappings, file, *lines.position(value_at))


def _expect_end(text: str, end: int) -> None:
    if _WS.match(text, end).end() != len(text):  # type: ignore[union-attr]
        raise _Syntax


def _canonical_error(text: str, file: str, lines: LineIndex) -> InputError:
    """json.loads' own message and position for a document the fast path refused."""
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        return InputError(
            f"invalid JSON: {err.msg}", source=file, line=err.lineno, column=err.colno
        )
    except RecursionError:
        return _nesting_error(text, file, lines)
    except ValueError as err:
        if is_long_number(err):
            line, column = long_number_position(text)
            return InputError(f"invalid JSON: {TOO_LONG}", source=file, line=line, column=column)
        return InputError(f"invalid JSON: {err}", source=file)
    return InputError("invalid JSON", source=file)


def _nesting_error(text: str, file: str, lines: LineIndex) -> InputError:
    depth = 0
    for token in _NESTING_TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > _MAX_DEPTH:
                line, column = lines.position(token.start())
                return InputError(
                    f"nested more than {_MAX_DEPTH} levels deep; not a mapping set",
                    source=file,
                    line=line,
                    column=column,
                )
        elif char in "]}":
            depth -= 1
    return InputError("nested too deeply to read; not a mapping set", source=file)
