"""The webhook URL given to Customer.io: `{STREAMING_ENDPOINT}?x-adobe-flow-id={DATAFLOW_ID}`.

One wrong URL makes Customer.io hold back every later event for an hour (DOMAIN.md §2), so the
URL is checked strictly here, with one typed error (`WebhookUrlError`) whose message says what
to do. Paste artefacts (surrounding whitespace, quotes, one trailing slash) are cleaned
silently; anything else that is odd is refused, or reported as a warning when AEP documents no
rule against it.

Light on purpose: `cio-aep build-url` imports this module, so only cheap stdlib modules here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cio_aep.errors import WebhookUrlError

__all__ = [
    "FLOW_ID_PARAM",
    "SYNC_VALIDATION_PARAM",
    "WebhookUrl",
    "build_webhook_url",
    "canonical_dataflow_id",
    "parse_webhook_url",
]

FLOW_ID_PARAM = "x-adobe-flow-id"
SYNC_VALIDATION_PARAM = "syncValidation"
AEP_DOMAIN = "adobedc.net"
DOCUMENTED_HOST = "dcs.adobedc.net"

_EXAMPLE_ENDPOINT = (
    "https://dcs.adobedc.net/collection/"
    "febc116d22ba0ea2868e9c93b199375302afb8a589617700991bb8f3f0341ad7"
)
_EXAMPLE_DATAFLOW_ID = "439b3fc4-3042-4a3a-b5e0-a494898d3fb0"
_WHERE_ENDPOINT = "copy the Streaming endpoint from the dataflow's activity page in AEP"
_WHERE_DATAFLOW = "copy the Dataflow ID from the dataflow's activity page in AEP"

# Quotes that ride along when a value is copied from a document, chat or shell snippet.
_QUOTES = "\"'`“”„‟‘’‚‛«»‹›<>"
# Invisible characters that a copy from a web page or editor may put at the ends.
_EDGE_JUNK = "\u200b\ufeff"
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# ASCII printable characters RFC 3986 does not allow anywhere in a URL.
_NOT_IN_URL = frozenset(' "<>\\^`{|}')

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_INLET_CHARS = re.compile(r"[A-Za-z0-9._~-]+")
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?")
_UUID = re.compile(
    r"([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})", re.IGNORECASE
)


@dataclass(frozen=True)
class WebhookUrl:
    """A checked webhook URL and its parts. `str(url)` is the URL to paste into Customer.io.

    `endpoint` is the canonical streaming endpoint (`scheme://host[:port]/collection/{inlet}`);
    `port` is None when the URL uses the scheme's default port; `warnings` hold what looked odd
    but is not known to be wrong.
    """

    endpoint: str
    scheme: str
    host: str
    port: int | None
    inlet_id: str
    dataflow_id: str
    url: str
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        return self.url

    @property
    def is_loopback(self) -> bool:
        """True for a local endpoint such as `cio-aep serve` on 127.0.0.1."""
        return _is_loopback(self.host)

    def request_url(self, *, sync_validation: bool = False) -> str:
        """The URL to POST to; `sync_validation=True` adds `syncValidation=true` for a one-off
        check (never for the URL given to Customer.io: a sync-validation 400 stalls it)."""
        if sync_validation:
            return f"{self.url}&{SYNC_VALIDATION_PARAM}=true"
        return self.url

    def to_dict(self) -> dict[str, Any]:
        """The parts, for `--json`."""
        return {
            "endpoint": self.endpoint,
            "scheme": self.scheme,
            "host": self.host,
            "port": self.port,
            "inlet_id": self.inlet_id,
            "dataflow_id": self.dataflow_id,
            "url": self.url,
            "warnings": list(self.warnings),
        }


def build_webhook_url(
    endpoint: str, dataflow_id: str, *, allowed_hosts: Iterable[str] = ()
) -> WebhookUrl:
    """Check a streaming endpoint and a dataflow ID and join them into the webhook URL.

    The endpoint may already hold `x-adobe-flow-id`: the same ID is accepted (not doubled), a
    different one is refused. Hosts outside `*.adobedc.net` are refused unless listed in
    `allowed_hosts` (a proxy in front of AEP); loopback hosts are always allowed, with http or
    https, for the local endpoint `cio-aep serve`. Raises `WebhookUrlError`.
    """
    flow_id = canonical_dataflow_id(dataflow_id)
    parts = _check_endpoint(endpoint, "endpoint", allowed_hosts)
    for found in parts.flow_ids:
        if found != flow_id:
            raise WebhookUrlError(
                f"the endpoint already holds {FLOW_ID_PARAM}={found}, which differs from the "
                f"dataflow ID {flow_id}",
                hint="remove the query from the endpoint, or give the dataflow ID it belongs to",
            )
    return parts.finish(flow_id)


def parse_webhook_url(url: str, *, allowed_hosts: Iterable[str] = ()) -> WebhookUrl:
    """Check a full webhook URL (`{endpoint}?x-adobe-flow-id={id}`) as given to Customer.io.

    Same checks and errors as `build_webhook_url`; the URL must carry the dataflow ID.
    """
    parts = _check_endpoint(url, "URL", allowed_hosts)
    if not parts.flow_ids:
        raise WebhookUrlError(
            f"the URL has no {FLOW_ID_PARAM}: AEP needs the dataflow ID to accept raw "
            "Customer.io events",
            hint=f"build the URL with `cio-aep build-url --endpoint ... --dataflow-id ...` "
            f"(it ends in ?{FLOW_ID_PARAM}=<dataflow ID>)",
        )
    return parts.finish(parts.flow_ids[0])


def canonical_dataflow_id(value: str) -> str:
    """A dataflow ID in canonical form: a lowercase hyphenated UUID (braces and case accepted).

    Raises `WebhookUrlError` when it is not a UUID.
    """
    text, offset = _clean(value, "dataflow ID", strip_slash=False)
    if not text:
        raise WebhookUrlError("the dataflow ID is empty", hint=_WHERE_DATAFLOW)
    _check_characters(text, offset, "dataflow ID", braces=True)
    inner = text[1:-1] if text.startswith("{") and text.endswith("}") else text
    match = _UUID.fullmatch(inner)
    if match is None:
        raise WebhookUrlError(
            f"the dataflow ID {_show(text)} is not a UUID (like {_EXAMPLE_DATAFLOW_ID})",
            hint=_dataflow_hint(inner),
        )
    return "-".join(match.groups()).lower()


# --- internals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parts:
    scheme: str
    host: str
    port: int | None
    inlet_id: str
    flow_ids: tuple[str, ...]
    warnings: tuple[str, ...]

    def finish(self, dataflow_id: str) -> WebhookUrl:
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        if self.port is not None:
            netloc += f":{self.port}"
        endpoint = f"{self.scheme}://{netloc}/collection/{self.inlet_id}"
        return WebhookUrl(
            endpoint=endpoint,
            scheme=self.scheme,
            host=self.host,
            port=self.port,
            inlet_id=self.inlet_id,
            dataflow_id=dataflow_id,
            url=f"{endpoint}?{FLOW_ID_PARAM}={dataflow_id}",
            warnings=self.warnings,
        )


def _check_endpoint(value: str, what: str, allowed_hosts: Iterable[str]) -> _Parts:
    text, offset = _clean(value, what, strip_slash=True)
    if not text:
        raise WebhookUrlError(f"the {what} is empty", hint=_WHERE_ENDPOINT)
    _check_characters(text, offset, what)

    if "://" not in text:
        hint = f"it starts with https://, e.g. {_EXAMPLE_ENDPOINT}"
        if text.lower().startswith(("https:", "http:")):
            hint = "write the scheme as https:// (two slashes)"
        raise WebhookUrlError(f"the {what} {_show(text)} has no scheme", hint=hint)
    try:
        split = urlsplit(text)
        port = split.port
    except ValueError as err:
        raise WebhookUrlError(
            f"the {what} {_show(text)} is not a valid URL ({err})", hint=_WHERE_ENDPOINT
        ) from None
    scheme = split.scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookUrlError(
            f"the {what} uses {scheme}://; AEP streaming endpoints use https://",
            hint=_WHERE_ENDPOINT,
        )
    if split.username is not None or split.password is not None:
        raise WebhookUrlError(
            f"the {what} holds credentials (user:password@ before the host); Customer.io would "
            "show them in its webhook settings and logs",
            hint="remove them: AEP streaming endpoints take no credentials in the URL",
        )
    if "#" in text:
        raise WebhookUrlError(
            f"the {what} holds a fragment (#{split.fragment}), which is never sent to the server",
            hint="remove the # and what follows it",
        )

    host = (split.hostname or "").lower()
    if host.endswith(".") and not host.endswith(".."):
        host = host[:-1]  # the fully-qualified form names the same host
    if not host:
        raise WebhookUrlError(f"the {what} {_show(text)} has no host", hint=_WHERE_ENDPOINT)
    loopback = _is_loopback(host)
    if not loopback and ":" not in host and not _HOST_NAME.fullmatch(host):
        raise WebhookUrlError(f"the {what} has an invalid host {host!r}", hint=_WHERE_ENDPOINT)
    if port is not None and port == {"http": 80, "https": 443}[scheme]:
        port = None

    warnings: list[str] = []
    if not loopback:
        if scheme != "https":
            raise WebhookUrlError(
                f"the {what} uses http://; AEP streaming endpoints take https:// only (http is "
                "allowed for a local endpoint on 127.0.0.1 or localhost)",
                hint="write https:// instead of http://",
            )
        allowed = {_normal_host(h) for h in allowed_hosts}
        if host in allowed:
            pass  # a proxy the user named explicitly: no warning.
        elif host.endswith("." + AEP_DOMAIN):
            if host != DOCUMENTED_HOST:
                warnings.append(
                    f"host {host} is not {DOCUMENTED_HOST}, the streaming host in Adobe's "
                    "documentation; check that it is the Streaming endpoint shown on the "
                    "dataflow's activity page"
                )
        else:
            raise WebhookUrlError(
                f"host {host} is not an AEP streaming host (*.{AEP_DOMAIN})",
                hint=f"{_WHERE_ENDPOINT}; if {host} is a proxy in front of AEP, allow it with "
                f"--allow-host {host}",
            )

    inlet_id = _check_path(split.path, what)
    odd = inlet_id_warning(inlet_id)
    if odd is not None:
        warnings.append(odd + "; check that the endpoint was copied whole")
    flow_ids = _check_query(split.query, what)
    return _Parts(scheme, host, port, inlet_id, flow_ids, tuple(warnings))


_INLET_HINT = (
    "an inlet id is one URL path segment of letters, digits and -._~; "
    "AEP's is the end of the Streaming endpoint"
)


def check_inlet_id(value: str) -> str:
    """`value` as an inlet id that fits one URL path segment; `WebhookUrlError` if it cannot.

    Paste artefacts at the ends (whitespace, quotes) are dropped, as for a whole endpoint.
    """
    text, offset = _clean(value, "inlet id", strip_slash=False)
    if not text:
        raise WebhookUrlError("the inlet id is empty", hint=_INLET_HINT)
    _check_characters(text, offset, "inlet id")
    _check_inlet_shape(text, _INLET_HINT)
    return text


def inlet_id_warning(inlet_id: str) -> str | None:
    """What looks odd about a valid inlet id (not 64 hex characters), or None."""
    if _HEX64.fullmatch(inlet_id):
        return None
    return f"inlet id {_show(inlet_id)} is not 64 hex characters, the only shape AEP documents"


def _check_inlet_shape(inlet_id: str, hint: str) -> None:
    if not _INLET_CHARS.fullmatch(inlet_id):
        raise WebhookUrlError(
            f"the inlet id {_show(inlet_id)} holds characters an inlet id cannot hold "
            "(AEP's are 64 hex characters)",
            hint=hint,
        )
    if inlet_id in (".", ".."):
        raise WebhookUrlError(
            f"the inlet id {_show(inlet_id)} is a dot segment, which clients remove from a URL "
            "path",
            hint=hint,
        )


def _check_path(path: str, what: str) -> str:
    segments = path.split("/")
    # "/collection/batch/X" -> ["", "collection", "batch", "X"]
    if len(segments) >= 3 and segments[1] == "collection" and segments[2] == "batch":
        raise WebhookUrlError(
            f"the {what} is AEP's batch endpoint (/collection/batch/...), but Customer.io sends "
            "one event per request, which the batch endpoint refuses",
            hint="remove /batch: the path is /collection/{INLET_ID}",
        )
    if path == "/collection":
        segments.append("")  # "/collection/" lost its trailing slash to the cleaning
    if len(segments) == 3 and segments[0] == "" and segments[1] == "collection":
        inlet_id = segments[2]
        if not inlet_id:
            raise WebhookUrlError(
                f"the {what} has no inlet id after /collection/", hint=_WHERE_ENDPOINT
            )
        _check_inlet_shape(inlet_id, _WHERE_ENDPOINT)
        return inlet_id
    shown = path or "(none)"
    raise WebhookUrlError(
        f"the {what}'s path {_show(shown)} is not /collection/{{INLET_ID}}",
        hint=f"{_WHERE_ENDPOINT}, e.g. {_EXAMPLE_ENDPOINT}",
    )


def _check_query(query: str, what: str) -> tuple[str, ...]:
    if "?" in query:
        raise WebhookUrlError(
            f"the {what} holds a second '?'; a URL has one, and further parameters are joined "
            "with '&'",
            hint="give the Streaming endpoint without a query, and the dataflow ID apart",
        )
    flow_ids: list[str] = []
    for name, raw in parse_qsl(query, keep_blank_values=True):
        if name.lower() == SYNC_VALIDATION_PARAM.lower():
            raise WebhookUrlError(
                f"the {what} holds {name}: with it, AEP answers 400 to an event that fails "
                "validation, and a 400 makes Customer.io hold back every later event for an hour",
                hint=f"remove {name}; for a one-off check use `cio-aep send-test-event "
                "--sync-validation`",
            )
        if name.lower() == FLOW_ID_PARAM:
            if not raw.strip():
                continue  # a template left blank (`...?x-adobe-flow-id=`): filled in below.
            flow_id = canonical_dataflow_id(raw)
            if flow_ids and flow_id not in flow_ids:
                raise WebhookUrlError(
                    f"the {what} holds two different {FLOW_ID_PARAM} values "
                    f"({flow_ids[0]} and {flow_id})",
                    hint="keep the one shown on the dataflow's activity page in AEP",
                )
            flow_ids.append(flow_id)
            continue
        raise WebhookUrlError(
            f"the {what} holds an unexpected query parameter {_show(name)}; the URL for "
            f"Customer.io is {{STREAMING_ENDPOINT}}?{FLOW_ID_PARAM}={{DATAFLOW_ID}}, no more",
            hint=f"remove {_show(name)}",
        )
    return tuple(dict.fromkeys(flow_ids))


def _clean(value: str, what: str, *, strip_slash: bool) -> tuple[str, int]:
    """Drop paste artefacts at the ends; return the text and where it starts in `value`."""
    if not isinstance(value, str):
        raise WebhookUrlError(f"the {what} must be a string, not {type(value).__name__}")
    start, end = 0, len(value)
    junk = _QUOTES + _EDGE_JUNK
    while start < end and (value[start].isspace() or value[start] in junk):
        start += 1
    while end > start and (value[end - 1].isspace() or value[end - 1] in junk):
        end -= 1
    text = value[start:end]
    if strip_slash:
        text = _strip_one_slash(text)
    return text, start


def _strip_one_slash(text: str) -> str:
    # One trailing slash after the inlet id (whether or not a query follows), or after the
    # dataflow ID at the very end of a full URL.
    base, sep, query = text.partition("?")
    if sep and query.endswith("/") and not query.endswith("//"):
        query = query[:-1]
    elif base.endswith("/") and not base.endswith("//"):
        base = base[:-1]
    return base + sep + query


def _check_characters(text: str, offset: int, what: str, *, braces: bool = False) -> None:
    for index, char in enumerate(text):
        code = ord(char)
        if 0x21 <= code <= 0x7E and (char not in _NOT_IN_URL or (braces and char in "{}")):
            continue
        position = offset + index + 1
        label = _char_label(char)
        if char == "{" and "}" in text[index:]:
            raise WebhookUrlError(
                f"the {what} holds a placeholder at character {position} ({_show(text)})",
                hint="replace it, braces included, with the value shown in AEP",
            )
        if 0xDC80 <= code <= 0xDCFF:  # how Python keeps a non-UTF-8 byte of argv or environ
            label, kind = f"byte 0x{code - 0xDC00:02X}", "not UTF-8 text"
        elif code < 0x20 or 0x7F <= code <= 0x9F:
            kind = "a control character"
        elif char in _BIDI:
            kind = "an invisible bidirectional-control character"
        elif char == " ":
            kind = "a space"
        elif char.isspace():
            kind = "whitespace a URL cannot hold"
        elif code > 0x7E:
            kind = "not ASCII"
        else:
            kind = "a character URLs cannot hold unencoded"
        raise WebhookUrlError(
            f"the {what} has {label} at character {position}, {kind}",
            hint="pasted text often carries such characters: remove it, or type the value again",
        )


def _char_label(char: str) -> str:
    import unicodedata  # only on the error path

    name = unicodedata.name(char, "")
    code = f"U+{ord(char):04X}"
    return f"{code} ({name})" if name else code


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    if host == "::1" or host.startswith("127."):
        import ipaddress  # already loaded by Typer; kept local for the light core

        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return False


def _normal_host(value: str) -> str:
    host = value.strip().lower()
    if "://" in host:
        host = urlsplit(host).hostname or host
    elif host.count(":") == 1:
        host = host.partition(":")[0]  # host:port
    return host.strip("[]").rstrip(".")


def _dataflow_hint(value: str) -> str:
    if _HEX64.fullmatch(value):
        return (
            "this looks like the inlet id (the end of the Streaming endpoint); " + _WHERE_DATAFLOW
        )
    if "://" in value or "/" in value:
        return "this looks like a URL; " + _WHERE_DATAFLOW
    return _WHERE_DATAFLOW


def _show(text: str, limit: int = 80) -> str:
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return repr(shown)
