"""The ids `serve` can be restricted to (`--flow-id`, `--inlet-id`), checked like `build-url`
checks them, so that the webhook URL serve prints is one the tool itself accepts.

- a dataflow ID must be a UUID (any case, braces allowed); its canonical form is the lower-case
  hyphenated one that `build-url`, `send-test-event` and `replay` send;
- an inlet id must be one URL path segment of the characters `build-url` takes (letters,
  digits, `-._~`); one that is not 64 hex characters (the only shape AEP documents) is allowed,
  with a warning for the person at the terminal.

The checks and messages are webhook_url's own (a `WebhookUrlError`, which is a `UsageError`).
"""

from __future__ import annotations

from cio_aep.errors import WebhookUrlError
from cio_aep.webhook_url import (
    _HEX64,
    _INLET_CHARS,
    _check_characters,
    _clean,
    _show,
    canonical_dataflow_id,
)

__all__ = ["canonical_flow_id", "checked_inlet_id", "inlet_id_warning", "same_flow_id"]

_INLET_HINT = (
    "an inlet id is one URL path segment of letters, digits and -._~; "
    "AEP's is the end of the Streaming endpoint"
)


def canonical_flow_id(value: str) -> str:
    """`value` as a canonical dataflow ID (lower-case hyphenated UUID); `WebhookUrlError` if it
    is not a UUID. Surrounding whitespace, quotes and braces are accepted, as by `build-url`."""
    return canonical_dataflow_id(value)


def checked_inlet_id(value: str) -> str:
    """`value` as an inlet id that fits one URL path segment; `WebhookUrlError` if it cannot.

    Paste artefacts at the ends (whitespace, quotes) are dropped, as by `build-url`.
    """
    text, offset = _clean(value, "inlet id", strip_slash=False)
    if not text:
        raise WebhookUrlError("the inlet id is empty", hint=_INLET_HINT)
    _check_characters(text, offset, "inlet id")
    if not _INLET_CHARS.fullmatch(text):
        raise WebhookUrlError(
            f"the inlet id {_show(text)} holds characters an inlet id cannot hold "
            "(AEP's are 64 hex characters)",
            hint=_INLET_HINT,
        )
    if text in (".", ".."):
        raise WebhookUrlError(
            f"the inlet id {_show(text)} is a dot segment, which clients remove from a URL path",
            hint=_INLET_HINT,
        )
    return text


def inlet_id_warning(inlet_id: str) -> str | None:
    """What looks odd about a checked inlet id (not 64 hex characters), or None."""
    if _HEX64.fullmatch(inlet_id):
        return None
    return (
        f"inlet id {_show(inlet_id)} is not 64 hex characters, the only shape AEP documents "
        "(serve accepts it; build-url will warn about it too)"
    )


def same_flow_id(flow: str, canonical: str) -> bool:
    """Whether a request's flow id names the dataflow `canonical` (from `canonical_flow_id`):
    compared without regard to case or surrounding braces. Cheap: for every request."""
    if flow == canonical:
        return True
    flow = flow.strip().lower()
    if flow[:1] == "{" and flow[-1:] == "}":
        flow = flow[1:-1]
    return flow == canonical
