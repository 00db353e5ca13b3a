"""The fields of an XDM schema as the Schema Registry returns it, for checking destinations.

Understands `properties` (nested), arrays (`items`), `allOf`, `$ref` within the document
(`#/definitions/...` pointers or `$id`s), `meta:xdmType`/`type`/`format`, and tenant objects
(`_tenant`). A `$ref` to another document, or a map (`additionalProperties`), cannot be
followed offline: everything below it is accepted rather than reported.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from typing import Any

from cio_aep.errors import InputError
from cio_aep.json_limits import load_json
from cio_aep.mapping.paths import normalise, without_indexes

_MAX_DEPTH = 64
_MAX_SUGGESTIONS = 500

# XDM types a JSON value of each type can land in without a conversion.
_COMPATIBLE: dict[str, frozenset[str]] = {
    "string": frozenset({"string", "date-time", "date"}),
    "integer": frozenset({"int", "long", "short", "byte", "integer", "number", "double", "string"}),
    "number": frozenset({"number", "double", "string"}),
    "boolean": frozenset({"boolean", "string"}),
    "object": frozenset({"object", "map"}),
    "array": frozenset({"array"}),
}
NUMERIC_XDM = frozenset({"int", "long", "short", "byte", "integer", "number", "double"})
DATE_XDM = frozenset({"date-time", "date"})


@dataclass
class XdmSchema:
    """Destination paths (indexes as `[*]`) → XDM type names."""

    file: str
    types: dict[str, str] = field(default_factory=dict)
    open_prefixes: set[str] = field(default_factory=set)
    _unindexed: dict[str, str] = field(default_factory=dict)
    _suggested: int = 0

    def lookup(self, destination: str) -> str | None:
        """The XDM type at `destination`; "" when it lies below something we cannot see."""
        key = normalise(destination)
        found = self.types.get(key)
        if found is None:
            alias = self._unindexed.get(without_indexes(key))
            found = self.types.get(alias) if alias is not None else None
        if found is not None:
            return found
        parts = without_indexes(key).split(".")
        for i in range(len(parts), -1, -1):
            if ".".join(parts[:i]) in self.open_prefixes:
                return ""
        return None

    def suggest(self, destination: str) -> str | None:
        if self._suggested >= _MAX_SUGGESTIONS:
            return None
        self._suggested += 1
        leaves = [p for p, t in self.types.items() if t not in ("object", "array")]
        found = difflib.get_close_matches(normalise(destination), leaves, n=1, cutoff=0.6)
        if found:
            return found[0]
        name = destination.rpartition(".")[2]
        ends = [p for p in leaves if p.rpartition(".")[2] == name]
        return ends[0] if ends else None


def compatible(source_types: frozenset[str], xdm_type: str) -> bool:
    """Whether some non-null JSON type of the source can land in `xdm_type` as it is."""
    concrete = source_types - {"null"}
    if not concrete or not xdm_type:
        return True
    return any(xdm_type in _COMPATIBLE.get(t, frozenset()) for t in concrete)


def load_xdm_schema(path: str | os.PathLike[str]) -> XdmSchema:
    """Read a schema file (JSON); InputError when it is not one."""
    name = os.fspath(path)
    from cio_aep.mapping.loader import decode, read_bytes

    text = decode(read_bytes(name, "an XDM schema file"), name)
    if not text.strip():
        raise InputError("the XDM schema file is empty", source=name)
    doc = load_json(text, name, "invalid JSON in the XDM schema")
    if not isinstance(doc, dict):
        raise InputError("an XDM schema must be a JSON object", source=name)
    return build_xdm_schema(doc, name)


def build_xdm_schema(doc: dict[str, Any], file: str = "-") -> XdmSchema:
    """The field table of a parsed schema document."""
    schema = XdmSchema(file)
    ids: dict[str, dict[str, Any]] = {}
    _collect_ids(doc, ids, 0)
    _walk(doc, "", schema, doc, ids, 0, frozenset())
    if not schema.types and not schema.open_prefixes:
        raise InputError(
            "the XDM schema has no properties",
            source=file,
            hint="export it with Accept: application/vnd.adobe.xed-full+json;version=1",
        )
    schema._unindexed = {without_indexes(p): p for p in schema.types}
    return schema


def _collect_ids(node: object, ids: dict[str, dict[str, Any]], depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    if isinstance(node, dict):
        ref_id = node.get("$id")
        if isinstance(ref_id, str):
            ids.setdefault(ref_id, node)
        for value in node.values():
            _collect_ids(value, ids, depth + 1)
    elif isinstance(node, list):
        for value in node:
            _collect_ids(value, ids, depth + 1)


def _resolve(ref: str, root: dict[str, Any], ids: dict[str, dict[str, Any]]) -> object:
    if ref in ids:
        return ids[ref]
    if not ref.startswith("#"):
        return None
    node: object = root
    for part in ref[1:].split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _xdm_type(node: dict[str, Any]) -> str:
    meta = node.get("meta:xdmType")
    if isinstance(meta, str):
        return meta
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "string" and node.get("format") in ("date-time", "date"):
        return str(node["format"])
    if isinstance(kind, str):
        return kind
    if "properties" in node:
        return "object"
    return ""


def _node_type(
    node: dict[str, Any], root: dict[str, Any], ids: dict[str, dict[str, Any]], depth: int
) -> str:
    """The XDM type of a node, following `$ref` and `allOf`; "" when it cannot be known."""
    found = _xdm_type(node)
    if found or depth > 8:
        return found
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = _resolve(ref, root, ids)
        if isinstance(target, dict):
            found = _node_type(target, root, ids, depth + 1)
    for part in node.get("allOf") or ():
        if not found and isinstance(part, dict):
            found = _node_type(part, root, ids, depth + 1)
    return found


def _walk(
    node: object,
    prefix: str,
    schema: XdmSchema,
    root: dict[str, Any],
    ids: dict[str, dict[str, Any]],
    depth: int,
    seen: frozenset[str],
) -> None:
    if not isinstance(node, dict) or depth > _MAX_DEPTH:
        return
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = _resolve(ref, root, ids)
        if isinstance(target, dict) and ref not in seen:
            _walk(target, prefix, schema, root, ids, depth + 1, seen | {ref})
        elif target is None:
            schema.open_prefixes.add(without_indexes(prefix))
    for part in node.get("allOf") or ():
        _walk(part, prefix, schema, root, ids, depth + 1, seen)
    if node.get("meta:xdmType") == "map" or isinstance(node.get("additionalProperties"), dict):
        schema.open_prefixes.add(without_indexes(prefix))
    properties = node.get("properties")
    if isinstance(properties, dict):
        for name, child in properties.items():
            if not isinstance(name, str):
                continue
            if name.startswith("xdm:"):
                name = name[4:]
            key = name.replace(".", "\\.")
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(child, dict):
                schema.types.setdefault(path, _node_type(child, root, ids, 0))
            _walk(child, path, schema, root, ids, depth + 1, seen)
    items = node.get("items")
    if isinstance(items, dict) and prefix:
        item_path = f"{prefix}[*]"
        schema.types.setdefault(item_path, _node_type(items, root, ids, 0))
        _walk(items, item_path, schema, root, ids, depth + 1, seen)
