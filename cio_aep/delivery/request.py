"""One delivery built exactly as Customer.io sends it (DOMAIN.md §2), with no transport.

The body bytes are fixed once per event; the headers are built afresh for every attempt, since
`X-CIO-Timestamp` is the send time and the signature covers it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cio_aep import __version__
from cio_aep.signing import SigningKey, signed_headers

USER_AGENT = f"cio-aep/{__version__}"
METHOD = "POST"


def encode_event(event: Mapping[str, object]) -> bytes:
    """Compact JSON bytes of `event`, as Customer.io serialises a payload."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Delivery:
    """One event to POST to one URL: the exact body bytes, and what identifies it in reports.

    `event_id` and `key` (`object_type:metric`) are read from the event when it has them; an
    event sent as read from a file may lack them, so both are optional.
    """

    url: str
    body: bytes
    event_id: str | None = None
    key: str | None = None


def _field(event: object, name: str) -> str | None:
    if isinstance(event, Mapping):
        value = event.get(name)
        if isinstance(value, str):
            return value
    return None


def event_key(event: object) -> str | None:
    """`object_type:metric` of `event`, or None when either is missing or not a string."""
    object_type, metric = _field(event, "object_type"), _field(event, "metric")
    return f"{object_type}:{metric}" if object_type and metric else None


def build_delivery(
    url: str,
    event: object = None,
    *,
    body: bytes | None = None,
) -> Delivery:
    """A delivery of `event` to `url`.

    Without `body` the event (a JSON object) is serialised compactly; with `body` (the raw bytes
    as read from a file) those bytes are sent untouched and `event` only names the delivery.
    """
    if body is None:
        if not isinstance(event, Mapping):
            raise TypeError("build_delivery needs a JSON object or the raw body bytes")
        body = encode_event(event)
    return Delivery(url=url, body=body, event_id=_field(event, "event_id"), key=event_key(event))


@dataclass(frozen=True)
class PreparedRequest:
    """One attempt, ready for any HTTP client: method, URL, headers and body bytes."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes


def attempt_headers(
    body: bytes,
    key: SigningKey | None,
    *,
    clock: Callable[[], float] = time.time,
    user_agent: str = USER_AGENT,
) -> dict[str, str]:
    """Headers of one attempt: JSON content type, user agent, and a fresh signature if keyed."""
    headers = signed_headers(key, body, clock=clock)
    headers["User-Agent"] = user_agent
    return headers


def prepare_request(
    delivery: Delivery,
    key: SigningKey | None,
    *,
    clock: Callable[[], float] = time.time,
    user_agent: str = USER_AGENT,
) -> PreparedRequest:
    """The request of one attempt of `delivery`; call again for each retry (fresh timestamp)."""
    return PreparedRequest(
        method=METHOD,
        url=delivery.url,
        headers=attempt_headers(delivery.body, key, clock=clock, user_agent=user_agent),
        body=delivery.body,
    )
