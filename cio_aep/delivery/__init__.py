"""Delivering events as Customer.io does, shared by `send-test-event` and `replay`.

The core is transport-free, so every HTTP client goes through the same logic:

- `request`: `build_delivery(url, event)` fixes the body bytes once; `prepare_request(delivery,
  key)` gives the method, URL, headers (fresh `X-CIO-Timestamp`/`X-CIO-Signature`, user agent)
  and body of ONE attempt; call it again for every retry.
- `retry`: `RetryPolicy.delay_after(outcome.retryable, attempt, outcome.retry_after)` says how
  long to wait before the next attempt, or None to stop.
- `answer`: `explain_answer(status, headers, body)` turns AEP's answer into an `Outcome`; when no
  answer came, `explain_answer(None, {}, b"", error=error_kind_of(exc).value)`.

A new transport (e.g. replay's httptools client) plugs in by writing only the loop around
its client:

    attempt = 0
    while True:
        attempt += 1
        req = prepare_request(delivery, key)
        try:
            status, headers, body = <POST req.body to req.url with req.headers, timeout>
            outcome = explain_answer(status, headers, body, timeout=timeout)
        except <the client's errors> as exc:
            outcome = explain_answer(None, {}, b"", error=error_kind_of(exc).value,
                                     error_detail=str(exc), timeout=timeout)
        delay = policy.delay_after(outcome.retryable, attempt, outcome.retry_after)
        if delay is None:
            break
        await asyncio.sleep(delay)

`httpx_sender` is that loop over httpx (used by `send-test-event` and tests). Nothing here
imports an HTTP client at module level.
"""

from __future__ import annotations

from cio_aep.delivery.answer import ErrorKind, MessageResult, Outcome, error_kind_of, explain_answer
from cio_aep.delivery.request import (
    USER_AGENT,
    Delivery,
    PreparedRequest,
    build_delivery,
    encode_event,
    prepare_request,
)
from cio_aep.delivery.retry import RetryPolicy, parse_retry_after, retryable_status

__all__ = [
    "USER_AGENT",
    "Delivery",
    "ErrorKind",
    "MessageResult",
    "Outcome",
    "PreparedRequest",
    "RetryPolicy",
    "build_delivery",
    "encode_event",
    "error_kind_of",
    "explain_answer",
    "parse_retry_after",
    "prepare_request",
    "retryable_status",
]
