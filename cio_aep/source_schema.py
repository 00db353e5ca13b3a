"""Source-schema samples to upload to AEP, and a JSON Schema (2020-12) of the events.

AEP infers the source fields from an uploaded JSON sample and lets users map only the fields that
sample contains: the superset sample holds every field of every AEP-supported event.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cio_aep.catalog import TOP_LEVEL, EventType, FieldSpec, Variant
from cio_aep.generator import EventGenerator

# Adobe's tutorial sample (DOMAIN.md §1), key for key: `generate-schema` prints it by default.
ADOBE_SAMPLE: dict[str, Any] = {
    "event_id": "01E4C4CT6YDC7Y5M7FE1GWWPQJ",
    "object_type": "customer",
    "metric": "subscribed",
    "timestamp": 1613063089,
    "data": {
        "customer_id": "42",
        "email_address": "test@example.com",
        "identifiers": {"id": "42", "email": "test@example.com", "cio_id": "d9c106000001"},
    },
}


def adobe_sample(*, test_mode: bool = False, id_only: bool = False) -> dict[str, Any]:
    """Adobe's sample, adjusted for test mode (no cio_id) or an ID-only workspace."""
    sample: dict[str, Any] = json.loads(json.dumps(ADOBE_SAMPLE))
    identifiers = sample["data"]["identifiers"]
    if id_only:
        sample["data"]["identifiers"] = {"id": identifiers["id"]}
    elif test_mode:
        del identifiers["cio_id"]
    return sample


def _merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    """Add `other`'s keys to `into`, recursing into objects and into lists of objects."""
    for key, value in other.items():
        if key not in into or into[key] is None:
            into[key] = value
        elif isinstance(into[key], dict) and isinstance(value, dict):
            _merge(into[key], value)
        elif isinstance(into[key], list) and isinstance(value, list) and value:
            if into[key] and isinstance(into[key][0], dict) and isinstance(value[0], dict):
                _merge(into[key][0], value[0])
            elif not into[key]:
                into[key] = value


def superset_sample(events: Sequence[EventType], generator: EventGenerator) -> dict[str, Any]:
    """One sample holding every field of `events` in every variant, so AEP can map them all."""
    merged: dict[str, Any] = {}
    for event in events:
        variants: list[str | None] = [v.name for v in (event.variants or event.optional_variants)]
        variants = variants or [None]
        for variant in variants:
            _merge(merged, generator.generate_event(event, variant))
    return merged


# --- JSON Schema ---------------------------------------------------------------------------------


def _field_schema(spec: FieldSpec) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": list(spec.types) if len(spec.types) > 1 else spec.types[0]}
    if spec.description:
        schema["description"] = spec.description
    if spec.enum:
        schema["enum"] = list(spec.enum)
    if spec.deprecated:
        schema["deprecated"] = True
    if spec.items:
        children = _object_schema(spec.items)
        if spec.types[0] == "array":
            schema["items"] = children
        else:
            schema.update(children)
    return schema


def _object_schema(fields: Sequence[FieldSpec]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {f.name: _field_schema(f) for f in fields},
    }
    required = [f.name for f in fields if f.required]
    if required:
        schema["required"] = required
    return schema


def event_json_schema(event: EventType, *, test_mode: bool = False) -> dict[str, Any]:
    """JSON Schema of one event type (all variants: their fields are optional here)."""
    top = _object_schema(TOP_LEVEL)
    top["title"] = event.key
    props = top["properties"]
    for name, value in (("object_type", event.object_type), ("metric", event.metric)):
        props[name] = {"const": value, "description": props[name]["description"]}
    data = _object_schema(event.all_data_fields())
    # Variant fields are required only within their variant: require what every variant needs.
    choices: tuple[Variant | None, ...] = event.variants or (None,)
    needed = [{f.name for f in event.data_fields(v) if f.required} for v in choices]
    data["required"] = [n for n in data.get("required", []) if all(n in s for s in needed)]
    if test_mode:
        ids = data["properties"]["identifiers"]["properties"]
        ids.pop("cio_id", None)
    props["data"] = {**data, "description": "Fields specific to the object type and metric."}
    return top


def json_schema(events: Sequence[EventType], *, test_mode: bool = False) -> dict[str, Any]:
    """A JSON Schema (2020-12) accepting any of `events`."""
    doc: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/cio-aep/cio-aep/schemas/customerio-reporting-webhook.json",
        "title": "Customer.io reporting webhook event",
    }
    schemas = [event_json_schema(e, test_mode=test_mode) for e in events]
    if len(schemas) == 1:
        doc.update({k: v for k, v in schemas[0].items() if k != "title"})
        doc["title"] = f"Customer.io reporting webhook event {schemas[0]['title']}"
        return doc
    doc["$defs"] = {s["title"].replace(":", "."): s for s in schemas}
    doc["oneOf"] = [{"$ref": f"#/$defs/{name}"} for name in doc["$defs"]]
    return doc
