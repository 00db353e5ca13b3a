"""The Customer.io reporting-webhook event catalog: every object type, metric and `data` field.

Written from ../shared/DOMAIN.md and Customer.io's OpenAPI description of the reporting webhook,
with that description's known mistakes corrected (push `drafted` is "drafted", not "attempted";
the preferences-changed event uses `object_type`; `journey_id` is a string; email `failed`
requires a `recipient` the spec forgets to define: a string here).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from cio_aep.errors import UsageError

# JSON type names used throughout the catalog (and in JSON Schema output).
STRING, INTEGER, NUMBER, BOOLEAN, NULL, OBJECT, ARRAY = (
    "string",
    "integer",
    "number",
    "boolean",
    "null",
    "object",
    "array",
)


@dataclass(frozen=True)
class FieldSpec:
    """One field of an event payload."""

    name: str
    types: tuple[str, ...]
    required: bool = False
    description: str = ""
    items: tuple[FieldSpec, ...] = ()  # fields of the objects inside an array field
    enum: tuple[str, ...] = ()
    deprecated: bool = False


def _f(
    name: str,
    *types: str,
    req: bool = False,
    doc: str = "",
    items: tuple[FieldSpec, ...] = (),
    enum: tuple[str, ...] = (),
    deprecated: bool = False,
) -> FieldSpec:
    return FieldSpec(name, types, req, doc, items, enum, deprecated)


# --- fields shared by many events -------------------------------------------------------------

IDENTIFIERS = (
    _f("id", STRING, NULL, req=True, doc="Your ID for the person (null possible)."),
    _f("email", STRING, NULL, doc="The person's email (multi-identifier workspaces)."),
    _f("cio_id", STRING, doc="Customer.io's canonical id, 12 hex chars; not sent in test mode."),
)
CUSTOMER_ID = _f(
    "customer_id", STRING, doc="Deprecated ID of the person; blank if deleted.", deprecated=True
)
IDENTIFIERS_FIELD = _f(
    "identifiers", OBJECT, req=True, doc="The person the event is about.", items=IDENTIFIERS
)
EMAIL_ADDRESS = _f("email_address", STRING, NULL, req=True, doc="The person's email address.")
DELIVERY_ID = _f("delivery_id", STRING, req=True, doc="The instance of a message sent to a person.")
JOURNEY_ID = _f("journey_id", STRING, doc="The path a person took through a workflow (ULID).")
PARENT_ACTION_ID = _f("parent_action_id", INTEGER, doc="Parent action (e.g. a random split).")
ACTION_ID = _f("action_id", INTEGER, req=True, doc="The action (message) in the workflow.")

TOP_LEVEL = (
    _f("event_id", STRING, req=True, doc="Unique ULID of this webhook event."),
    _f("object_type", STRING, req=True, doc="What the event is about (customer, email, ...)."),
    _f("metric", STRING, req=True, doc="What happened (sent, opened, subscribed, ...)."),
    _f("timestamp", INTEGER, req=True, doc="When the event happened, Unix seconds."),
    _f("data", OBJECT, req=True, doc="Fields specific to the object type and metric."),
)


@dataclass(frozen=True)
class Variant:
    """Where a message came from: each carries its own ids (DOMAIN.md §2)."""

    name: str
    title: str
    fields: tuple[FieldSpec, ...]
    marker: str  # the field whose presence identifies the variant in a payload


CAMPAIGN = Variant(
    "campaign",
    "Campaign",
    (
        _f("campaign_id", INTEGER, NULL, req=True, doc="The campaign."),
        ACTION_ID,
        JOURNEY_ID,
        PARENT_ACTION_ID,
        _f("trigger_event_id", STRING, NULL, doc="The event that triggered the campaign."),
    ),
    marker="campaign_id",
)
BROADCAST = Variant(
    "broadcast",
    "API-triggered broadcast",
    (
        _f("trigger_id", INTEGER, req=True, doc="Trigger id from the Trigger Broadcast API."),
        _f("broadcast_id", INTEGER, NULL, req=True, doc="The broadcast."),
        ACTION_ID,
        JOURNEY_ID,
        PARENT_ACTION_ID,
    ),
    marker="broadcast_id",
)
NEWSLETTER = Variant(
    "newsletter",
    "Newsletter",
    (
        _f("newsletter_id", INTEGER, NULL, req=True, doc="The newsletter."),
        _f("content_id", INTEGER, doc="The newsletter variant."),
    ),
    marker="newsletter_id",
)
TRANSACTIONAL = Variant(
    "transactional",
    "Transactional message",
    (
        _f(
            "transactional_message_id",
            INTEGER,
            STRING,
            NULL,  # the spec gives it no type; a null must not be flagged
            req=True,
            doc="The transactional message template.",
        ),
    ),
    marker="transactional_message_id",
)
VARIANTS = {v.name: v for v in (CAMPAIGN, BROADCAST, NEWSLETTER, TRANSACTIONAL)}
MESSAGE_VARIANTS = (CAMPAIGN, BROADCAST, NEWSLETTER)
EMAIL_PUSH_VARIANTS = (CAMPAIGN, BROADCAST, NEWSLETTER, TRANSACTIONAL)

# --- per-metric extras --------------------------------------------------------------------------

SUBJECT = _f("subject", STRING, req=True, doc="The subject of the email.")
SUBJECT_OPT = _f("subject", STRING, doc="The subject of the email.")
EMAIL_RECIPIENT = _f("recipient", STRING, req=True, doc="The email address sent to.")
FAILURE = _f("failure_message", STRING, req=True, doc="Why the message failed.")
HREF = _f("href", STRING, req=True, doc="The URL of the clicked link.")
LINK_ID = _f("link_id", INTEGER, req=True, doc="The tracked link.")
CONTENT = _f("content", STRING, doc="Message body (only with 'include body content').")
PLATFORM = ("ios", "android")


def _recipients(*, failure: bool = False, strict: bool = False) -> FieldSpec:
    items: tuple[FieldSpec, ...] = (
        _f("device_id", STRING, req=True, doc="The device token."),
        _f("device_platform", STRING, req=strict, doc="ios or android.", enum=PLATFORM),
    )
    if failure:
        items += (_f("failure_message", STRING, req=strict, doc="Why the push failed."),)
    return _f("recipients", ARRAY, req=True, doc="The devices the push went to.", items=items)


def _recipient(doc: str) -> FieldSpec:
    return _f("recipient", STRING, req=True, doc=doc)


EMAIL_EXTRAS: dict[str, tuple[FieldSpec, ...]] = {
    "drafted": (EMAIL_RECIPIENT, SUBJECT),
    "attempted": (FAILURE,),
    "sent": (
        EMAIL_RECIPIENT,
        SUBJECT,
        CONTENT,
        _f("headers", OBJECT, doc="Custom headers: name -> list of values."),
    ),
    "delivered": (EMAIL_RECIPIENT, SUBJECT),
    "opened": (
        EMAIL_RECIPIENT,
        SUBJECT_OPT,
        _f("proxied", BOOLEAN, doc="Fetched by a privacy proxy."),
        _f("prefetched", BOOLEAN, doc="Opened by a machine (e.g. Apple Privacy Protection)."),
        _f("synthetic", BOOLEAN, doc="Inferred from a click."),
    ),
    "clicked": (
        EMAIL_RECIPIENT,
        SUBJECT,
        HREF,
        LINK_ID,
        _f("machine", BOOLEAN, doc="The click came from a machine."),
    ),
    "converted": (EMAIL_RECIPIENT, SUBJECT),
    "unsubscribed": (EMAIL_RECIPIENT, SUBJECT),
    "bounced": (EMAIL_RECIPIENT, SUBJECT, FAILURE),
    "dropped": (EMAIL_RECIPIENT, SUBJECT, FAILURE),
    "spammed": (EMAIL_RECIPIENT, SUBJECT),
    "failed": (EMAIL_RECIPIENT, SUBJECT, FAILURE),
    "undeliverable": (EMAIL_RECIPIENT, SUBJECT, FAILURE),
    # Subscribable, shape unpublished: treated like `attempted` (DOMAIN.md §2).
    "deferred": (FAILURE,),
}

PUSH_EXTRAS: dict[str, tuple[FieldSpec, ...]] = {
    "drafted": (),
    "attempted": (FAILURE,),
    "sent": (_recipients(failure=True), CONTENT),
    "delivered": (_recipients(),),
    "opened": (_recipients(),),
    "clicked": (_recipients(), HREF, LINK_ID),
    "converted": (_recipients(),),
    "bounced": (_recipients(failure=True, strict=True),),
    "dropped": (_recipients(failure=True, strict=True),),
    "failed": (FAILURE,),
    "undeliverable": (FAILURE,),
}


def _channel_extras(recipient_doc: str) -> dict[str, tuple[FieldSpec, ...]]:
    rcpt = _recipient(recipient_doc)
    return {
        "drafted": (),
        "attempted": (FAILURE,),
        "sent": (rcpt, CONTENT),
        "delivered": (rcpt,),
        "opened": (rcpt,),
        "clicked": (rcpt, HREF, LINK_ID),
        "converted": (rcpt,),
        "bounced": (rcpt, FAILURE),
        "dropped": (rcpt, FAILURE),
        "failed": (FAILURE,),
        "undeliverable": (FAILURE,),
        "replied": (
            _f("inbound_event_id", STRING, req=True, doc="The inbound message."),
            _f("to", STRING, req=True, doc="The number the person replied to."),
            _recipient("The phone number that replied."),
        ),
    }


Extras = dict[str, tuple[FieldSpec, ...]]


def _pick(table: Extras, *metrics: str) -> Extras:
    return {m: table[m] for m in metrics}


SMS_TABLE = _channel_extras("The phone number sent to.")
SMS_EXTRAS = _pick(
    SMS_TABLE,
    "drafted", "attempted", "sent", "delivered", "clicked", "converted", "bounced", "failed",
    "undeliverable", "replied",
)  # fmt: skip
WHATSAPP_EXTRAS = _pick(
    SMS_TABLE,
    "drafted", "attempted", "sent", "delivered", "opened", "clicked", "converted", "bounced",
    "dropped", "failed", "undeliverable", "replied",
)  # fmt: skip
IN_APP_TABLE = _channel_extras("The ID or email of the person the message went to.")
IN_APP_EXTRAS = _pick(
    IN_APP_TABLE,
    "drafted", "attempted", "sent", "opened", "clicked", "converted", "failed", "undeliverable",
)  # fmt: skip
IN_APP_EXTRAS["opened"] = ()
IN_APP_EXTRAS["clicked"] = (
    *IN_APP_EXTRAS["clicked"],
    _f("tracked_response", STRING, doc="Action name of the tapped component."),
)
SLACK_EXTRAS = _pick(
    _channel_extras("The Slack channel sent to."),
    "drafted", "attempted", "sent", "clicked", "failed", "undeliverable",
)  # fmt: skip
WEBHOOK_EXTRAS = _pick(
    _channel_extras("The URL the webhook was sent to."),
    "drafted", "attempted", "sent", "clicked", "failed", "undeliverable",
)  # fmt: skip

SUBSCRIPTION_METRICS = ("subscribed", "unsubscribed", "cio_subscription_preferences_changed")
PREFERENCES_CONTENT = _f(
    "content", STRING, doc='The changed preferences as a JSON string, e.g. {"topics":{...}}.'
)

AEP_UNSUPPORTED = frozenset({"whatsapp"})
CHANNELS = ("email", "push", "sms", "whatsapp", "in_app", "slack", "webhook")
OBJECT_TYPES = ("customer", *CHANNELS)


@dataclass(frozen=True)
class EventType:
    """One (object_type, metric) pair with the `data` fields Customer.io sends for it."""

    object_type: str
    metric: str
    fields: tuple[FieldSpec, ...]  # `data` fields besides identifiers and the variant's fields
    variants: tuple[Variant, ...] = ()  # message events: where the message came from
    subscription: bool = False
    # Preference changes triggered by a message carry that message's ids (the spec requires
    # one of these; changes made without a message have none, so we accept both).
    optional_variants: tuple[Variant, ...] = ()
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.object_type}:{self.metric}"

    @property
    def aep_supported(self) -> bool:
        return self.object_type not in AEP_UNSUPPORTED

    @property
    def is_message(self) -> bool:
        return bool(self.variants)

    def data_fields(self, variant: Variant | None = None) -> tuple[FieldSpec, ...]:
        """All `data` fields, in the order Customer.io's examples use, for one variant."""
        if self.subscription:
            base: tuple[FieldSpec, ...] = (CUSTOMER_ID, EMAIL_ADDRESS, IDENTIFIERS_FIELD)
            extra = (*variant.fields, DELIVERY_ID) if variant else ()
            return base + extra + self.fields
        chosen = variant or self.variants[0]
        return (*chosen.fields, CUSTOMER_ID, DELIVERY_ID, IDENTIFIERS_FIELD, *self.fields)

    def all_data_fields(self) -> tuple[FieldSpec, ...]:
        """Every field the event may carry in any variant (first definition wins)."""
        seen: dict[str, FieldSpec] = {}
        choices: tuple[Variant | None, ...] = self.variants or (None, *self.optional_variants)
        for variant in choices:
            for spec in self.data_fields(variant):
                seen.setdefault(spec.name, spec)
        return tuple(seen.values())


def _message_events(
    object_type: str, table: dict[str, tuple[FieldSpec, ...]], variants: tuple[Variant, ...]
) -> Iterator[EventType]:
    for metric, extras in table.items():
        note = "shape unpublished; treated like attempted" if metric == "deferred" else ""
        yield EventType(object_type, metric, extras, variants, note=note)


@lru_cache(maxsize=64)  # one object per pair: cheap lookups, stable identity
def _subscription_event(object_type: str, metric: str) -> EventType:
    if metric == "cio_subscription_preferences_changed":
        return EventType(
            object_type,
            metric,
            (PREFERENCES_CONTENT,),
            subscription=True,
            optional_variants=MESSAGE_VARIANTS,
        )
    return EventType(object_type, metric, (), subscription=True)


@dataclass
class EventCatalog:
    """Lookup over every event Customer.io's reporting webhooks send."""

    _events: tuple[EventType, ...] = field(default_factory=tuple)

    def events(self, *, aep_only: bool = False) -> list[EventType]:
        """The canonical events (channel-triggered subscription events are resolved by get)."""
        return [e for e in self._events if e.aep_supported or not aep_only]

    def aep_supported(self) -> list[EventType]:
        return self.events(aep_only=True)

    @cached_property
    def _index(self) -> dict[tuple[str, str], EventType]:
        return {(e.object_type, e.metric): e for e in self._events}

    @cached_property
    def metrics_by_object_type(self) -> dict[str, tuple[str, ...]]:
        table: dict[str, list[str]] = {}
        for e in self._events:
            table.setdefault(e.object_type, []).append(e.metric)
        for channel in CHANNELS:  # a message can trigger a subscription change
            for metric in SUBSCRIPTION_METRICS:
                if metric not in table[channel]:
                    table[channel].append(metric)
        return {k: tuple(v) for k, v in table.items()}

    def get(self, object_type: str, metric: str) -> EventType | None:
        """The event type, including subscription events that carry a channel as object type."""
        found = self._index.get((object_type, metric))
        if found is not None:
            return found
        if object_type in CHANNELS and metric in SUBSCRIPTION_METRICS:
            return _subscription_event(object_type, metric)
        return None

    def subscription_variant(self, object_type: str, metric: str) -> EventType | None:
        """The subscription shape of a pair that is also a message event (email:unsubscribed)."""
        if object_type in CHANNELS and metric in SUBSCRIPTION_METRICS:
            return _subscription_event(object_type, metric)
        return None

    def parse_key(self, key: str) -> EventType:
        """`"email:sent"` → its EventType; a UsageError naming the valid choices otherwise."""
        object_type, sep, metric = key.strip().partition(":")
        event = self.get(object_type.strip(), metric.strip()) if sep else None
        if event is None:
            if object_type in self.metrics_by_object_type and sep:
                choices = ", ".join(self.metrics_by_object_type[object_type])
                raise UsageError(
                    f"unknown event {key!r}: {object_type} has the metrics {choices}"
                )
            types = ", ".join(OBJECT_TYPES)
            raise UsageError(
                f"unknown event {key!r}: use OBJECT_TYPE:METRIC, e.g. email:sent; "
                f"object types: {types} (list them all with: cio-aep events)"
            )
        return event

    def parse_keys(self, keys: Iterable[str]) -> list[EventType]:
        return [self.parse_key(k) for k in keys]

    @cached_property
    def _source_fields(self) -> dict[str, frozenset[str]]:
        table: dict[str, set[str]] = {}

        def add(path: str, spec: FieldSpec) -> None:
            table.setdefault(path, set()).update(spec.types)
            if spec.types[0] == OBJECT:
                for child in spec.items:
                    add(f"{path}.{child.name}", child)
            elif spec.types[0] == ARRAY and spec.items:
                table.setdefault(f"{path}[*]", set()).add(OBJECT)
                for child in spec.items:
                    add(f"{path}[*].{child.name}", child)

        for top in TOP_LEVEL:
            table.setdefault(top.name, set()).update(top.types)
        for event in self.aep_supported():
            for spec in event.all_data_fields():
                add(f"data.{spec.name}", spec)
        return {k: frozenset(v) for k, v in sorted(table.items())}

    def source_fields(self) -> dict[str, frozenset[str]]:
        """Every source path in AEP-supported payloads (arrays as `[*]`) → JSON type names."""
        return dict(self._source_fields)


def _build() -> EventCatalog:
    events: list[EventType] = [
        _subscription_event("customer", metric) for metric in SUBSCRIPTION_METRICS
    ]
    events += _message_events("email", EMAIL_EXTRAS, EMAIL_PUSH_VARIANTS)
    events += _message_events("push", PUSH_EXTRAS, EMAIL_PUSH_VARIANTS)
    events += _message_events("sms", SMS_EXTRAS, MESSAGE_VARIANTS)
    events += _message_events("whatsapp", WHATSAPP_EXTRAS, MESSAGE_VARIANTS)
    events += _message_events("in_app", IN_APP_EXTRAS, MESSAGE_VARIANTS)
    events += _message_events("slack", SLACK_EXTRAS, MESSAGE_VARIANTS)
    events += _message_events("webhook", WEBHOOK_EXTRAS, MESSAGE_VARIANTS)
    return EventCatalog(tuple(events))


CATALOG = _build()
