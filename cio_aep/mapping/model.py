"""What a mapping set is once read: entries with their source, destination and place."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

from cio_aep.findings import Rule

# Data Prep's source types. Stored mapping sets mark plain attribute mappings with the
# content type "text/x.schema-path"; we treat it as ATTRIBUTE.
ATTRIBUTE = "ATTRIBUTE"
EXPRESSION = "EXPRESSION"
STATIC = "STATIC"
SOURCE_TYPES = {
    "attribute": ATTRIBUTE,
    "expression": EXPRESSION,
    "static": STATIC,
    "text/x.schema-path": ATTRIBUTE,
}

# Keys an entry may use for each field, in order of preference (current API form first,
# then the legacy form that stored sets carry alongside it).
SOURCE_KEYS = ("source", "sourceAttribute")
DESTINATION_KEYS = ("destination", "destinationXdmPath")
TYPE_KEYS = ("sourceType",)


class Locator(Protocol):
    """Where entries and their fields are in the input; (None, None) when unknown."""

    def entry(self, index: int) -> tuple[int | None, int | None]: ...

    def field(self, index: int, keys: tuple[str, ...]) -> tuple[int | None, int | None]: ...


class NoLocator:
    """For mapping data given as Python objects: no lines to point at."""

    def entry(self, index: int) -> tuple[int | None, int | None]:
        return None, None

    def field(self, index: int, keys: tuple[str, ...]) -> tuple[int | None, int | None]:
        return None, None


@dataclass
class ParsedMappings:
    """What a parser hands on: raw entries (dicts, or other junk to report) and a locator."""

    file: str
    format: str  # "json" | "yaml" | "csv" | "data"
    shape: str  # human description, e.g. "Data Prep API mapping set"
    items: list[object]
    locator: Locator = field(default_factory=NoLocator)
    # How findings name an entry: "mappings" ($.mappings[3]), "bare" ($[3]),
    # "config" ($.mappings["source"]) or "csv" (no JSON path).
    path_style: str = "mappings"


class MappingEntry:
    """One mapping: source → destination, with its index and (lazily) its line and column."""

    __slots__ = ("_owner", "destination", "index", "raw_source_type", "source", "source_type")

    def __init__(
        self,
        owner: MappingSet,
        index: int,
        source: str | None,
        destination: str | None,
        source_type: str,
        raw_source_type: object,
    ) -> None:
        self._owner = owner
        self.index = index
        self.source = source
        self.destination = destination
        self.source_type = source_type  # ATTRIBUTE | EXPRESSION | STATIC | the unknown raw text
        self.raw_source_type = raw_source_type

    @property
    def file(self) -> str:
        return self._owner.file

    @property
    def line(self) -> int | None:
        return self._owner.locator.entry(self.index)[0]

    @property
    def column(self) -> int | None:
        return self._owner.locator.entry(self.index)[1]

    def position(self, keys: tuple[str, ...] = ()) -> tuple[int | None, int | None]:
        """Line and column of the field stored under one of `keys`, else of the entry."""
        if keys:
            line, column = self._owner.locator.field(self.index, keys)
            if line is not None:
                return line, column
        return self._owner.locator.entry(self.index)

    def __repr__(self) -> str:
        return (
            f"MappingEntry({self.index}, source={self.source!r}, "
            f"destination={self.destination!r}, source_type={self.source_type!r})"
        )


@dataclass(frozen=True)
class EntryProblem:
    """Something wrong with an entry's shape, found while reading it."""

    index: int
    rule: Rule
    message: str
    keys: tuple[str, ...] = ()
    hint: str | None = None


@dataclass
class MappingSet:
    """The entries of one input, in order: raw items as parsed, `entries` when asked for."""

    file: str
    format: str
    shape: str
    locator: Locator
    path_style: str = "mappings"
    items: list[object] = field(default_factory=list)
    # Sources of config pairs by index (for their JSON paths); only the config shape has them.
    config_keys: list[object] = field(default_factory=list)

    @cached_property
    def entries(self) -> list[MappingEntry]:
        """Every item as a `MappingEntry` (items that are not objects have source None).

        Built on first use: the checks read the raw items directly, which is several times
        faster for 100,000 entries than building an object for each.
        """
        from cio_aep.mapping.entries import normalise_item

        out = []
        for index, item in enumerate(self.items):
            source, destination, kind, raw_type, _ = normalise_item(index, item)
            out.append(MappingEntry(self, index, source, destination, kind, raw_type))
        return out

    def entry(self, index: int) -> MappingEntry:
        """The entry at `index` (without building all of them)."""
        if "entries" in self.__dict__:
            return self.entries[index]
        from cio_aep.mapping.entries import normalise_item

        source, destination, kind, raw_type, _ = normalise_item(index, self.items[index])
        return MappingEntry(self, index, source, destination, kind, raw_type)

    def json_path(self, index: int, key: str | None = None) -> str | None:
        """`$.mappings[3].source`-style path of an entry (None for CSV rows)."""
        if self.path_style == "csv":
            return None
        if self.path_style == "config" and index < len(self.config_keys):
            name = self.config_keys[index]
            base = f"$.mappings[{json.dumps(name, default=str, ensure_ascii=False)}]"
            return base if key in (None, "source") else f"{base}.{key}"
        base = f"$[{index}]" if self.path_style == "bare" else f"$.mappings[{index}]"
        return f"{base}.{key}" if key else base
