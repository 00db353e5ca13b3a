"""AEP's answers explained: bodies written here in the shapes DOMAIN.md §3 documents."""

from __future__ import annotations

import json
import socket
import ssl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_aep.delivery.answer import (
    CIO_BACKOFF,
    CIO_DELIVERED,
    CIO_HOUR,
    ErrorKind,
    error_kind_of,
    explain_answer,
)

INLET = "5d1ef4b2a0c3" + "7" * 52
PROBLEM_TYPE = "http://ns.adobe.com/adobecloud/problem/data-collection-service/inlet"


def body(obj: object) -> bytes:
    return json.dumps(obj).encode()


def problem(status: object, title: str, message: str, cause: object = None) -> bytes:
    report: dict[str, object] = {"message": message}
    if cause is not None:
        report["cause"] = cause
    return body({"type": PROBLEM_TYPE, "status": status, "title": title, "report": report})


# ------------------------------------------------------------------------------ 2xx


def test_200_accepted_with_xaction_id() -> None:
    answer = body({"inletId": INLET, "xactionId": "1700000000123:42:7", "receivedTimeMs": 17})
    outcome = explain_answer(200, {}, answer)
    assert outcome.accepted
    assert outcome.status == 200
    assert outcome.xaction_id == "1700000000123:42:7"
    assert outcome.inlet_id == INLET
    assert outcome.received_time_ms == 17
    assert not outcome.retryable
    assert outcome.customer_io == CIO_DELIVERED
    assert "asynchronous" in outcome.explanation
    assert outcome.details == ()


def test_200_lenient_spellings() -> None:
    answer = body({"inletID": INLET, "xactionID": "1:2:3", "receivedTimeMs": "1700000000123"})
    outcome = explain_answer(200, {}, answer)
    assert (outcome.inlet_id, outcome.xaction_id) == (INLET, "1:2:3")
    assert outcome.received_time_ms == 1700000000123


@pytest.mark.parametrize(
    ("sync", "expected"), [({"status": "pass"}, "pass"), ({"skipped": True}, "skipped")]
)
def test_200_sync_validation(sync: dict[str, object], expected: str) -> None:
    answer = body({"inletId": INLET, "xactionId": "1:2:3", "syncValidation": sync})
    outcome = explain_answer(200, {}, answer)
    assert outcome.sync_validation == expected
    assert ("passed synchronous validation" in outcome.explanation) == (expected == "pass")


@pytest.mark.parametrize("raw", [b"", b"OK", b"<html>fine</html>", b"[]", b"null"])
def test_200_without_aep_body_is_accepted_but_flagged(raw: bytes) -> None:
    outcome = explain_answer(200, {}, raw)
    assert outcome.accepted
    assert outcome.xaction_id is None
    assert "does not look like AEP" in outcome.details[0]


def test_207_all_accepted() -> None:
    answer = body(
        {
            "inletId": INLET,
            "batchId": "1700:1:1",
            "receivedTimeMs": 1700,
            "responses": [{"xactionId": "1700:1:1:0"}, {"xactionId": "1700:1:1:1"}],
        }
    )
    outcome = explain_answer(207, {}, answer)
    assert outcome.accepted
    assert outcome.title == "Accepted (2 messages)"
    assert [m.xaction_id for m in outcome.messages] == ["1700:1:1:0", "1700:1:1:1"]


def test_207_partial_failure_lists_each_rejected_message() -> None:
    answer = body(
        {
            "inletId": INLET,
            "batchId": "1700:1:1",
            "responses": [
                {"xactionId": "1700:1:1:0"},
                {"statusCode": 400, "message": "Message has unknown xdm format"},
                {"statusCode": "400", "message": "bad org"},
            ],
        }
    )
    outcome = explain_answer(207, {}, answer)
    assert not outcome.accepted
    assert outcome.title == "2 of 3 messages rejected"
    assert outcome.details == (
        "message 1: 400 Message has unknown xdm format",
        "message 2: 400 bad org",
    )
    assert [m.accepted for m in outcome.messages] == [True, False, False]
    assert "lost" in outcome.explanation  # a 207 is a success for Customer.io


# ------------------------------------------------------------------------------ 4xx


def test_400_unknown_xdm_format_points_at_the_flow_id() -> None:
    raw = problem(
        400,
        "Invalid XDM Message Format",
        f"inletId: [{INLET}] imsOrgId: [ABC@AdobeOrg] Message has unknown xdm format",
    )
    outcome = explain_answer(400, {}, raw)
    assert not outcome.accepted
    assert not outcome.retryable
    assert outcome.title == "Invalid XDM Message Format"
    assert "x-adobe-flow-id" in outcome.explanation
    assert outcome.details[0].endswith("Message has unknown xdm format")
    assert outcome.customer_io == CIO_HOUR


def test_400_wrong_ims_org() -> None:
    raw = problem(400, "Invalid XDM Message Format", "Message has an absent or wrong ims org")
    assert "dataflow ID" in explain_answer(400, {}, raw).explanation


def test_400_validation_causes_are_flattened_with_their_pointer() -> None:
    cause = {
        "_streamingValidation": [
            {
                "schemaLocation": "#",
                "pointerToViolation": "#",
                "message": "2 schema violations found",
                "causingExceptions": [
                    {
                        "pointerToViolation": "#",
                        "keyword": "additionalProperties",
                        "message": "extraneous key [nickname] is not permitted",
                        "causingExceptions": [],
                    },
                    {
                        "pointerToViolation": "#/_id",
                        "keyword": "type",
                        "message": "expected type: String, found: Long",
                        "causingExceptions": [],
                    },
                ],
            }
        ]
    }
    raw = problem(400, "Invalid XDM Message Format", "Message is invalid", cause)
    outcome = explain_answer(400, {}, raw)
    assert outcome.details == (
        "Message is invalid",
        "extraneous key [nickname] is not permitted",
        "#/_id: expected type: String, found: Long",
    )
    assert "validation" in outcome.explanation


def test_401_with_string_status_is_an_authenticated_inlet() -> None:
    raw = body(
        {
            "type": "https://ns.adobe.com/adobecloud/problem/data-collection-service-authorization",
            "status": "401",
            "title": "Authorization",
            "report": {"message": "[id] Ims service token is empty"},
        }
    )
    outcome = explain_answer(401, {}, raw)
    assert outcome.title == "Authenticated inlet"
    assert "without authentication" in outcome.explanation
    assert "cannot send" in outcome.explanation
    assert outcome.details == ("[id] Ims service token is empty",)
    assert not outcome.retryable


def test_401_about_the_signature() -> None:
    outcome = explain_answer(401, {}, body({"title": "Invalid X-CIO-Signature"}))
    assert outcome.title == "Signature rejected"


def test_empty_403_is_ip_allow_listing() -> None:
    outcome = explain_answer(403, {}, b"")
    assert "allow-list" in outcome.explanation
    assert outcome.customer_io == CIO_HOUR
    assert explain_answer(403, {}, b"denied").title == "Forbidden"


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (404, "inlet ID"),
        (405, "POST"),
        (410, "no longer exists"),
        (413, "1 MB"),
        (501, "--sync-validation"),
        (302, "redirect"),
    ],
)
def test_status_explanations(status: int, words: str) -> None:
    outcome = explain_answer(status, {}, b"")
    assert not outcome.accepted
    assert words in outcome.explanation


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_say_customer_ios_handling_is_unknown(status: int) -> None:
    # DOMAIN.md documents no redirect handling: the answer must not assert one.
    said = explain_answer(status, {}, b"").customer_io
    assert said.startswith("Whether Customer.io follows redirects is not documented.")
    assert "give Customer.io the final URL" in said


def test_413_and_404_are_not_retried() -> None:
    assert not explain_answer(413, {}, b"").retryable
    assert not explain_answer(404, {}, b"").retryable


def test_429_is_retried_after_retry_after() -> None:
    outcome = explain_answer(429, {"retry-after": "7"}, b"")
    assert outcome.retryable
    assert outcome.retry_after == 7.0
    assert outcome.customer_io == CIO_HOUR


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599])
def test_5xx_is_retryable(status: int) -> None:
    outcome = explain_answer(status, {"Retry-After": "1"}, b"")
    assert outcome.retryable
    assert outcome.retry_after == 1.0


def test_customer_io_pauses_an_hour_on_500_but_backs_off_on_503() -> None:
    assert explain_answer(500, {}, b"").customer_io == CIO_HOUR
    assert explain_answer(503, {}, b"").customer_io == CIO_BACKOFF


def test_non_json_error_body_is_shown_as_a_snippet() -> None:
    outcome = explain_answer(502, {}, b"<html>\n<body>Bad   Gateway</body></html>")
    assert outcome.details == ("body (not JSON): <html> <body>Bad Gateway</body></html>",)


def test_retry_after_is_ignored_for_answers_that_are_not_retried() -> None:
    assert explain_answer(400, {"Retry-After": "5"}, b"").retry_after is None


# ------------------------------------------------------------------ transport errors


def test_timeout_blocks_customer_io_queue() -> None:
    outcome = explain_answer(None, {}, b"", error="timeout", timeout=4.0)
    assert not outcome.accepted
    assert outcome.retryable
    assert outcome.reached
    assert "4 s" in outcome.explanation
    assert "twice" in outcome.explanation
    assert outcome.customer_io == CIO_BACKOFF


def test_late_answer_counts_as_a_timeout() -> None:
    outcome = explain_answer(
        200, {}, b'{"xactionId":"1:2:3"}', error="timeout", error_detail="answered 200 after 5 s"
    )
    assert not outcome.accepted
    assert outcome.status == 200
    assert outcome.details == ("answered 200 after 5 s",)


@pytest.mark.parametrize(
    ("kind", "reached", "retryable", "cio"),
    [
        (ErrorKind.REFUSED, False, True, CIO_HOUR),
        (ErrorKind.RESET, True, True, CIO_HOUR),
        (ErrorKind.DNS, False, True, CIO_BACKOFF),
        (ErrorKind.TLS, False, False, CIO_HOUR),
        (ErrorKind.CONNECT_TIMEOUT, False, True, CIO_BACKOFF),
        (ErrorKind.CONNECT, False, True, CIO_BACKOFF),
    ],
)
def test_connection_failures(kind: ErrorKind, reached: bool, retryable: bool, cio: str) -> None:
    outcome = explain_answer(None, {}, b"", error=kind.value)
    assert outcome.error == kind.value
    assert outcome.status is None
    assert (outcome.reached, outcome.retryable, outcome.customer_io) == (reached, retryable, cio)
    assert outcome.title and outcome.explanation


def test_unknown_error_kind_is_kept() -> None:
    outcome = explain_answer(None, {}, b"", error="weird")
    assert outcome.error == "weird"
    assert not outcome.accepted


def test_to_dict_is_json_ready() -> None:
    outcome = explain_answer(207, {}, body({"responses": [{"xactionId": "a"}]}))
    assert json.loads(json.dumps(outcome.to_dict()))["messages"][0]["xaction_id"] == "a"


@given(
    status=st.integers(min_value=100, max_value=599),
    raw=st.binary(max_size=300)
    | st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=12), c, max_size=4),
        max_leaves=12,
    ).map(lambda v: json.dumps(v).encode()),
    retry_after=st.text(max_size=30),
)
def test_any_answer_is_explained_without_raising(status: int, raw: bytes, retry_after: str) -> None:
    outcome = explain_answer(status, {"Retry-After": retry_after}, raw)
    assert outcome.title
    assert outcome.explanation
    if not 200 <= status <= 299:
        assert not outcome.accepted
    elif status != 207:
        assert outcome.accepted


# --------------------------------------------------------------- exception classification


def _wrapped(inner: BaseException) -> Exception:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise RuntimeError("client error") from exc
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    ("inner", "kind"),
    [
        (ConnectionRefusedError(111, "Connection refused"), ErrorKind.REFUSED),
        (ConnectionResetError(104, "reset"), ErrorKind.RESET),
        (socket.gaierror(-2, "Name or service not known"), ErrorKind.DNS),
        (ssl.SSLCertVerificationError("certificate verify failed"), ErrorKind.TLS),
        (TimeoutError(), ErrorKind.TIMEOUT),
    ],
)
def test_error_kind_of_walks_the_cause_chain(inner: BaseException, kind: ErrorKind) -> None:
    assert error_kind_of(_wrapped(inner)) is kind


def test_error_kind_of_reads_aiohttp_style_os_error() -> None:
    exc = RuntimeError("Cannot connect to host")
    exc.os_error = ConnectionRefusedError(111, "refused")  # type: ignore[attr-defined]
    assert error_kind_of(exc, connecting=True) is ErrorKind.REFUSED


def test_error_kind_of_defaults() -> None:
    assert error_kind_of(RuntimeError("x"), connecting=True) is ErrorKind.CONNECT
    assert error_kind_of(RuntimeError("x")) is ErrorKind.RESET
    assert error_kind_of(_wrapped(TimeoutError()), connecting=True) is ErrorKind.CONNECT_TIMEOUT


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b'{"message": ' + b"9" * 5000 + b"}"],
    ids=["nested-too-deep", "number-5000-digits"],
)
def test_undecodable_json_answer_is_shown_as_text(body: bytes) -> None:
    outcome = explain_answer(400, {}, body)
    assert not outcome.accepted
    assert outcome.details and outcome.details[0].startswith("body (not JSON): ")
