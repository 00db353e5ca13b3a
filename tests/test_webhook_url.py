"""The webhook URL core: every check of issue 4, table-driven, plus a round-trip property."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cio_aep.errors import ExitCode, InputError, WebhookUrlError
from cio_aep.flow_answer import MAX_FLOW_ANSWER_BYTES, parse_flow_answer, read_flow_answer
from cio_aep.webhook_url import (
    WebhookUrl,
    build_webhook_url,
    canonical_dataflow_id,
    parse_webhook_url,
)

FLOWS = Path(__file__).parent / "data" / "flows"

INLET = "febc116d22ba0ea2868e9c93b199375302afb8a589617700991bb8f3f0341ad7"
ENDPOINT = f"https://dcs.adobedc.net/collection/{INLET}"
FLOW = "439b3fc4-3042-4a3a-b5e0-a494898d3fb0"
URL = f"{ENDPOINT}?x-adobe-flow-id={FLOW}"
OTHER_FLOW = "4982698b-e6b3-48c2-8dcf-040e20121fd2"
LOCAL = "http://127.0.0.1:8080/collection/local-test"

# (endpoint, dataflow id, expected URL)
GOOD = [
    pytest.param(ENDPOINT, FLOW, URL, id="as shown in AEP"),
    pytest.param(f"  {ENDPOINT}\n", f"\t{FLOW} ", URL, id="surrounding whitespace"),
    pytest.param(f'"{ENDPOINT}"', f"'{FLOW}'", URL, id="straight quotes"),
    pytest.param(f"“{ENDPOINT}”", f"‘{FLOW}’", URL, id="typographic quotes"),
    pytest.param(f"`{ENDPOINT}`", f"`{FLOW}`", URL, id="backticks from markdown"),
    pytest.param(f"<{ENDPOINT}>", FLOW, URL, id="angle brackets from an email"),
    pytest.param(f"\u200b{ENDPOINT}\ufeff", FLOW, URL, id="zero-width at the ends"),
    pytest.param(f"{ENDPOINT}/", FLOW, URL, id="one trailing slash"),
    pytest.param(ENDPOINT, FLOW.upper(), URL, id="upper-case dataflow id"),
    pytest.param(ENDPOINT, "{" + FLOW + "}", URL, id="braced dataflow id"),
    pytest.param(ENDPOINT, FLOW.replace("-", ""), URL, id="dataflow id without hyphens"),
    pytest.param(URL, FLOW, URL, id="same flow id already in endpoint"),
    pytest.param(f"{ENDPOINT}/?x-adobe-flow-id={FLOW.upper()}", FLOW, URL, id="same, other case"),
    pytest.param(f"{ENDPOINT}?x-adobe-flow-id=", FLOW, URL, id="blank flow id template"),
    pytest.param(f"{ENDPOINT}?", FLOW, URL, id="empty query"),
    pytest.param(ENDPOINT.replace("https", "HTTPS").replace("dcs", "DCS"), FLOW, URL, id="case"),
    pytest.param(ENDPOINT.replace(".net", ".net:443"), FLOW, URL, id="default port dropped"),
    pytest.param(ENDPOINT.replace(".net", ".net."), FLOW, URL, id="fully qualified host"),
    pytest.param(LOCAL, FLOW, f"{LOCAL}?x-adobe-flow-id={FLOW}", id="cio-aep serve over http"),
    pytest.param(
        "https://localhost:8443/collection/abc",
        FLOW,
        f"https://localhost:8443/collection/abc?x-adobe-flow-id={FLOW}",
        id="localhost over https",
    ),
    pytest.param(
        "http://[::1]:8080/collection/" + INLET,
        FLOW,
        f"http://[::1]:8080/collection/{INLET}?x-adobe-flow-id={FLOW}",
        id="ipv6 loopback",
    ),
    pytest.param(
        "http://127.1.2.3/collection/" + INLET,
        FLOW,
        f"http://127.1.2.3/collection/{INLET}?x-adobe-flow-id={FLOW}",
        id="anywhere in 127/8",
    ),
    pytest.param(
        f"https://dcs-int.adobedc.net/collection/{INLET}",
        FLOW,
        f"https://dcs-int.adobedc.net/collection/{INLET}?x-adobe-flow-id={FLOW}",
        id="integration host",
    ),
]


@pytest.mark.parametrize(("endpoint", "dataflow_id", "expected"), GOOD)
def test_accepted(endpoint: str, dataflow_id: str, expected: str) -> None:
    result = build_webhook_url(endpoint, dataflow_id)
    assert str(result) == expected
    assert result.url == expected
    assert result.dataflow_id == FLOW
    assert result.url.count("?") == 1
    assert result.url.count("x-adobe-flow-id") == 1


# (endpoint, dataflow id, words the message must hold)
BAD = [
    pytest.param(ENDPOINT.replace("https", "http"), FLOW, ["http://", "https://"], id="http"),
    pytest.param(ENDPOINT.replace("https", "ftp"), FLOW, ["ftp://"], id="ftp"),
    pytest.param(ENDPOINT.removeprefix("https://"), FLOW, ["no scheme"], id="no scheme"),
    pytest.param(ENDPOINT.replace("://", ":/"), FLOW, ["no scheme", "two slashes"], id="one /"),
    pytest.param(
        f"https://aep-proxy.example.com/collection/{INLET}",
        FLOW,
        ["aep-proxy.example.com", "--allow-host aep-proxy.example.com"],
        id="foreign host",
    ),
    pytest.param(
        f"https://dcs.adobedc.net.evil.example/collection/{INLET}",
        FLOW,
        ["not an AEP streaming host"],
        id="look-alike host",
    ),
    pytest.param(
        f"https://adobedc.net/collection/{INLET}", FLOW, ["*.adobedc.net"], id="bare domain"
    ),
    pytest.param(
        f"https://127.0.0.1.nip.io/collection/{INLET}", FLOW, ["not an AEP"], id="fake loopback"
    ),
    pytest.param(
        f"https://dcs.adobedc.net/collection/batch/{INLET}",
        FLOW,
        ["batch", "one event per request"],
        id="batch path",
    ),
    pytest.param("https://dcs.adobedc.net/", FLOW, ["/collection/{INLET_ID}"], id="no path"),
    pytest.param("https://dcs.adobedc.net/collection/", FLOW, ["no inlet id"], id="no inlet id"),
    pytest.param(
        f"https://dcs.adobedc.net/collection/{INLET}/extra", FLOW, ["path"], id="extra segment"
    ),
    pytest.param(f"https://dcs.adobedc.net//collection/{INLET}", FLOW, ["path"], id="double slash"),
    pytest.param(
        "https://dcs.adobedc.net/collection/{INLET_ID}", FLOW, ["placeholder"], id="template"
    ),
    pytest.param(
        f"https://dcs.adobedc.net/collection/{INLET[:10]}%20{INLET[10:]}",
        FLOW,
        ["inlet id", "cannot hold"],
        id="percent-encoded space in inlet",
    ),
    pytest.param(
        f"{ENDPOINT}?x-adobe-flow-id={OTHER_FLOW}", FLOW, [OTHER_FLOW, "differs"], id="other id"
    ),
    pytest.param(
        f"{ENDPOINT}?x-adobe-flow-id={FLOW}&x-adobe-flow-id={OTHER_FLOW}",
        FLOW,
        ["two different"],
        id="two ids in endpoint",
    ),
    pytest.param(
        f"{ENDPOINT}?syncValidation=true",
        FLOW,
        ["syncValidation", "an hour", "send-test-event --sync-validation"],
        id="syncValidation",
    ),
    pytest.param(
        f"{URL}&syncvalidation=false", FLOW, ["syncvalidation", "an hour"], id="syncValidation 2"
    ),
    pytest.param(f"{URL}?x-adobe-flow-id={FLOW}", FLOW, ["second '?'"], id="second ?"),
    pytest.param(f"{ENDPOINT}?foo=bar", FLOW, ["'foo'", "unexpected"], id="unknown query"),
    pytest.param(
        f"https://user:secret@dcs.adobedc.net/collection/{INLET}",
        FLOW,
        ["credentials"],
        id="credentials",
    ),
    pytest.param(f"{ENDPOINT}#section", FLOW, ["fragment"], id="fragment"),
    pytest.param(
        f"{ENDPOINT[:40]} {ENDPOINT[40:]}", FLOW, ["U+0020", "character 41"], id="inner space"
    ),
    pytest.param(
        f"{ENDPOINT[:8]}\u202e{ENDPOINT[8:]}",
        FLOW,
        ["U+202E", "RIGHT-TO-LEFT OVERRIDE", "character 9", "bidirectional"],
        id="bidi override",
    ),
    pytest.param(
        f"  {ENDPOINT[:20]}\u00a0{ENDPOINT[20:]}", FLOW, ["U+00A0", "character 23"], id="nbsp"
    ),
    pytest.param(
        ENDPOINT.replace("adobedc", "аdobedc"), FLOW, ["U+0430", "not ASCII"], id="cyrillic a"
    ),
    pytest.param(f"{ENDPOINT[:30]}\t{ENDPOINT[30:]}", FLOW, ["U+0009", "control"], id="tab"),
    pytest.param(f"{ENDPOINT}\x00", FLOW, ["U+0000", "control"], id="NUL"),
    # A non-UTF-8 byte from argv or the environment arrives as a surrogate escape.
    pytest.param(ENDPOINT, "\udcff" + FLOW, ["byte 0xFF at character 1, not UTF-8"], id="byte"),
    pytest.param(ENDPOINT.replace(".net", ".net:99999"), FLOW, ["not a valid URL"], id="port"),
    pytest.param("", FLOW, ["endpoint is empty"], id="empty endpoint"),
    pytest.param(ENDPOINT, "", ["dataflow ID is empty"], id="empty dataflow id"),
    pytest.param(ENDPOINT, "439b3fc4-3042-4a3a-b5e0", ["not a UUID"], id="short id"),
    pytest.param(ENDPOINT, "439b3fc4-3042-4a3a-b5e0-a494898d3fbz", ["not a UUID"], id="not hex"),
    pytest.param(ENDPOINT, INLET, ["inlet id"], id="inlet id given as dataflow id"),
    pytest.param(ENDPOINT, URL, ["looks like a URL"], id="whole URL as dataflow id"),
    pytest.param(ENDPOINT, f"{FLOW[:9]}\u200b{FLOW[9:]}", ["U+200B"], id="zero-width inside"),
]


@pytest.mark.parametrize(("endpoint", "dataflow_id", "words"), BAD)
def test_refused(endpoint: str, dataflow_id: str, words: list[str]) -> None:
    with pytest.raises(WebhookUrlError) as caught:
        build_webhook_url(endpoint, dataflow_id)
    message = str(caught.value)
    for word in words:
        assert word in message
    assert caught.value.hint, "every refusal says what to do"
    assert caught.value.exit_code == ExitCode.USAGE
    assert "\n" not in message


def test_enough_real_looking_inputs() -> None:
    assert len(GOOD) + len(BAD) >= 30


def test_parts_and_json() -> None:
    result = build_webhook_url(f" {ENDPOINT}/ ", "{" + FLOW.upper() + "}")
    assert isinstance(result, WebhookUrl)
    assert result.endpoint == ENDPOINT
    assert (result.scheme, result.host, result.port) == ("https", "dcs.adobedc.net", None)
    assert result.inlet_id == INLET
    assert result.warnings == ()
    assert not result.is_loopback
    assert result.request_url() == URL
    assert result.request_url(sync_validation=True) == f"{URL}&syncValidation=true"
    parts = result.to_dict()
    assert json.loads(json.dumps(parts)) == parts
    assert parts["url"] == URL and parts["dataflow_id"] == FLOW and parts["warnings"] == []


def test_loopback_parts() -> None:
    result = build_webhook_url(LOCAL, FLOW)
    assert (result.scheme, result.host, result.port) == ("http", "127.0.0.1", 8080)
    assert result.is_loopback
    assert result.inlet_id == "local-test"
    # Not 64 hex characters: accepted, with a warning.
    assert len(result.warnings) == 1 and "64 hex" in result.warnings[0]


def test_non_documented_adobedc_host_warns() -> None:
    result = build_webhook_url(f"https://dcs-int.adobedc.net/collection/{INLET}", FLOW)
    assert len(result.warnings) == 1
    assert "dcs.adobedc.net" in result.warnings[0]


@pytest.mark.parametrize(
    "allowed",
    [("aep-proxy.example.com",), ("AEP-Proxy.Example.com",), ("https://aep-proxy.example.com",)],
)
def test_allowed_host(allowed: tuple[str, ...]) -> None:
    endpoint = f"https://aep-proxy.example.com:8443/collection/{INLET}"
    result = build_webhook_url(endpoint, FLOW, allowed_hosts=allowed)
    assert result.url == f"{endpoint}?x-adobe-flow-id={FLOW}"
    assert result.port == 8443
    assert result.warnings == ()


def test_allowed_host_still_needs_https() -> None:
    with pytest.raises(WebhookUrlError, match="http://"):
        build_webhook_url(
            f"http://aep-proxy.example.com/collection/{INLET}",
            FLOW,
            allowed_hosts=["aep-proxy.example.com"],
        )


def test_parse_full_url() -> None:
    result = parse_webhook_url(f"'{URL.replace(FLOW, FLOW.upper())}' ")
    assert result.url == URL
    assert result == build_webhook_url(ENDPOINT, FLOW)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        (ENDPOINT, ["no x-adobe-flow-id", "build-url"]),
        (f"{ENDPOINT}?x-adobe-flow-id=", ["no x-adobe-flow-id"]),
        (f"{URL}&syncValidation=true", ["syncValidation", "an hour"]),
        (URL.replace("collection/", "collection/batch/"), ["batch"]),
        (URL.replace("https", "http"), ["http://"]),
        (f"{URL}?x-adobe-flow-id={FLOW}", ["second '?'"]),
        (f"{URL}#top", ["fragment"]),
        (URL.replace(FLOW, "not-a-uuid"), ["not a UUID"]),
    ],
)
def test_parse_refuses(url: str, words: list[str]) -> None:
    with pytest.raises(WebhookUrlError) as caught:
        parse_webhook_url(url)
    for word in words:
        assert word in str(caught.value)


def test_position_counts_from_the_value_as_given() -> None:
    # Two leading spaces are cleaned, but the position still points into what was typed.
    with pytest.raises(WebhookUrlError, match=r"U\+2028 .* at character 7,"):
        build_webhook_url("  http\u2028s://dcs.adobedc.net/collection/x", FLOW)


def test_canonical_dataflow_id() -> None:
    assert canonical_dataflow_id(" {439B3FC4-3042-4A3A-B5E0-A494898D3FB0} ") == FLOW


# --- property: whatever is accepted parses back to the same parts ---------------------------

_hex = "0123456789abcdefABCDEF"
_inlets = st.one_of(
    st.text(alphabet=_hex, min_size=64, max_size=64),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~", min_size=1, max_size=40),
)
_flow_ids = (
    st.uuids()
    .map(str)
    .flatmap(
        lambda u: st.sampled_from([u, u.upper(), "{" + u + "}", u.replace("-", ""), f" '{u}' "])
    )
)
_hosts = st.sampled_from(
    [
        "https://dcs.adobedc.net",
        "https://DCS.adobedc.net:443",
        "https://dcs-int.adobedc.net",
        "http://127.0.0.1:8080",
        "https://localhost:9443",
        "http://[::1]:8080",
        "https://proxy.example.com:8443",
    ]
)
_tails = st.sampled_from(["", "/", "?", "/?x-adobe-flow-id="])


@settings(max_examples=300, deadline=None)
@given(host=_hosts, inlet=_inlets, flow=_flow_ids, tail=_tails, pad=st.sampled_from(["", " \n"]))
def test_round_trip(host: str, inlet: str, flow: str, tail: str, pad: str) -> None:
    endpoint = f"{pad}{host}/collection/{inlet}{tail}{pad}"
    try:
        built = build_webhook_url(endpoint, flow, allowed_hosts=["proxy.example.com"])
    except WebhookUrlError:
        return
    again = parse_webhook_url(str(built), allowed_hosts=["proxy.example.com"])
    assert again.inlet_id == built.inlet_id == inlet
    assert again.dataflow_id == built.dataflow_id
    assert again.url == built.url
    # Building again from the canonical parts is a fixed point.
    assert (
        build_webhook_url(built.endpoint, built.dataflow_id, allowed_hosts=["proxy.example.com"])
        == built
    )


@settings(max_examples=300, deadline=None)
@given(endpoint=st.text(max_size=120), flow=st.text(max_size=50))
def test_any_text_gives_a_result_or_a_clean_error(endpoint: str, flow: str) -> None:
    try:
        built = build_webhook_url(endpoint, flow)
    except WebhookUrlError as err:
        assert str(err) and "\n" not in str(err)
        return
    assert parse_webhook_url(built.url).dataflow_id == built.dataflow_id


@settings(max_examples=300, deadline=None)
@given(url=st.text(max_size=200) | st.builds(lambda tail: URL + tail, st.text(max_size=20)))
def test_parse_any_text_gives_a_result_or_a_clean_error(url: str) -> None:
    try:
        result = parse_webhook_url(url)
    except WebhookUrlError as err:
        assert str(err)
        return
    assert result.url.startswith(ENDPOINT)


@settings(max_examples=200, deadline=None)
@given(
    url=st.builds(
        lambda inlet, flow, junk: (
            f"https://dcs.adobedc.net/collection/{inlet}{junk}?x-adobe-flow-id={flow}"
        ),
        _inlets,
        st.uuids().map(str),
        st.text(max_size=4),
    )
)
def test_parse_mutated_url(url: str) -> None:
    try:
        result = parse_webhook_url(url)
    except WebhookUrlError:
        return
    assert parse_webhook_url(result.url) == result


# --- flow answers ----------------------------------------------------------------------------

FIXTURE_INLET = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
FIXTURE_FLOW = "7d2f0c4e-91b3-4c5a-8e6f-2a1b3c4d5e6f"


def test_flow_answer_file() -> None:
    answer = read_flow_answer(str(FLOWS / "streaming_flow.json"))
    assert answer.endpoint == f"https://dcs.adobedc.net/collection/{FIXTURE_INLET}"
    assert answer.dataflow_id == FIXTURE_FLOW
    assert answer.warnings == ()


def test_bare_flow_object() -> None:
    answer = read_flow_answer(str(FLOWS / "bare_flow_object.json"))
    url = build_webhook_url(answer.endpoint, answer.dataflow_id)
    assert url.inlet_id == FIXTURE_INLET and url.dataflow_id == FIXTURE_FLOW


def test_flow_answer_with_bom_and_several_items() -> None:
    flow = {"id": FIXTURE_FLOW, "options": {"inletUrl": "https://dcs.adobedc.net/collection/a"}}
    data = b"\xef\xbb\xbf" + json.dumps({"items": [flow, {"id": "second"}]}).encode()
    answer = parse_flow_answer(data, source="x.json")
    assert answer.dataflow_id == FIXTURE_FLOW
    assert len(answer.warnings) == 1 and "2 flows" in answer.warnings[0]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("batch_flow_no_inlet.json", ["items[0].options.inletUrl", "missing"]),
        ("no_items.json", ["no `items`"]),
        ("empty_items.json", ["`items`"]),
        ("missing_id.json", ["items[0].id", "dataflow ID"]),
        ("truncated.json", ["not JSON", "truncated.json:3:"]),
        ("does_not_exist.json", ["no such file"]),
        (".", ["directory"]),
    ],
)
def test_flow_answer_errors(name: str, words: list[str]) -> None:
    path = FLOWS / name
    with pytest.raises(InputError) as caught:
        read_flow_answer(str(path))
    message = str(caught.value)
    assert message.startswith(str(path))
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", ["empty"]),
        (b"\xff\xfe{}", ["not UTF-8"]),
        (b"[" * 100_000 + b"]" * 100_000, ["JSON"]),
        (b'{"items": [1]}', ["items[0] is not an object"]),
        (b'{"items": [{"id": 5, "options": {"inletUrl": "https://x"}}]}', ["items[0].id"]),
        (b'{"items": [{"id": "a", "options": []}]}', ["options is missing"]),
        (b'{"items": "flows"}', ["`items`"]),
        (b"[1, 2]", ["no `items`"]),
        (b'{"items": [{"id": "' + b"9" * 5000 + b'"}]}', ["options"]),
        (b"1" * 5000, ["JSON"]),
    ],
)
def test_flow_answer_bad_data(data: bytes, words: list[str]) -> None:
    with pytest.raises(InputError) as caught:
        parse_flow_answer(data, source="flow.json")
    for word in words:
        assert word in str(caught.value)


def test_flow_answer_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_FLOW_ANSWER_BYTES + 10))
    with pytest.raises(InputError, match="larger than"):
        read_flow_answer(str(big))


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(max_size=300)
    | st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(
                st.sampled_from(["items", "id", "options", "inletUrl", "x"]), children, max_size=3
            )
        ),
    ).map(lambda value: json.dumps(value).encode())
)
def test_flow_answer_never_crashes(data: bytes) -> None:
    try:
        answer = parse_flow_answer(data, source="fuzz.json")
    except InputError as err:
        assert str(err).startswith("fuzz.json")
        return
    assert isinstance(answer.endpoint, str) and isinstance(answer.dataflow_id, str)
