"""The public Python API's arguments: a caller's mistake is a project error that says what is wrong.

README ("Python API"): a wrong argument is a `UsageError`, unreadable input an `InputError`;
never an AttributeError/TypeError/ValueError from deep inside.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from pathlib import Path
from typing import Any

import pytest

from cio_aep.catalog import CATALOG
from cio_aep.errors import InputError, UsageError
from cio_aep.generator import EventGenerator
from cio_aep.mapping import parse_targets, validate_mapping, validate_mapping_files
from cio_aep.signing import SigningKey, sign_body, verify_signature

KEY = "whsec-test-key"
BODY = b'{"event_id":"01","metric":"sent"}'
TS = 1700000000


def _reference(key: bytes, timestamp: str, body: bytes) -> str:
    return hmac.new(key, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()


# ------------------------------------------------------------------------------ 1. signing


def test_verify_accepts_an_int_timestamp_as_sign_body_does() -> None:
    signature = sign_body(KEY, TS, BODY)
    assert signature == _reference(KEY.encode(), str(TS), BODY)
    assert verify_signature(KEY, TS, BODY, signature) is True
    assert verify_signature(KEY, str(TS), BODY, signature) is True
    assert verify_signature(KEY, TS + 1, BODY, signature) is False


def test_verify_accepts_a_bytes_signature_and_header_bytes() -> None:
    signature = sign_body(KEY, TS, BODY)
    assert verify_signature(KEY, str(TS), BODY, signature.encode("ascii")) is True
    assert verify_signature(KEY, str(TS).encode(), BODY, signature.upper().encode()) is True
    assert verify_signature(KEY, str(TS), BODY, b"00" * 32) is False


@pytest.mark.parametrize("signature", [None, 5, 1.5, ["ab"], {"sig": "x"}, ""])
def test_verify_a_missing_or_odd_signature_is_no_match(signature: Any) -> None:
    assert verify_signature(KEY, str(TS), BODY, signature) is False


@pytest.mark.parametrize("timestamp", [None, 1.5, True, ["1"]])
def test_verify_a_missing_or_odd_timestamp_is_no_match(timestamp: Any) -> None:
    assert verify_signature(KEY, timestamp, BODY, sign_body(KEY, TS, BODY)) is False


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [
        ("17000\u00e90000", "00" * 32),
        ("1700000000", "\u00e9" * 64),
        (b"\xe9", b"00"),
        ("1", b"\xff"),
    ],
)
def test_verify_non_ascii_header_values_are_no_match_not_a_crash(
    timestamp: Any, signature: Any
) -> None:
    assert verify_signature(KEY, timestamp, BODY, signature) is False


def test_a_str_body_is_signed_as_its_utf8_bytes() -> None:
    text = '{"name":"Zoë"}'
    signature = sign_body(KEY, TS, text)
    assert signature == sign_body(KEY, TS, text.encode("utf-8"))
    assert verify_signature(KEY, TS, text, signature) is True
    assert verify_signature(KEY, TS, text.encode("utf-8"), signature) is True
    assert verify_signature(KEY, TS, text.encode("latin-1"), signature) is False


def test_a_body_of_another_type_is_a_usage_error() -> None:
    for call in (
        lambda: sign_body(KEY, TS, None),  # type: ignore[arg-type]
        lambda: sign_body(KEY, TS, {"a": 1}),  # type: ignore[arg-type]
        lambda: verify_signature(KEY, TS, 5, "00"),  # type: ignore[arg-type]
    ):
        with pytest.raises(UsageError, match="the body must be bytes"):
            call()
    with pytest.raises(UsageError, match="lone surrogate"):
        sign_body(KEY, TS, "\udcff")


@pytest.mark.parametrize("key", ["", b"", bytearray()])
def test_an_empty_key_is_a_usage_error(key: Any) -> None:
    with pytest.raises(UsageError, match="the signing key is empty"):
        sign_body(key, TS, BODY)
    with pytest.raises(UsageError, match="the signing key is empty"):
        verify_signature(key, TS, BODY, "00")
    with pytest.raises(UsageError, match="the signing key is empty"):
        SigningKey(key)


@pytest.mark.parametrize("key", [None, 5, ["k"]])
def test_a_key_of_another_type_is_a_usage_error(key: Any) -> None:
    with pytest.raises(UsageError, match="the signing key must be text"):
        sign_body(key, TS, BODY)
    with pytest.raises(UsageError, match="the signing key must be text"):
        verify_signature(key, TS, BODY, "00")
    with pytest.raises(UsageError, match="the signing key must be text"):
        SigningKey(key)


def test_key_errors_never_show_the_key() -> None:
    with pytest.raises(UsageError) as err:
        sign_body("\udc80secret", TS, BODY)
    assert "secret" not in str(err.value)


def test_keys_of_every_accepted_form_sign_alike() -> None:
    expected = _reference(KEY.encode(), str(TS), BODY)
    for key in (KEY, KEY.encode(), bytearray(KEY.encode()), SigningKey(KEY)):
        assert sign_body(key, TS, BODY) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("timestamp", [None, 1.5, True, ["1"]])
def test_sign_body_refuses_a_timestamp_that_is_no_time(timestamp: Any) -> None:
    with pytest.raises(UsageError, match="the timestamp must be Unix seconds"):
        sign_body(KEY, timestamp, BODY)


def test_sign_body_refuses_a_non_ascii_timestamp() -> None:
    with pytest.raises(UsageError, match="not ASCII"):
        sign_body(KEY, "١٧٠٠", BODY)


def test_sign_body_still_signs_any_ascii_timestamp_text() -> None:
    # the local endpoint's tests sign odd timestamps to show they are refused there
    for text in ("abc", "1.5", "-1700000000"):
        assert sign_body(KEY, text, BODY) == _reference(KEY.encode(), text, BODY)
    assert sign_body(KEY, b"1700000000", BODY) == sign_body(KEY, TS, BODY)


# ---------------------------------------------------------------------------- 2. generator


def test_an_unknown_variant_is_a_usage_error_naming_the_valid_ones() -> None:
    with pytest.raises(UsageError) as err:
        EventGenerator(seed=1).generate("email", "sent", "zzz")
    message = str(err.value)
    assert "no variant 'zzz'" in message
    for name in ("campaign", "broadcast", "newsletter", "transactional"):
        assert name in message


def test_a_variant_on_an_event_without_variants_is_a_usage_error() -> None:
    event = next(e for e in CATALOG.events() if not e.variants and not e.optional_variants)
    with pytest.raises(UsageError, match="has no variants"):
        EventGenerator(seed=1).generate_event(event, "campaign")


def test_an_unknown_metric_is_still_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown event 'email:zzz'"):
        EventGenerator().generate("email", "zzz")


@pytest.mark.parametrize(
    ("timestamp", "shown"), [("170", "str '170'"), (1.5, "float 1.5"), (True, "bool True")]
)
def test_timestamp_must_be_an_int(timestamp: Any, shown: str) -> None:
    with pytest.raises(UsageError, match="timestamp must be whole Unix seconds as an int") as err:
        EventGenerator(timestamp=timestamp)
    assert shown in str(err.value)


def test_int_timestamps_still_work_and_ranges_are_still_checked() -> None:
    assert EventGenerator(seed=1, timestamp=TS).generate("email", "sent")["timestamp"] == TS
    with pytest.raises(UsageError, match="out of range"):
        EventGenerator(timestamp=-1)


def test_a_seed_of_an_unusable_type_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="seed must be an int"):
        EventGenerator(seed=[1])  # type: ignore[arg-type]


def test_generate_event_accepts_an_object_type_metric_string() -> None:
    by_key = EventGenerator(seed=3, timestamp=TS).generate_event("email:sent", "broadcast")
    by_type = EventGenerator(seed=3, timestamp=TS).generate_event(
        CATALOG.parse_key("email:sent"), "broadcast"
    )
    by_pair = EventGenerator(seed=3, timestamp=TS).generate("email", "sent", "broadcast")
    assert by_key == by_type == by_pair
    assert (by_key["object_type"], by_key["metric"]) == ("email", "sent")


def test_generate_event_with_an_unknown_key_or_another_type_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown event 'email:zzz'"):
        EventGenerator().generate_event("email:zzz")
    with pytest.raises(UsageError, match="use OBJECT_TYPE:METRIC"):
        EventGenerator().generate_event("email")
    for wrong in (None, 5, {"object_type": "email"}):
        with pytest.raises(UsageError, match="event must be an EventType or an"):
            EventGenerator().generate_event(wrong)  # type: ignore[arg-type]


def test_generate_with_non_str_names_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="object_type and metric must be str"):
        EventGenerator().generate(["email"], "sent")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ 3. mapping

GOOD = [
    {"sourceType": "ATTRIBUTE", "source": s, "destination": f"_x.{s.rpartition('.')[2]}"}
    for s in (
        "object_type",
        "data.identifiers.id",
        "data.identifiers.email",
        "event_id",
        "data.identifiers.cio_id",
        "metric",
    )
] + [
    {
        "sourceType": "EXPRESSION",
        "source": "dformat(timestamp * 1000, \"yyyy-MM-dd'T'HH:mm:ss.SSSX\")",
        "destination": "_x.timestamp",
    }
]


@pytest.mark.parametrize("wrong", [None, 5, 1.5, {1, 2}])
def test_validate_mapping_refuses_what_is_neither_path_nor_data(wrong: Any) -> None:
    with pytest.raises(UsageError, match="expected a mapping file's path or parsed mapping data"):
        validate_mapping(wrong)


@pytest.mark.parametrize("stream", [io.StringIO("{}"), io.BytesIO(b"{}")])
def test_validate_mapping_refuses_streams(stream: Any) -> None:
    with pytest.raises(UsageError) as err:
        validate_mapping(stream)
    message = str(err.value)
    assert "streams and text are not read" in message
    assert "path" in message and "json.load" in message


def test_validate_mapping_refuses_bytes() -> None:
    with pytest.raises(UsageError, match="bytes and text are not read"):
        validate_mapping(b'{"mappings": []}')  # type: ignore[arg-type]


def test_an_empty_path_is_not_a_file() -> None:
    with pytest.raises(UsageError, match=r"an empty path \(''\) is not a mapping file"):
        validate_mapping("")
    with pytest.raises(UsageError, match="an empty path"):
        validate_mapping_files([""])
    with pytest.raises(UsageError, match=r"an empty path \(''\) is not an XDM schema file"):
        validate_mapping(GOOD, xdm_schema="")


def test_validate_mapping_files_wants_a_list_of_paths(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="expected a list of paths, not str"):
        validate_mapping_files("mapping.json")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="no mapping files given"):
        validate_mapping_files([])
    with pytest.raises(UsageError, match="expected the path of a mapping file"):
        validate_mapping_files([None])  # type: ignore[list-item]


def test_mappings_null_reads_as_in_the_cli() -> None:
    with pytest.raises(InputError) as err:
        validate_mapping({"mappings": None})
    assert '"mappings" is null' in str(err.value)
    assert 'no "mappings" key' not in str(err.value)
    with pytest.raises(InputError, match='no "mappings" key'):
        validate_mapping({"nothing": []})


def test_mappings_null_in_a_file_says_the_same(tmp_path: Path) -> None:
    path = tmp_path / "null.json"
    path.write_text('{"mappings": null}', encoding="utf-8")
    with pytest.raises(InputError, match='"mappings" is null'):
        validate_mapping(path)


def test_targets_as_a_list_of_field_destination_strings_like_the_cli() -> None:
    renamed = [dict(e, destination="_x.eid") if e["source"] == "event_id" else e for e in GOOD]
    as_list = validate_mapping(renamed, targets=["event_id=_x.eid"])
    as_dict = validate_mapping(renamed, targets={"event_id": "_x.eid"})
    assert as_list.ok and as_dict.ok
    assert as_list.extra["targets"] == as_dict.extra["targets"] == {"event_id": "_x.eid"}
    assert validate_mapping(renamed, targets=(" event_id = _x.eid ",)).ok
    # a declared destination that no mapping writes is a finding, whichever form declares it
    for targets in (["event_id=_x.nowhere"], {"event_id": "_x.nowhere"}):
        report = validate_mapping(renamed, targets=targets)
        assert not report.ok
        message = report.findings[0].message
        assert "no mapping writes" in message and "_x.nowhere" in message


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (["event_id"], "targets 'event_id': expected FIELD=DESTINATION"),
        (["event_id="], "expected FIELD=DESTINATION"),
        (["nope=_x.y"], "'nope' is not a mandatory field"),
        ([5], "expected FIELD=DESTINATION strings, not int"),
        ("event_id=_x.eid", "or a list of FIELD=DESTINATION strings, not str"),
        ({"event_id": None}, "targets['event_id']: expected a destination path (str), not None"),
        ({"event_id": 5}, "expected a destination path (str), not int"),
        ({"event_id": "  "}, "the destination is empty"),
        ({"nope": "_x"}, "'nope' is not a mandatory field"),
        ({5: "_x"}, "field names must be str"),
        (5, "expected a dict {FIELD: DESTINATION} or a list"),
    ],
)
def test_bad_targets_are_usage_errors(targets: Any, message: str) -> None:
    with pytest.raises(UsageError) as err:
        validate_mapping(GOOD, targets=targets)
    assert message in str(err.value)


def test_bad_targets_fail_before_any_input_is_read(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a mandatory field"):
        validate_mapping(tmp_path / "missing.json", targets={"nope": "_x"})


def test_the_cli_wording_of_parse_targets_is_kept() -> None:
    with pytest.raises(UsageError, match="--target 'x': expected FIELD=DESTINATION"):
        parse_targets(["x"])
    assert parse_targets(["event_id=_x.eid"]) == {"event_id": "_x.eid"}
    with pytest.raises(UsageError, match="--target: expected a list of FIELD=DESTINATION"):
        parse_targets("event_id=_x.eid")


def test_xdm_schema_as_parsed_data(tmp_path: Path) -> None:
    schema = {
        "properties": {
            "_x": {
                "type": "object",
                "properties": {
                    name: {"type": "string"}
                    for name in ("object_type", "id", "email", "event_id", "cio_id", "metric")
                }
                | {"timestamp": {"type": "string", "format": "date-time"}},
            }
        }
    }
    from_data = validate_mapping(GOOD, xdm_schema=schema)
    assert from_data.ok and from_data.extra["xdm_schema"] == "<data>"
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema), encoding="utf-8")
    from_file = validate_mapping(GOOD, xdm_schema=path)
    assert from_file.ok
    wrong = [dict(e, destination="_x.nowhere") if e["source"] == "metric" else e for e in GOOD]
    assert not validate_mapping(wrong, xdm_schema=schema).ok


def test_an_empty_xdm_schema_dict_is_an_input_error() -> None:
    with pytest.raises(InputError, match="the XDM schema has no properties"):
        validate_mapping(GOOD, xdm_schema={})


@pytest.mark.parametrize("wrong", [5, ["a"], b"schema.json"])
def test_xdm_schema_of_another_type_is_a_usage_error(wrong: Any) -> None:
    with pytest.raises(UsageError, match="xdm_schema: expected a schema file's path"):
        validate_mapping(GOOD, xdm_schema=wrong)


def test_accepted_inputs_still_work(tmp_path: Path) -> None:
    assert validate_mapping(GOOD).ok
    assert validate_mapping(tuple(GOOD)).ok
    assert validate_mapping({"mappings": GOOD}).ok
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"mappings": GOOD}), encoding="utf-8")
    assert validate_mapping(path).ok and validate_mapping(str(path)).ok
    assert validate_mapping_files([path, str(path)]).ok
