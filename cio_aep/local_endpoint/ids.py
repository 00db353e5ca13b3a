"""Matching a request's flow id to the one `serve` is restricted to (`--flow-id`).

The ids themselves are checked by `cio_aep.webhook_url` as for `build-url`, so that the
webhook URL serve prints is one the tool itself accepts:

- a dataflow ID must be a UUID (any case, braces allowed); its canonical form is the lower-case
  hyphenated one that `build-url`, `send-test-event` and `replay` send;
- an inlet id must be one URL path segment of the characters `build-url` takes (letters,
  digits, `-._~`); one that is not 64 hex characters (the only shape AEP documents) is allowed,
  with a warning for the person at the terminal.
"""

from __future__ import annotations

__all__ = ["same_flow_id"]


def same_flow_id(flow: str, canonical: str) -> bool:
    """Whether a request's flow id names the dataflow `canonical` (a canonical dataflow ID):
    compared without regard to case or surrounding braces. Cheap: for every request."""
    if flow == canonical:
        return True
    flow = flow.strip().lower()
    if flow[:1] == "{" and flow[-1:] == "}":
        flow = flow[1:-1]
    return flow == canonical
