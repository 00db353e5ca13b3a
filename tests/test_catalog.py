"""The event catalog: coverage of DOMAIN.md's table, AEP support, key parsing, source paths."""

from __future__ import annotations

import pytest

from cio_aep.catalog import CATALOG, CHANNELS
from cio_aep.errors import UsageError

EXPECTED = {
    "customer": "subscribed unsubscribed cio_subscription_preferences_changed",
    "email": "drafted attempted sent delivered opened clicked converted unsubscribed bounced "
    "dropped spammed failed undeliverable deferred",
    "push": "drafted attempted sent delivered opened clicked converted bounced dropped failed "
    "undeliverable",
    "sms": "drafted attempted sent delivered clicked converted bounced failed undeliverable "
    "replied",
    "whatsapp": "drafted attempted sent delivered clicked converted bounced failed "
    "undeliverable replied opened dropped",
    "in_app": "drafted attempted sent opened clicked converted failed undeliverable",
    "slack": "drafted attempted sent clicked failed undeliverable",
    "webhook": "drafted attempted sent clicked failed undeliverable",
}


def test_every_object_type_and_metric_of_the_domain_table() -> None:
    found: dict[str, set[str]] = {}
    for event in CATALOG.events():
        found.setdefault(event.object_type, set()).add(event.metric)
    assert found == {k: set(v.split()) for k, v in EXPECTED.items()}


def test_aep_supports_everything_but_whatsapp() -> None:
    unsupported = {e.object_type for e in CATALOG.events() if not e.aep_supported}
    assert unsupported == {"whatsapp"}
    assert all(e.object_type != "whatsapp" for e in CATALOG.aep_supported())


@pytest.mark.parametrize("channel", CHANNELS)
def test_subscription_metrics_may_carry_a_channel(channel: str) -> None:
    event = CATALOG.parse_key(f"{channel}:subscribed")
    assert event.subscription and event.object_type == channel


def test_email_unsubscribed_is_the_message_event() -> None:
    event = CATALOG.parse_key("email:unsubscribed")
    assert event.is_message
    assert {f.name for f in event.all_data_fields()} >= {"recipient", "subject", "delivery_id"}


def test_variants_per_channel() -> None:
    assert {v.name for v in CATALOG.parse_key("email:sent").variants} == {
        "campaign", "broadcast", "newsletter", "transactional"}  # fmt: skip
    assert {v.name for v in CATALOG.parse_key("push:sent").variants} >= {"transactional"}
    assert "transactional" not in {v.name for v in CATALOG.parse_key("sms:sent").variants}


def test_push_drafted_is_drafted_not_the_specs_attempted() -> None:
    assert CATALOG.get("push", "drafted") is not None


@pytest.mark.parametrize("bad", ["email", "email:", "emial:sent", "email:sentt", ":sent", ""])
def test_parse_key_names_the_choices(bad: str) -> None:
    with pytest.raises(UsageError) as err:
        CATALOG.parse_key(bad)
    assert "email" in str(err.value)


def test_source_fields_cover_the_mandatory_paths() -> None:
    fields = CATALOG.source_fields()
    for path in ("object_type", "data.identifiers.id", "data.identifiers.email", "event_id",
                 "data.identifiers.cio_id", "metric", "timestamp"):  # fmt: skip
        assert path in fields
    assert fields["timestamp"] == frozenset({"integer"})
    assert "data.recipients[*].device_id" in fields
    assert fields["data.link_id"] == frozenset({"integer"})
