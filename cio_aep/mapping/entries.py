"""Raw parsed entries (any vocabulary) → source, destination and source type, plus problems."""

from __future__ import annotations

from cio_aep.mapping import rules
from cio_aep.mapping.model import (
    ATTRIBUTE,
    DESTINATION_KEYS,
    SOURCE_KEYS,
    SOURCE_TYPES,
    TYPE_KEYS,
    EntryProblem,
    MappingSet,
    ParsedMappings,
)

Normalised = tuple[str | None, str | None, str, object, list[EntryProblem]]


def json_type(value: object) -> str:
    """The JSON name of a Python value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def to_mapping_set(parsed: ParsedMappings) -> MappingSet:
    """A `MappingSet` over the parsed items."""
    mset = MappingSet(
        parsed.file, parsed.format, parsed.shape, parsed.locator, parsed.path_style, parsed.items
    )
    if parsed.path_style == "config":
        mset.config_keys = [
            item.get("source") if isinstance(item, dict) else None for item in parsed.items
        ]
    return mset


def normalise_item(index: int, item: object) -> Normalised:
    """Source, destination, source type (ATTRIBUTE/EXPRESSION/STATIC or the unknown raw text),
    the raw sourceType, and the problems of one entry, whichever vocabulary it uses."""
    problems: list[EntryProblem] = []
    if not isinstance(item, dict):
        problems.append(
            EntryProblem(
                index,
                rules.INVALID_ENTRY,
                f"mapping entry #{index + 1} is {_a(json_type(item))}, not an object",
                hint='write it as {"sourceType": "ATTRIBUTE", "source": ..., "destination": ...}',
            )
        )
        return None, None, ATTRIBUTE, None, problems
    source = item.get("source")
    if source is None:
        source = item.get("sourceAttribute")
    elif "sourceAttribute" in item:
        _conflict(item, index, "source", "sourceAttribute", problems)
    destination = item.get("destination")
    if destination is None:
        destination = item.get("destinationXdmPath")
    elif "destinationXdmPath" in item:
        _conflict(item, index, "destination", "destinationXdmPath", problems)
    raw_type = item.get("sourceType")
    kind = ATTRIBUTE  # the legacy form has no sourceType: plain attributes
    if isinstance(raw_type, str):
        kind = SOURCE_TYPES.get(raw_type.strip().lower(), raw_type)
    elif raw_type is not None:
        _not_string(index, "sourceType", raw_type, TYPE_KEYS, problems)
    if source is not None and not isinstance(source, str):
        _not_string(index, "source", source, SOURCE_KEYS, problems)
        source = None
    if destination is not None and not isinstance(destination, str):
        _not_string(index, "destination", destination, DESTINATION_KEYS, problems)
        destination = None
    return source, destination, kind, raw_type, problems


def _a(type_name: str) -> str:
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"


def _not_string(
    index: int, name: str, value: object, keys: tuple[str, ...], problems: list[EntryProblem]
) -> None:
    problems.append(
        EntryProblem(
            index,
            rules.INVALID_ENTRY,
            f"{name} of mapping entry #{index + 1} is {_a(json_type(value))}, not a string",
            keys,
            hint=f"write {name} as a string",
        )
    )


def _conflict(
    item: dict[str, object], index: int, key: str, legacy: str, problems: list[EntryProblem]
) -> None:
    new, old = item[key], item[legacy]
    if old is None or new == old:
        return
    problems.append(
        EntryProblem(
            index,
            rules.CONFLICTING_VOCABULARY,
            f"mapping entry #{index + 1} says {key} {new!r} but {legacy} {old!r}; "
            f"AEP may use either",
            (legacy,),
            hint=f"make {legacy} equal to {key}, or drop {legacy}",
        )
    )
