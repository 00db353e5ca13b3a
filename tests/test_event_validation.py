"""validate_event: each rule fires on what it should, and mutations of good events are caught."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cio_aep.event_validation import validate_event
from cio_aep.generator import EventGenerator


def good(key: str = "email:sent") -> dict[str, Any]:
    object_type, metric = key.split(":")
    return EventGenerator(seed=11, timestamp=1_613_063_089).generate(object_type, metric)


def ids(event: object) -> list[str]:
    return sorted(f.rule.id for f in validate_event(event))


def test_adobe_sample_is_valid() -> None:
    from cio_aep.source_schema import ADOBE_SAMPLE

    assert ids(ADOBE_SAMPLE) == []


@pytest.mark.parametrize("value", [[], "x", 3, None, True])
def test_not_an_object(value: object) -> None:
    assert ids(value) == ["CIO-E001"]


@pytest.mark.parametrize("field", ["event_id", "object_type", "metric", "timestamp", "data"])
def test_missing_top_level_field(field: str) -> None:
    event = good()
    del event[field]
    assert "CIO-E002" in ids(event)


@pytest.mark.parametrize(("field", "value"), [("event_id", 5), ("object_type", 1), ("metric", []),
                                              ("data", "x"), ("timestamp", 1.5),
                                              ("timestamp", True)])  # fmt: skip
def test_wrong_top_level_type(field: str, value: object) -> None:
    event = good()
    event[field] = value
    assert "CIO-E003" in ids(event)


def test_string_timestamp_has_a_hint() -> None:
    event = good()
    event["timestamp"] = "1613063089"
    (finding,) = [f for f in validate_event(event) if f.rule.id == "CIO-E006"]
    assert finding.hint is not None and "without quotes" in finding.hint
    assert finding.path == "$.timestamp"


def test_millisecond_timestamp() -> None:
    event = good()
    event["timestamp"] = 1_613_063_089_000
    (finding,) = [f for f in validate_event(event) if f.rule.id == "CIO-E006"]
    assert "milliseconds" in finding.message and "1000" in (finding.hint or "")


def test_unknown_object_type_and_metric() -> None:
    event = good()
    event["object_type"] = "fax"
    assert ids(event) == ["CIO-E004"]
    event = good()
    event["metric"] = "teleported"
    assert ids(event) == ["CIO-E005"]


def test_event_id_not_ulid_is_a_warning() -> None:
    event = good()
    event["event_id"] = "not-a-ulid"
    findings = validate_event(event)
    assert [f.rule.id for f in findings] == ["CIO-W005"] and not findings[0].is_error


@pytest.mark.parametrize("blank", ["", "   "])
def test_empty_event_id_is_an_error(blank: str) -> None:
    # AEP needs event_id mapped and receivers de-duplicate on it: empty is as good as missing.
    event = good()
    event["event_id"] = blank
    findings = validate_event(event)
    assert [(f.rule.id, f.message) for f in findings] == [("CIO-E002", "`event_id` is empty")]


@pytest.mark.parametrize(
    ("timestamp", "unit", "factor"),
    [
        (1_613_063_089_000, "milliseconds", "1000"),
        (1_613_063_089_000_000, "microseconds", "1000000"),
        (1_613_063_089_000_000_000, "nanoseconds", "1000000000"),
    ],
)
def test_timestamp_unit_is_named(timestamp: int, unit: str, factor: str) -> None:
    event = good()
    event["timestamp"] = timestamp
    (finding,) = [f for f in validate_event(event) if f.rule.id == "CIO-E006"]
    assert finding.message.endswith(f"looks like {unit}")
    assert finding.hint == f"Customer.io sends Unix seconds: divide by {factor}"


def test_null_transactional_message_id_is_fine() -> None:
    object_type, metric = "email", "sent"
    event = EventGenerator(seed=11, timestamp=1_613_063_089).generate(
        object_type, metric, "transactional"
    )
    event["data"]["transactional_message_id"] = None
    assert ids(event) == []


def test_whatsapp_is_a_warning() -> None:
    event = good("whatsapp:sent")
    findings = validate_event(event)
    assert [f.rule.id for f in findings] == ["CIO-W001"] and not findings[0].is_error


def test_identifiers_not_an_object_is_an_error() -> None:
    event = good()
    event["data"]["identifiers"] = "42"
    assert "CIO-E003" in ids(event)
    del event["data"]["identifiers"]
    assert "CIO-E002" in ids(event)


def test_loose_real_payloads_are_warnings_only() -> None:
    # broadcast_id + action_id without trigger_id; drafted without recipient/subject
    event = good("email:drafted")
    data = event["data"]
    for key in ("campaign_id", "recipient", "subject", "journey_id"):
        data.pop(key, None)
    data["broadcast_id"] = 9
    findings = validate_event(event)
    assert findings and all(not f.is_error for f in findings)


def test_mistyped_data_field_is_a_warning() -> None:
    event = good("email:clicked")
    event["data"]["link_id"] = "3"
    (finding,) = validate_event(event)
    assert finding.rule.id == "CIO-W003" and finding.path == "$.data.link_id"


def test_too_large() -> None:
    assert "CIO-E007" in [f.rule.id for f in validate_event(good(), size=2_000_000)]


def test_unknown_extra_fields_are_tolerated() -> None:
    event = good()
    event["extra"] = {"x": 1}
    event["data"]["something_new"] = True
    assert ids(event) == []


def test_findings_carry_file_and_line() -> None:
    (finding,) = validate_event([], file="a.ndjson", line=7)
    assert (finding.file, finding.line) == ("a.ndjson", 7)


# --- property tests --------------------------------------------------------------------------

KEYS = ["customer:subscribed", "email:sent", "push:clicked", "sms:replied", "in_app:clicked",
        "slack:failed", "webhook:sent", "email:opened"]  # fmt: skip
keys = st.sampled_from(KEYS)


@settings(max_examples=60, deadline=None)
@given(keys, st.integers(0, 2**32), st.integers(1_000_000_000, 4_000_000_000))
def test_generated_events_round_trip(key: str, seed: int, ts: int) -> None:
    import json

    object_type, metric = key.split(":")
    event = EventGenerator(seed, ts).generate(object_type, metric)
    again = json.loads(json.dumps(event, separators=(",", ":")))
    assert again == event and validate_event(again) == []


BREAKING = [
    ("delete", "event_id"), ("delete", "timestamp"), ("delete", "data"), ("delete", "metric"),
    ("delete", "object_type"), ("string_ts", "timestamp"), ("ms_ts", "timestamp"),
    ("null", "data"), ("list", "data"), ("bad_type", "object_type"), ("bad_metric", "metric"),
    ("ids_not_object", "data"),
]  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(keys, st.integers(0, 2**32), st.sampled_from(BREAKING))
def test_mutated_events_are_caught(key: str, seed: int, mutation: tuple[str, str]) -> None:
    object_type, metric = key.split(":")
    event = copy.deepcopy(EventGenerator(seed, 1_613_063_089).generate(object_type, metric))
    kind, field = mutation
    if kind == "delete":
        del event[field]
    elif kind == "string_ts":
        event[field] = str(event[field])
    elif kind == "ms_ts":
        event[field] *= 1000
    elif kind == "null":
        event[field] = None
    elif kind == "list":
        event[field] = [event[field]]
    elif kind == "bad_type":
        event[field] = "carrier_pigeon"
    elif kind == "bad_metric":
        event[field] = "evaporated"
    elif kind == "ids_not_object":
        event["data"]["identifiers"] = ["42"]
    assert any(f.is_error for f in validate_event(event))


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) |
                    st.text(max_size=20),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c,
                                                                        max_size=5),
                    max_leaves=20))  # fmt: skip
def test_any_json_value_gives_findings_not_exceptions(value: object) -> None:
    assert isinstance(validate_event(value), list)
