"""Recognising which of the accepted mapping shapes a parsed document has.

Shared by the JSON and YAML parsers, which differ only in how they know positions.
"""

from __future__ import annotations

from cio_aep.errors import InputError
from cio_aep.mapping.entries import json_type

SHAPES_HINT = (
    'expected {"mappings": [{"sourceType": ..., "source": ..., "destination": ...}]} '
    "(Data Prep API), legacy entries with sourceAttribute/destinationXdmPath, a bare list "
    'of entries, or a config {"mappings": {"<source path>": "<destination>"}}'
)

_API_KEYS = ("source", "destination", "sourceType")
_LEGACY_KEYS = ("sourceAttribute", "destinationXdmPath")


def list_shape(items: list[object], *, bare: bool, has_output_schema: bool) -> str:
    """A human name for a list of entries, from the vocabulary its first entries use."""
    sample = [item for item in items[:20] if isinstance(item, dict)]
    api = any(k in item for item in sample for k in _API_KEYS)
    legacy = any(k in item for item in sample for k in _LEGACY_KEYS)
    if api and legacy:
        kind = "stored mapping set (both vocabularies)"
    elif legacy:
        kind = "legacy mapping set (sourceAttribute/destinationXdmPath)"
    elif has_output_schema or any("sourceType" in item for item in sample):
        kind = "Data Prep API mapping set"
    else:
        kind = "mapping config (list of entries)"
    return f"bare list: {kind}" if bare else kind


CONFIG_OBJECT_SHAPE = "mapping config (source: destination)"


def config_item(source: object, value: object) -> dict[str, object]:
    """One `"source": destination` (or `"source": {destination, sourceType}`) config pair."""
    if isinstance(value, dict):
        item: dict[str, object] = {"source": source}
        item.update(value)
        return item
    return {"source": source, "destination": value}


def top_level_error(value: object, file: str, line: int | None, column: int | None) -> InputError:
    """The top level is neither an object nor a list."""
    return InputError(
        f"top level is {json_type(value)}, not a mapping set",
        source=file,
        line=line,
        column=column,
        hint=SHAPES_HINT,
    )


def no_mappings_error(keys: list[str], file: str) -> InputError:
    shown = ", ".join(repr(k) for k in keys[:8]) or "none"
    return InputError(
        f'no "mappings" key in the top-level object (keys: {shown})',
        source=file,
        line=1,
        hint=SHAPES_HINT,
    )


def bad_mappings_error(
    value: object, file: str, line: int | None, column: int | None
) -> InputError:
    return InputError(
        f'"mappings" is {json_type(value)}; expected a list of entries or an object of '
        "source: destination pairs",
        source=file,
        line=line,
        column=column,
        hint=SHAPES_HINT,
    )
