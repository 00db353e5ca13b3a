"""Realistic Customer.io reporting-webhook events, generated strictly by the catalog.

`EventGenerator(seed=..., timestamp=...)` is reproducible byte for byte; without them every
event gets fresh values and the current time. The `event_id` is a ULID minted 0.1-2 s after the
event's `timestamp`, as Customer.io does (DOMAIN.md §2).
"""

from __future__ import annotations

import base64
import json
import random
import time
from typing import Any

from cio_aep.catalog import (
    ARRAY,
    BOOLEAN,
    CAMPAIGN,
    CATALOG,
    INTEGER,
    OBJECT,
    STRING,
    EventCatalog,
    EventType,
    FieldSpec,
    Variant,
)
from cio_aep.errors import UsageError
from cio_aep.ulid import encode_ulid

# The event_id's ULID holds 48 bits of milliseconds, minted up to 2 s after the timestamp.
MAX_TIMESTAMP = ((1 << 48) - 1 - 2000) // 1000


def check_timestamp(timestamp: int) -> None:
    """UsageError unless `timestamp` is Unix seconds (an int) that a ULID `event_id` can follow.

    bool is not accepted although it is an int: `True` is no time.
    """
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        shown = repr(timestamp)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise UsageError(
            f"timestamp must be whole Unix seconds as an int, not {type(timestamp).__name__} "
            f"{shown}",
            hint="e.g. timestamp=1613063089",
        )
    if 0 <= timestamp <= MAX_TIMESTAMP:
        return
    hint = "Unix seconds, e.g. 1613063089"
    if 10**12 <= timestamp < 10**15:  # 2001 to 33658 in milliseconds
        hint = f"that looks like milliseconds; Customer.io sends seconds: {timestamp // 1000}"
    raise UsageError(f"timestamp {timestamp} is out of range (0 to {MAX_TIMESTAMP})", hint=hint)


_FIRST = ("ada", "grace", "alan", "edsger", "barbara", "ken", "margaret", "dennis", "frances")
_SUBJECTS = ("Welcome aboard", "Your order has shipped", "Last chance: 20% off", "We miss you")
_LINKS = ("https://example.com/pricing", "https://example.com/welcome?utm_source=cio")
_FAILURES = {
    "email": "550 5.1.1 The email account that you tried to reach does not exist",
    "push": "Unregistered device token",
    "sms": "Attempt to send to unsubscribed recipient",
    "whatsapp": "Message undeliverable: recipient is not a WhatsApp user",
    "in_app": "Message expired before it could be displayed",
    "slack": "channel_not_found",
    "webhook": "Post https://example.com/hooks: context deadline exceeded",
}


class EventGenerator:
    """Makes events exactly as Customer.io sends them.

    seed: makes the events reproducible (None: fresh values each run).
    timestamp: Unix seconds as an int (None: the current time); UsageError otherwise.
    test_mode: Customer.io's test mode, which sends no `cio_id`.
    id_only: a workspace identified by ID alone: `identifiers` holds just `id`.

    Mistakes in arguments (an unknown event type, metric or variant, a timestamp that is not
    an int) raise `UsageError` naming the valid choices.
    """

    def __init__(
        self,
        seed: int | None = None,
        timestamp: int | None = None,
        *,
        test_mode: bool = False,
        id_only: bool = False,
        catalog: EventCatalog = CATALOG,
    ) -> None:
        if timestamp is not None:
            check_timestamp(timestamp)
        try:
            self._rng = random.Random(seed)
        except TypeError:
            raise UsageError(
                f"seed must be an int (or None), not {type(seed).__name__}", hint="e.g. seed=1"
            ) from None
        self._timestamp = timestamp
        self.test_mode = test_mode
        self.id_only = id_only
        self.catalog = catalog

    # --- public -------------------------------------------------------------------------------

    def generate(self, object_type: str, metric: str, variant: str | None = None) -> dict[str, Any]:
        """One event of that type; `variant` picks campaign/broadcast/newsletter/transactional.

        UsageError for an unknown object type, metric or variant.
        """
        if not (isinstance(object_type, str) and isinstance(metric, str)):
            raise UsageError(
                'object_type and metric must be str, e.g. generate("email", "sent"); got '
                f"{type(object_type).__name__} and {type(metric).__name__}"
            )
        event = self.catalog.get(object_type, metric)
        if event is None:
            event = self.catalog.parse_key(f"{object_type}:{metric}")  # raises a UsageError
        return self.generate_event(event, variant)

    def generate_event(self, event: EventType | str, variant: str | None = None) -> dict[str, Any]:
        """One event of `event`: an EventType from the catalog, or `"OBJECT_TYPE:METRIC"`.

        UsageError for an unknown event key or variant, or an `event` of another type.
        """
        if not isinstance(event, EventType):
            if not isinstance(event, str):
                raise UsageError(
                    'event must be an EventType or an "OBJECT_TYPE:METRIC" str such as '
                    f'"email:sent", not {type(event).__name__}'
                )
            event = self.catalog.parse_key(event)  # a UsageError naming the choices
        timestamp = self._timestamp if self._timestamp is not None else int(time.time())
        minted_ms = timestamp * 1000 + self._rng.randint(100, 2000)
        person = self._person()
        chosen = self._variant(event, variant)
        data: dict[str, Any] = {}
        for spec in event.data_fields(chosen):
            if spec.name == "identifiers":
                data["identifiers"] = self._identifiers(person)
            elif spec.name == "customer_id":
                data["customer_id"] = person["id"]
            elif spec.name == "email_address":
                data["email_address"] = person["email"]
            else:
                data[spec.name] = self._value(event, spec, person)
        return {
            "event_id": encode_ulid(minted_ms, self._rng.getrandbits(80)),
            "object_type": event.object_type,
            "metric": event.metric,
            "timestamp": timestamp,
            "data": data,
        }

    def generate_all(self, *, aep_only: bool = True) -> list[dict[str, Any]]:
        """One event of every (AEP-supported) type, in catalog order."""
        return [self.generate_event(e) for e in self.catalog.events(aep_only=aep_only)]

    # --- pieces -------------------------------------------------------------------------------

    def _variant(self, event: EventType, name: str | None) -> Variant | None:
        if name is not None:
            choices = event.variants or event.optional_variants
            for v in choices:
                if v.name == name:
                    return v
            if not choices:
                raise UsageError(f"{event.key} has no variants; give variant=None, not {name!r}")
            valid = ", ".join(v.name for v in choices)
            raise UsageError(f"{event.key} has no variant {name!r}; choose one of: {valid}")
        if event.variants:
            return CAMPAIGN  # the most common source of messages
        if event.optional_variants and event.object_type != "customer":
            return CAMPAIGN  # a message triggered this preference change
        return None

    def _person(self) -> dict[str, str]:
        number = self._rng.randint(1, 999_999)
        name = self._rng.choice(_FIRST)
        return {"id": str(number), "email": f"{name}.{number}@example.com", "name": name}

    def _identifiers(self, person: dict[str, str]) -> dict[str, Any]:
        if self.id_only:
            return {"id": person["id"]}
        ids: dict[str, Any] = {"id": person["id"], "email": person["email"]}
        if not self.test_mode:
            ids["cio_id"] = f"{self._rng.getrandbits(48):012x}"
        return ids

    def _delivery_id(self) -> str:
        raw = self._rng.getrandbits(168).to_bytes(21, "big")
        return base64.urlsafe_b64encode(raw).decode("ascii")

    def _recipient(self, object_type: str, person: dict[str, str]) -> str:
        if object_type == "email":
            return person["email"]
        if object_type in ("sms", "whatsapp"):
            return f"+1555{self._rng.randint(0, 9_999_999):07d}"
        if object_type == "slack":
            return "#" + self._rng.choice(("general", "alerts", "growth"))
        if object_type == "webhook":
            return f"https://example.com/hooks/{self._rng.randint(1, 999)}"
        return person["id"]  # in-app: the person's id

    def _value(self, event: EventType, spec: FieldSpec, person: dict[str, str]) -> Any:
        rng = self._rng
        name = spec.name
        if name == "delivery_id":
            return self._delivery_id()
        if name == "recipient":
            return self._recipient(event.object_type, person)
        if name == "to":
            return f"+1555{rng.randint(0, 9_999_999):07d}"
        if name == "subject":
            return rng.choice(_SUBJECTS)
        if name == "failure_message":
            return _FAILURES.get(event.object_type, "Delivery failed")
        if name == "href":
            return rng.choice(_LINKS)
        if name in ("journey_id", "trigger_event_id", "inbound_event_id"):
            past_ms = rng.randint(1_600_000_000_000, 1_700_000_000_000)
            return encode_ulid(past_ms, rng.getrandbits(80))
        if name == "content" and event.subscription:
            topics = {"topics": {f"topic_{rng.randint(1, 9)}": rng.random() < 0.5}}
            return json.dumps(topics, separators=(",", ":"))
        if name == "content":
            return f"Hi {person['name'].title()}, thanks for being with us."
        if name == "headers":
            return {"X-Campaign": [f"cio-{rng.randint(1, 99)}"]}
        if name == "tracked_response":
            return rng.choice(("accept", "dismiss", "learn_more"))
        if name == "recipients":
            return [self._device(spec)]
        kind = spec.types[0]
        if kind == INTEGER:
            return rng.randint(1, 9999)
        if kind == BOOLEAN:
            return False
        if kind == STRING:
            return f"{name}-{rng.randint(1, 9999)}"
        if kind == OBJECT:
            return {}
        if kind == ARRAY:
            return []
        return None

    def _device(self, spec: FieldSpec) -> dict[str, Any]:
        device: dict[str, Any] = {}
        for item in spec.items:
            if item.name == "device_id":
                device["device_id"] = f"{self._rng.getrandbits(128):032x}"
            elif item.name == "device_platform":
                device["device_platform"] = self._rng.choice(item.enum)
            elif item.name == "failure_message":
                device["failure_message"] = _FAILURES["push"]
        return device


def compact_json(event: object) -> bytes:
    """The bytes Customer.io would send for `event` (compact, key order kept)."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
