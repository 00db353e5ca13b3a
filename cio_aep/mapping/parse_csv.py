"""CSV mappings (as exported from spreadsheets or the AEP UI), with a header row.

Adobe does not document the UI's CSV column names, so columns are recognised by name,
case-insensitively and ignoring spaces, `_` and `-`; other columns are ignored.
"""

from __future__ import annotations

import csv
import io
import re

from cio_aep.errors import InputError
from cio_aep.mapping.model import DESTINATION_KEYS, SOURCE_KEYS, TYPE_KEYS, ParsedMappings

SOURCE_COLUMNS = frozenset({"source", "sourceattribute", "sourcefield", "sourcepath"})
DESTINATION_COLUMNS = frozenset(
    {
        "destination",
        "target",
        "destinationxdmpath",
        "destinationfield",
        "destinationpath",
        "targetfield",
        "targetpath",
        "xdmpath",
    }
)
TYPE_COLUMNS = frozenset({"sourcetype", "type", "mappingtype"})
_DELIMITERS = (",", ";", "\t", "|")
_NOISE = re.compile(r"[\s_\-]+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
CSV_HINT = (
    "the first row must name the columns, e.g. source,destination[,sourceType] "
    "(also recognised: sourceAttribute, target, destinationXdmPath, type)"
)


def column_role(name: str) -> str | None:
    """ "source", "destination", "sourceType" or None for a header cell."""
    key = _NOISE.sub("", name.strip().strip('"').strip()).lower()
    if key in SOURCE_COLUMNS:
        return "source"
    if key in DESTINATION_COLUMNS:
        return "destination"
    if key in TYPE_COLUMNS:
        return "sourceType"
    return None


def header_delimiter(line: str) -> str | None:
    """The delimiter under which `line` is a header with a source and a destination column."""
    for delimiter in _DELIMITERS:
        if delimiter not in line:
            continue
        try:
            cells = next(csv.reader([line], delimiter=delimiter), [])
        except csv.Error:  # e.g. a lone carriage return: not a header line
            continue
        roles = {column_role(cell) for cell in cells}
        if "source" in roles and "destination" in roles:
            return delimiter
    return None


def _cell_starts(lines: list[str], first: int, delimiter: str) -> list[tuple[int, int]]:
    """(line, column), 1-based, where each cell of the record starting on line `first` starts;
    a quoted cell may span lines, so the record's physical lines are walked together."""
    starts = [(first, 1)]
    quoted = False
    for number in range(first, len(lines) + 1):
        for i, char in enumerate(lines[number - 1]):
            if char == '"':
                quoted = not quoted  # a doubled quote toggles twice: still right
            elif char == delimiter and not quoted:
                starts.append((number, i + 2))
        if not quoted:
            break  # the record ends on this line
    return starts


class _CsvLocator:
    def __init__(self, text: str, delimiter: str, rows: list[int], roles: dict[str, int]) -> None:
        self._text = text
        self._delimiter = delimiter
        self._rows = rows  # first physical line of each entry
        self._roles = roles  # role → cell index
        self._lines: list[str] | None = None

    def entry(self, index: int) -> tuple[int | None, int | None]:
        return self._rows[index], 1

    def field(self, index: int, keys: tuple[str, ...]) -> tuple[int | None, int | None]:
        role = (
            "source"
            if keys == SOURCE_KEYS
            else "destination"
            if keys == DESTINATION_KEYS
            else "sourceType"
            if keys == TYPE_KEYS
            else None
        )
        cell = self._roles.get(role or "")
        line = self._rows[index]
        if cell is None:
            return line, 1
        if self._lines is None:
            self._lines = _LINE_BREAK.split(self._text)
        starts = _cell_starts(self._lines, line, self._delimiter)
        return starts[cell] if cell < len(starts) else (line, 1)


def parse_csv(text: str, file: str) -> ParsedMappings:
    """Rows of a CSV with a recognised header; InputError (with line) when it cannot be read."""
    first_line = next((ln for ln in _LINE_BREAK.split(text) if ln.strip()), "")
    delimiter = header_delimiter(first_line) or ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    items: list[object] = []
    rows: list[int] = []
    roles: dict[str, int] = {}
    consumed = 0
    try:
        for record in reader:
            start = consumed + 1
            consumed = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if not roles:
                roles = _roles(record, file, start)
                continue
            item: dict[str, object] = {}
            for role, cell in roles.items():
                item[role] = record[cell] if cell < len(record) else None
            if item.get("sourceType") in ("", None):
                item.pop("sourceType", None)
            items.append(item)
            rows.append(start)
    except csv.Error as err:
        raise InputError(f"invalid CSV: {err}", source=file, line=reader.line_num) from None
    if not roles:
        raise InputError("empty: no CSV header row", source=file, hint=CSV_HINT)
    locator = _CsvLocator(text, delimiter, rows, roles)
    return ParsedMappings(file, "csv", "CSV", items, locator, "csv")


def _roles(header: list[str], file: str, line: int) -> dict[str, int]:
    roles: dict[str, int] = {}
    for index, name in enumerate(header):
        role = column_role(name)
        if role is not None and role not in roles:
            roles[role] = index
    missing = [r for r in ("source", "destination") if r not in roles]
    if missing:
        found = ", ".join(repr(h) for h in header[:8])
        raise InputError(
            f"CSV header has no {' or '.join(missing)} column (columns: {found})",
            source=file,
            line=line,
            column=1,
            hint=CSV_HINT,
        )
    return roles
