"""Answer bodies shaped like AEP's streaming endpoint (DOMAIN.md §3, reference/aep/streaming_*).

Bodies are built as bytes directly: the single-event success answer is on the hot path.
"""

from __future__ import annotations

import itertools
import json
import random
import time

PROBLEM_TYPE = "http://ns.adobe.com/adobecloud/problem/data-collection-service/inlet"
# AEP's 401 uses another type, and spells `status` as the string "401" (reference example).
AUTH_PROBLEM_TYPE = "https://ns.adobe.com/adobecloud/problem/data-collection-service-authorization"
LOCAL_ORG = "cio-aep-local@AdobeOrg"
INVALID_FORMAT = "Invalid XDM Message Format"

_TITLES = {
    400: INVALID_FORMAT,
    401: "Authorization",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def title_for(status: int) -> str:
    """A title for a problem answer of `status`."""
    return _TITLES.get(status, "Error")


class XactionIds:
    """Transaction ids like AEP's: `"{receivedTimeMs}:{4 digits}:{counter}"`.

    The middle part stands for the AEP node that took the message: one per server, so ids
    stay unique within a run; the counter makes them unique within a millisecond.
    """

    __slots__ = ("_counter", "_node")

    def __init__(self, seed: int | None = None) -> None:
        self._node = f"{random.Random(seed).randrange(10000):04d}"
        self._counter = itertools.count(1)

    def next(self, received_ms: int) -> str:
        """A fresh transaction id for a message received at `received_ms`."""
        return f"{received_ms}:{self._node}:{next(self._counter)}"


def now_ms() -> int:
    """The current time in integer milliseconds, as `receivedTimeMs` carries it."""
    return time.time_ns() // 1_000_000


def _json(value: object) -> bytes:
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (from a `\ud800` escape in an accepted event) has no UTF-8 form;
        # escaped, pure-ASCII JSON always has one and reads back as the same value.
        return json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode("ascii")


_PREFIXES: dict[str, bytes] = {}


def _prefix(inlet_id: str) -> bytes:
    # Memoised: a sender posts to the same inlet again and again (hot path).
    prefix = _PREFIXES.get(inlet_id)
    if prefix is None:
        prefix = b'{"inletId":' + _json(inlet_id) + b',"xactionId":"'
        if len(_PREFIXES) >= 256:
            _PREFIXES.clear()
        _PREFIXES[inlet_id] = prefix
    return prefix


def success_body(inlet_id: str, xaction_id: str, received_ms: int, *, validated: bool) -> bytes:
    """200 answer of the single-message endpoint; `validated` when syncValidation ran."""
    tail = b',"syncValidation":{"status":"pass"}}' if validated else _SKIPPED
    return b"".join(
        (
            _prefix(inlet_id),
            xaction_id.encode("ascii"),
            b'","receivedTimeMs":',
            str(received_ms).encode("ascii"),
            tail,
        )
    )


_SKIPPED = b',"syncValidation":{"skipped":true}}'


def batch_body(
    inlet_id: str, batch_id: str, received_ms: int, responses: list[dict[str, object]]
) -> bytes:
    """207 answer of the batch endpoint: one entry per message, in order."""
    return _json(
        {
            "inletId": inlet_id,
            "batchId": batch_id,
            "receivedTimeMs": received_ms,
            "responses": responses,
        }
    )


def inlet_message(inlet_id: str, text: str) -> str:
    """AEP's message prefix: `inletId: [..] imsOrgId: [..] <text>`."""
    return f"inletId: [{inlet_id}] imsOrgId: [{LOCAL_ORG}] {text}"


def problem_body(
    status: int,
    message: str,
    *,
    title: str | None = None,
    cause: object = None,
) -> bytes:
    """Problem JSON as AEP answers errors: type, status, title, report.message[, report.cause]."""
    report: dict[str, object] = {"message": message}
    if cause is not None:
        report["cause"] = cause
    if status == 401:
        return _json(
            {
                "type": AUTH_PROBLEM_TYPE,
                "status": "401",
                "title": title or title_for(401),
                "report": report,
            }
        )
    return _json(
        {
            "type": PROBLEM_TYPE,
            "status": status,
            "title": title or title_for(status),
            "report": report,
        }
    )


def json_body(value: object) -> bytes:
    """Compact UTF-8 JSON of `value` (the `/_cio-aep/*` answers); pure ASCII when `value` holds
    a lone surrogate, which UTF-8 cannot encode."""
    return _json(value)
