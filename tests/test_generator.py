"""The generator: by the catalog, reproducible, realistic ids, test mode and ID-only mode."""

from __future__ import annotations

import json

import pytest

from cio_aep.catalog import CATALOG
from cio_aep.event_validation import validate_event
from cio_aep.generator import EventGenerator, compact_json
from cio_aep.ulid import is_ulid, ulid_time_ms

ALL = [(e, v.name if v else None) for e in CATALOG.events() for v in (e.variants or (None,))]


@pytest.mark.parametrize(("event", "variant"), ALL, ids=[f"{e.key}-{v}" for e, v in ALL])
def test_every_event_and_variant_passes_validation(event: object, variant: str | None) -> None:
    from cio_aep.catalog import EventType

    assert isinstance(event, EventType)
    generated = EventGenerator(seed=7).generate_event(event, variant)
    findings = validate_event(generated)
    expected = {"CIO-W001"} if not event.aep_supported else set()
    assert {f.rule.id for f in findings} == expected, [f.message for f in findings]
    assert list(generated) == ["event_id", "object_type", "metric", "timestamp", "data"]


def test_event_id_is_minted_shortly_after_the_timestamp() -> None:
    gen = EventGenerator(seed=1, timestamp=1_700_000_000)
    for _ in range(200):
        event = gen.generate("email", "sent")
        assert is_ulid(event["event_id"])
        delta = ulid_time_ms(event["event_id"]) - event["timestamp"] * 1000
        assert 100 <= delta <= 2000


def test_seed_and_timestamp_reproduce_byte_for_byte() -> None:
    def run() -> bytes:
        return b"".join(compact_json(e) for e in EventGenerator(3, 1_613_063_089).generate_all())

    assert run() == run()
    other = EventGenerator(4, 1_613_063_089).generate_all()
    assert run() != b"".join(compact_json(e) for e in other)


def test_default_timestamp_is_now() -> None:
    import time

    event = EventGenerator().generate("customer", "subscribed")
    assert abs(event["timestamp"] - time.time()) < 5


def test_test_mode_leaves_cio_id_out() -> None:
    for event in EventGenerator(seed=1, test_mode=True).generate_all():
        assert "cio_id" not in event["data"]["identifiers"]
        assert "email" in event["data"]["identifiers"]


def test_id_only_sends_id_alone() -> None:
    for event in EventGenerator(seed=1, id_only=True).generate_all():
        assert list(event["data"]["identifiers"]) == ["id"]


def test_realistic_values() -> None:
    event = EventGenerator(seed=2).generate("email", "clicked")
    data = event["data"]
    assert len(data["identifiers"]["cio_id"]) == 12
    int(data["identifiers"]["cio_id"], 16)
    assert data["recipient"] == data["identifiers"]["email"]
    assert isinstance(data["link_id"], int) and data["href"].startswith("https://")
    assert "=" not in data["delivery_id"] and "+" not in data["delivery_id"]
    sms = EventGenerator(seed=2).generate("sms", "sent")["data"]
    assert sms["recipient"].startswith("+")
    prefs = EventGenerator(seed=2).generate("customer", "cio_subscription_preferences_changed")
    assert isinstance(json.loads(prefs["data"]["content"])["topics"], dict)


def test_generate_all_is_every_aep_supported_event() -> None:
    events = EventGenerator(seed=1).generate_all()
    assert len(events) == len(CATALOG.aep_supported())
    assert all(e["object_type"] != "whatsapp" for e in events)
