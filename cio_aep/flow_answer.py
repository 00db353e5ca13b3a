"""Reading the Flow Service answer to `GET /flows/{id}`: the streaming endpoint and dataflow ID.

AEP returns the endpoint of a streaming dataflow as `items[0].options.inletUrl` and the dataflow
ID as `items[0].id` (DOMAIN.md §3). Users save that answer (`curl ... > flow.json`) and hand it
to `cio-aep build-url --from-flow`. The values are returned as found; checking them is
`cio_aep.webhook_url`'s job.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, BinaryIO

from cio_aep.errors import InputError
from cio_aep.input_files import read_capped
from cio_aep.json_limits import load_json

__all__ = ["MAX_FLOW_ANSWER_BYTES", "FlowAnswer", "parse_flow_answer", "read_flow_answer"]

# A flow answer is a few kilobytes; the cap keeps `/dev/zero` or a wrong file from eating memory.
MAX_FLOW_ANSWER_BYTES = 4 * 1024 * 1024

_HINT = "save the answer of the Flow Service API `GET /flows/{FLOW_ID}` and pass that file"


@dataclass(frozen=True)
class FlowAnswer:
    """The endpoint and dataflow ID found in a flow answer, and where they came from."""

    source: str
    endpoint: str
    dataflow_id: str
    warnings: tuple[str, ...] = ()


def read_flow_answer(source: str, *, stdin: BinaryIO | None = None) -> FlowAnswer:
    """Read a `GET /flows/{id}` answer from a file, or from stdin when `source` is `-`.

    Raises `InputError` naming the file and what is missing or wrong.
    """
    name = "<stdin>" if source == "-" else source
    if source == "-":
        if stdin is None and sys.stdin is None:  # started with stdin closed (`<&-`)
            raise InputError("standard input is closed", source=name)
        stream = stdin if stdin is not None else sys.stdin.buffer
        try:
            data = stream.read(MAX_FLOW_ANSWER_BYTES + 1)
        except OSError as err:
            raise InputError(f"cannot read: {err.strerror or err}", source=name) from None
    else:
        data = read_capped(source, MAX_FLOW_ANSWER_BYTES, "a flow answer file", hint=_HINT)
    if len(data) > MAX_FLOW_ANSWER_BYTES:
        raise InputError(
            f"larger than {MAX_FLOW_ANSWER_BYTES // (1024 * 1024)} MB; a flow answer is a few "
            "kilobytes",
            source=name,
            hint=_HINT,
        )
    return parse_flow_answer(data, source=name)


def parse_flow_answer(data: bytes | str, *, source: str = "<flow answer>") -> FlowAnswer:
    """Take the endpoint and dataflow ID out of a flow answer's text (JSON).

    Also accepts a bare flow object (`jq '.items[0]'`). Raises `InputError`.
    """

    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise InputError(
                f"not UTF-8 text (byte {err.start + 1})", source=source, hint=_HINT
            ) from None
    else:
        text = data.removeprefix("\ufeff")
    if not text.strip():
        raise InputError("empty; expected the JSON answer of GET /flows/{id}", source=source)
    answer = load_json(text, source, "not JSON", hint=_HINT)

    warnings: list[str] = []
    flow: Any
    if isinstance(answer, dict) and "items" in answer:
        items = answer["items"]
        if not isinstance(items, list) or not items:
            raise InputError(
                "`items` is not a list of flows (or is empty)", source=source, hint=_HINT
            )
        if len(items) > 1:
            warnings.append(
                f"{source}: holds {len(items)} flows; using the first ({_flow_label(items[0])})"
            )
        flow = items[0]
        where = "items[0]"
    elif isinstance(answer, dict) and ("options" in answer or "id" in answer):
        flow, where = answer, "the flow"
    else:
        raise InputError(
            "no `items` list: this is not a Flow Service answer to GET /flows/{id}",
            source=source,
            hint=_HINT,
        )
    if not isinstance(flow, dict):
        raise InputError(f"{where} is not an object", source=source, hint=_HINT)

    options = flow.get("options")
    if not isinstance(options, dict):
        raise InputError(
            f"{where}.options is missing, so there is no streaming endpoint (inletUrl)",
            source=source,
            hint="is this a streaming dataflow? " + _HINT,
        )
    endpoint = options.get("inletUrl")
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise InputError(
            f"{where}.options.inletUrl (the streaming endpoint) is missing or not a string",
            source=source,
            hint="is this a streaming dataflow? " + _HINT,
        )
    dataflow_id = flow.get("id")
    if not isinstance(dataflow_id, str) or not dataflow_id.strip():
        raise InputError(
            f"{where}.id (the dataflow ID) is missing or not a string", source=source, hint=_HINT
        )
    return FlowAnswer(source, endpoint, dataflow_id, tuple(warnings))


def _flow_label(flow: object) -> str:
    if isinstance(flow, dict) and isinstance(flow.get("id"), str):
        return str(flow["id"])[:80]
    return "no id"
