"""YAML mapping sets (hand-written configs), with line and column from PyYAML's node marks.

PyYAML is imported here only, and this module only when a YAML input turns up.
"""

from __future__ import annotations

from typing import Any

import yaml

from cio_aep.errors import InputError
from cio_aep.json_limits import TOO_LONG, is_long_number
from cio_aep.mapping import shapes
from cio_aep.mapping.model import ParsedMappings

# The C loader (libyaml) when PyYAML was built with it: several times faster.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _NodeLocator:
    """Positions from the composed nodes: item nodes of a list, or key/value nodes of a config."""

    def __init__(self, nodes: list[tuple[yaml.Node | None, yaml.Node]]) -> None:
        self._nodes = nodes  # (key node or None, entry node)

    def entry(self, index: int) -> tuple[int | None, int | None]:
        key, node = self._nodes[index]
        return _mark(key if key is not None else node)

    def field(self, index: int, keys: tuple[str, ...]) -> tuple[int | None, int | None]:
        key, node = self._nodes[index]
        if key is not None:  # config pair: the key is the source
            if "source" in keys:
                return _mark(key)
            if not isinstance(node, yaml.MappingNode):
                return _mark(node) if "destination" in keys else (None, None)
        if isinstance(node, yaml.MappingNode):
            for wanted in keys:
                for k, v in reversed(node.value):
                    if isinstance(k, yaml.ScalarNode) and k.value == wanted:
                        return _mark(v)
        return None, None


def parse_yaml(text: str, file: str) -> ParsedMappings:
    """A mapping document in YAML; InputError (with line and column) when it cannot be read."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InputError("empty: no YAML document in it", source=file)
        return _parse(loader, node, file)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = (err.problem or err.context or "cannot parse").splitlines()[0]
        raise InputError(
            f"invalid YAML: {problem}",
            source=file,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as err:
        first = str(err).splitlines()[0] if str(err) else "cannot parse"
        raise InputError(f"invalid YAML: {first}", source=file) from None
    except RecursionError:
        raise InputError("nested too deeply to read; not a mapping set", source=file) from None
    finally:
        loader.dispose()


def _construct(loader: Any, node: yaml.Node, file: str) -> object:
    """A node's value; a scalar that parses but cannot be built is an InputError at its place.

    PyYAML resolves `2024-13-45` as a date and 5,000 digits as an int, then raises ValueError
    building them; that is bad input, not a bug.
    """
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, OverflowError) as err:
        line, column = _mark(node)
        reason = TOO_LONG if is_long_number(err) else str(err).splitlines()[0]
        raise InputError(
            f"invalid YAML: a value cannot be read: {reason}", source=file, line=line, column=column
        ) from None


def _parse(loader: Any, node: yaml.Node, file: str) -> ParsedMappings:
    if isinstance(node, yaml.SequenceNode):
        items = [_construct(loader, n, file) for n in node.value]
        shape = shapes.list_shape(items, bare=True, has_output_schema=False)
        locator = _NodeLocator([(None, n) for n in node.value])
        return ParsedMappings(file, "yaml", shape, items, locator, "bare")
    if not isinstance(node, yaml.MappingNode):
        value = _construct(loader, node, file)
        raise shapes.top_level_error(value, file, *_mark(node))
    found: tuple[yaml.Node, yaml.Node] | None = None
    keys: list[str] = []
    has_schema = False
    for key, value in node.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else None
        keys.append(str(name))
        if name == "mappings":
            found = (key, value)
        has_schema = has_schema or name == "outputSchema"
    if found is None:
        raise shapes.no_mappings_error(keys, file)
    mappings = found[1]
    if isinstance(mappings, yaml.SequenceNode):
        items = [_construct(loader, n, file) for n in mappings.value]
        shape = shapes.list_shape(items, bare=False, has_output_schema=has_schema)
        locator = _NodeLocator([(None, n) for n in mappings.value])
        return ParsedMappings(file, "yaml", shape, items, locator)
    if isinstance(mappings, yaml.MappingNode):
        pairs: list[tuple[yaml.Node | None, yaml.Node]] = []
        config: list[object] = []
        for key, value in mappings.value:
            source = _construct(loader, key, file)
            # A YAML key may be a number or a list; entries.py reports the wrong type.
            config.append(shapes.config_item(source, _construct(loader, value, file)))
            pairs.append((key, value))
        locator = _NodeLocator(pairs)
        return ParsedMappings(file, "yaml", shapes.CONFIG_OBJECT_SHAPE, config, locator, "config")
    value = _construct(loader, mappings, file)
    raise shapes.bad_mappings_error(value, file, *_mark(mappings))
