"""Checks one Customer.io event against the catalog: strict where ingestion or mapping would
break, lenient (warnings) where real payloads are looser than the spec (DOMAIN.md §2).
"""

from __future__ import annotations

from typing import Any

from cio_aep.catalog import (
    AEP_UNSUPPORTED,
    CATALOG,
    IDENTIFIERS,
    OBJECT_TYPES,
    VARIANTS,
    EventType,
    FieldSpec,
    Variant,
)
from cio_aep.findings import Finding, Rule, Severity
from cio_aep.ulid import is_ulid

ERROR, WARNING = Severity.ERROR, Severity.WARNING

INVALID_JSON = Rule("CIO-E000", "invalid-json", "The record is not valid JSON (or not UTF-8).")
NOT_AN_OBJECT = Rule("CIO-E001", "not-an-object", "An event must be a JSON object.")
MISSING_FIELD = Rule("CIO-E002", "missing-field", "A field every event needs is missing.")
WRONG_TYPE = Rule(
    "CIO-E003", "wrong-type", "A top-level field, `data` or `identifiers` has the wrong type."
)
UNKNOWN_OBJECT_TYPE = Rule(
    "CIO-E004", "unknown-object-type", "Customer.io sends no such object_type."
)
UNKNOWN_METRIC = Rule(
    "CIO-E005", "unknown-metric", "Customer.io sends no such metric for the object_type."
)
TIMESTAMP_UNIT = Rule(
    "CIO-E006", "timestamp-not-unix-seconds", "`timestamp` must be an integer of Unix seconds."
)
TOO_LARGE = Rule("CIO-E007", "event-too-large", "AEP accepts at most 1 MB per request.")
AEP_UNSUPPORTED_RULE = Rule(
    "CIO-W001", "aep-unsupported-event", "AEP's Customer.io source does not take this object type.",
    WARNING,
)
MISSING_DATA_FIELD = Rule(
    "CIO-W002", "missing-data-field", "A `data` field the spec lists for this event is missing.",
    WARNING,
)
DATA_FIELD_TYPE = Rule(
    "CIO-W003", "data-field-type", "A `data` field has another type than the spec says.", WARNING
)
UNKNOWN_VARIANT = Rule(
    "CIO-W004", "unknown-message-source",
    "A message event without campaign, broadcast, newsletter or transactional ids.", WARNING,
)
EVENT_ID_NOT_ULID = Rule(
    "CIO-W005", "event-id-not-ulid", "Customer.io's event_id is a ULID (26 Crockford base32).",
    WARNING,
)  # fmt: skip

RULES = (
    INVALID_JSON, NOT_AN_OBJECT, MISSING_FIELD, WRONG_TYPE, UNKNOWN_OBJECT_TYPE, UNKNOWN_METRIC,
    TIMESTAMP_UNIT, TOO_LARGE, AEP_UNSUPPORTED_RULE, MISSING_DATA_FIELD, DATA_FIELD_TYPE,
    UNKNOWN_VARIANT, EVENT_ID_NOT_ULID,
)  # fmt: skip

MAX_EVENT_BYTES = 1_000_000  # AEP's request limit (DOMAIN.md §3)
_MS_THRESHOLD = 100_000_000_000  # seconds reach this in year 5138; milliseconds passed it in 1973

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
    "object": (dict,),
    "array": (list,),
}
_JSON_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object",
               list: "array", type(None): "null"}  # fmt: skip


def json_type(value: object) -> str:
    return _JSON_NAMES.get(type(value), type(value).__name__)


def _accepts(types: tuple[type, ...], value: object) -> bool:
    kind = type(value)
    if kind is bool:
        return bool in types
    return kind in types or (kind is float and float in types)


Checks = tuple[tuple[str, tuple[type, ...], bool, str], ...]  # name, py types, required, json types


def _checks(fields: tuple[FieldSpec, ...]) -> Checks:
    out = []
    for spec in fields:
        py: tuple[type, ...] = ()
        for t in spec.types:
            py += _PY_TYPES[t]
        out.append((spec.name, py, spec.required, " or ".join(spec.types)))
    return tuple(out)


# Keyed by names, not by the EventType: hashing a frozen dataclass hashes all its fields, and
# that cost a third of validate-events' time.
_DATA_CHECKS: dict[tuple[str, bool, str | None], Checks] = {}


def _data_checks(event: EventType, variant_name: str | None) -> Checks:
    key = (event.key, event.subscription, variant_name)
    checks = _DATA_CHECKS.get(key)
    if checks is None:
        variant = VARIANTS[variant_name] if variant_name else None
        checks = _DATA_CHECKS[key] = _checks(event.data_fields(variant))
    return checks


_ID_CHECKS = _checks(IDENTIFIERS)
_MARKERS = (
    "transactional_message_id", "trigger_id", "broadcast_id", "campaign_id", "newsletter_id",
)  # fmt: skip
_MARKER_VARIANT = {"transactional_message_id": "transactional", "trigger_id": "broadcast",
                   "broadcast_id": "broadcast", "campaign_id": "campaign",
                   "newsletter_id": "newsletter"}  # fmt: skip


def _variant_of(event: EventType, data: dict[str, Any]) -> tuple[str | None, bool]:
    """(variant name, recognised). Subscription events have variants only when a message
    triggered them."""
    allowed: tuple[Variant, ...] = event.variants or event.optional_variants
    for marker in _MARKERS:
        if marker in data:
            name = _MARKER_VARIANT[marker]
            if any(v.name == name for v in allowed):
                return name, True
    if event.variants:
        return None, False
    return None, True


def validate_event(
    event: object, *, file: str = "-", line: int | None = None, size: int | None = None
) -> list[Finding]:
    """Findings for one event (empty when it is fine). `size` is its length in bytes if known."""
    found: list[Finding] = []

    def add(rule: Rule, message: str, path: str, hint: str | None = None) -> None:
        found.append(Finding(rule, message, file, line, None, path, hint))

    if size is not None and size > MAX_EVENT_BYTES:
        add(TOO_LARGE, f"event is {size:,} bytes; AEP rejects requests over 1 MB with 413", "$",
            "keep each event under 1 MB (about 10 KB is recommended)")  # fmt: skip
    if type(event) is not dict:
        add(NOT_AN_OBJECT, f"expected a JSON object, found {json_type(event)}", "$")
        return found

    event_id = event.get("event_id")
    object_type = event.get("object_type")
    metric = event.get("metric")
    timestamp = event.get("timestamp")
    data = event.get("data")

    for name, value in (("event_id", event_id), ("object_type", object_type), ("metric", metric)):
        if value is None:
            add(MISSING_FIELD, f"missing `{name}`" if name not in event else f"`{name}` is null",
                f"$.{name}")  # fmt: skip
        elif type(value) is not str:
            add(WRONG_TYPE, f"`{name}` must be a string, found {json_type(value)}", f"$.{name}")
    if type(event_id) is str and not event_id.strip():
        # AEP needs it mapped and receivers de-duplicate on it: empty is as good as missing.
        add(MISSING_FIELD, "`event_id` is empty", "$.event_id")
    elif type(event_id) is str and not is_ulid(event_id):
        add(EVENT_ID_NOT_ULID, f"`event_id` {event_id[:40]!r} is not a ULID", "$.event_id",
            "Customer.io sends 26 upper-case Crockford base32 characters")  # fmt: skip

    _check_timestamp(timestamp, "timestamp" in event, add)

    if data is None:
        add(MISSING_FIELD, "missing `data`" if "data" not in event else "`data` is null", "$.data")
    elif type(data) is not dict:
        add(WRONG_TYPE, f"`data` must be an object, found {json_type(data)}", "$.data")
        data = None

    if type(object_type) is not str or type(metric) is not str:
        return found
    spec = CATALOG.get(object_type, metric)
    if spec is None:
        if object_type not in OBJECT_TYPES:
            add(UNKNOWN_OBJECT_TYPE, f"unknown object_type {object_type[:40]!r}", "$.object_type",
                "one of: " + ", ".join(OBJECT_TYPES))  # fmt: skip
        else:
            metrics = CATALOG.metrics_by_object_type[object_type]
            add(UNKNOWN_METRIC, f"{object_type} has no metric {metric[:40]!r}", "$.metric",
                "one of: " + ", ".join(metrics))  # fmt: skip
        return found
    if object_type in AEP_UNSUPPORTED:
        add(AEP_UNSUPPORTED_RULE, f"AEP's Customer.io source does not accept {object_type} events",
            "$.object_type", "untick them in Customer.io's reporting webhook")  # fmt: skip
    if data is not None:
        _check_data(spec, data, add)
    return found


def _check_timestamp(timestamp: object, present: bool, add: Any) -> None:
    if timestamp is None:
        add(MISSING_FIELD, "missing `timestamp`" if not present else "`timestamp` is null",
            "$.timestamp")  # fmt: skip
    elif type(timestamp) is int:
        if timestamp >= _MS_THRESHOLD:
            unit, factor = (
                ("nanoseconds", "1000000000") if timestamp >= _MS_THRESHOLD * 10**6
                else ("microseconds", "1000000") if timestamp >= _MS_THRESHOLD * 10**3
                else ("milliseconds", "1000")
            )  # fmt: skip
            add(TIMESTAMP_UNIT, f"`timestamp` {timestamp} looks like {unit}", "$.timestamp",
                f"Customer.io sends Unix seconds: divide by {factor}")  # fmt: skip
        elif timestamp < 0:
            add(TIMESTAMP_UNIT, f"`timestamp` {timestamp} is negative", "$.timestamp")
    elif type(timestamp) is str:
        hint = "Customer.io sends an integer of Unix seconds, e.g. 1613063089"
        if timestamp.strip().isascii() and timestamp.strip().isdigit():
            hint = f"write it as a number without quotes: {timestamp.strip()}"
        add(TIMESTAMP_UNIT, f"`timestamp` is a string ({timestamp[:30]!r})", "$.timestamp", hint)
    else:
        add(WRONG_TYPE, f"`timestamp` must be an integer, found {json_type(timestamp)}",
            "$.timestamp", "Customer.io sends an integer of Unix seconds")  # fmt: skip


def _check_data(spec: EventType, data: dict[str, Any], add: Any) -> None:
    if spec.is_message and "delivery_id" not in data and spec.metric == "unsubscribed":
        # email:unsubscribed also arrives as a subscription change without a message.
        alt = CATALOG.subscription_variant(spec.object_type, spec.metric)
        if alt is not None and "email_address" in data:
            spec = alt
    variant, recognised = _variant_of(spec, data)
    if not recognised:
        add(UNKNOWN_VARIANT, f"{spec.key} without campaign, broadcast, newsletter or "
            "transactional ids", "$.data")  # fmt: skip
    for name, types, required, type_names in _data_checks(spec, variant):
        value = data.get(name, _MISSING)
        if value is _MISSING:
            if name == "identifiers":
                add(MISSING_FIELD, "missing `data.identifiers`", "$.data.identifiers",
                    "AEP maps id, email and cio_id from it")  # fmt: skip
            elif required and (recognised or name not in _VARIANT_FIELDS):
                add(MISSING_DATA_FIELD, f"{spec.key} usually carries `data.{name}`",
                    f"$.data.{name}")  # fmt: skip
        elif name == "identifiers":
            if type(value) is not dict:
                add(WRONG_TYPE, f"`data.identifiers` must be an object, found {json_type(value)}",
                    "$.data.identifiers")  # fmt: skip
            else:
                _check_fields(value, _ID_CHECKS, "$.data.identifiers", add)
        elif not _accepts(types, value):
            add(DATA_FIELD_TYPE, f"`data.{name}` should be {type_names}, found {json_type(value)}",
                f"$.data.{name}")  # fmt: skip


def _check_fields(obj: dict[str, Any], checks: Checks, path: str, add: Any) -> None:
    for name, types, required, type_names in checks:
        value = obj.get(name, _MISSING)
        if value is _MISSING:
            if required:
                add(MISSING_DATA_FIELD, f"missing `{path[2:]}.{name}`", f"{path}.{name}")
        elif not _accepts(types, value):
            add(DATA_FIELD_TYPE, f"`{path[2:]}.{name}` should be {type_names}, found "
                f"{json_type(value)}", f"{path}.{name}")  # fmt: skip


_MISSING: Any = object()
_VARIANT_FIELDS = frozenset(f.name for v in VARIANTS.values() for f in v.fields) | {"delivery_id"}
