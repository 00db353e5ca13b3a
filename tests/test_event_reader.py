"""The event reader: every input shape, line numbers, streaming, and clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cio_aep.errors import InputError
from cio_aep.event_reader import read_events


def write(tmp_path: Path, data: bytes, name: str = "in.json") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_ndjson_with_blank_and_broken_lines(tmp_path: Path) -> None:
    src = write(tmp_path, b'{"a":1}\n\n{"b":2}\nnope\n{"c":\xff}\r\n{"d":4}')
    got = [(e.line, e.index, e.value, e.error is None) for e in read_events(src)]
    assert got == [(1, 0, {"a": 1}, True), (3, 1, {"b": 2}, True), (4, 2, None, False),
                   (5, 3, None, False), (6, 4, {"d": 4}, True)]  # fmt: skip


def test_pretty_array_lines(tmp_path: Path) -> None:
    src = write(tmp_path, b'[\n  {"a": 1},\n  {"b":\n    2},\n\n  {"c": 3}\n]\n')
    got = [(e.line, e.value) for e in read_events(src)]
    assert got == [(2, {"a": 1}), (3, {"b": 2}), (6, {"c": 3})]


def test_pretty_single_object_and_bom(tmp_path: Path) -> None:
    src = write(tmp_path, b'\xef\xbb\xbf{\n  "event_id": "x",\n  "n": 1\n}\n')
    (event,) = list(read_events(src))
    assert event.value == {"event_id": "x", "n": 1} and event.line == 1


def test_empty_array_is_no_events(tmp_path: Path) -> None:
    assert list(read_events(write(tmp_path, b"  [ ]  "))) == []


def test_large_array_is_streamed_across_chunks(tmp_path: Path) -> None:
    events = [{"i": i, "pad": "x" * 300} for i in range(2000)]
    src = write(tmp_path, json.dumps(events).encode())
    assert [e.value["i"] for e in read_events(src)] == list(range(2000))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x00\x01\x02binary", "binary"),
        (b'[{"a":1}', "not closed"),
        (b'[{"a":1} {"b":2}]', "expected `,`"),
        (b'[{"a":1}] trailing', "after the end"),
        (b'[{"a": tru}]', "invalid JSON"),
        (b'["\xff"]', "UTF-8"),
    ],
)
def test_unreadable_inputs(tmp_path: Path, data: bytes, expected: str) -> None:
    with pytest.raises(InputError) as err:
        list(read_events(write(tmp_path, data)))
    assert expected in str(err.value) and "in.json" in str(err.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        list(read_events(str(tmp_path / "nope.json")))
    with pytest.raises(InputError, match="directory"):
        list(read_events(str(tmp_path)))


def test_line_too_long(tmp_path: Path) -> None:
    src = write(tmp_path, b'{"a":"' + b"x" * 5000 + b'"}')
    with pytest.raises(InputError, match="longer than"):
        list(read_events(src, max_record_bytes=1024))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_give_records_or_input_error(tmp_path_factory: pytest.TempPathFactory,
                                               data: bytes) -> None:  # fmt: skip
    src = write(tmp_path_factory.mktemp("h"), data)
    try:
        for record in read_events(src):
            assert (record.value is None) == (record.error is not None) or record.value is None
    except InputError as err:
        assert "in.json" in str(err)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8),
                                max_size=4), max_size=8),
       st.sampled_from(["ndjson", "array", "pretty"]))  # fmt: skip
def test_round_trip_every_shape(tmp_path_factory: pytest.TempPathFactory,
                                events: list[dict[str, object]], shape: str) -> None:  # fmt: skip
    if shape == "ndjson":
        data = "\n".join(json.dumps(e) for e in events)
    elif shape == "array":
        data = json.dumps(events, indent=2)
    else:
        data = "\n".join(json.dumps(e, indent=2) for e in events)
    if not events and shape != "array":
        return
    if shape == "pretty" and not events[0]:
        return  # `{}` prints on one line: the file reads as NDJSON, then a multi-line object
    src = write(tmp_path_factory.mktemp("r"), data.encode())
    assert [r.value for r in read_events(src)] == events


LONE = '{"event_id": "e1", "data": {"customer_id": "\\ud800"}}'
PAIR = '{"event_id": "e2", "data": {"customer_id": "\\ud83d\\ude00"}}'  # an emoji: valid
ESCAPED = '{"event_id": "e3", "data": {"customer_id": "\\\\ud800"}}'  # a backslash, then text


@pytest.mark.parametrize("shape", ["ndjson", "array", "pretty"])
def test_lone_surrogate_is_an_invalid_record_not_a_crash_later(tmp_path: Path, shape: str) -> None:
    # Python decodes "\ud800" into a str that UTF-8 cannot encode: sending it crashed replay.
    records = [LONE, PAIR, ESCAPED]
    text = {
        "ndjson": "\n".join(records) + "\n",
        "array": "[\n" + ",\n".join(records) + "\n]",
        "pretty": "\n".join(json.dumps(json.loads(r), indent=2) for r in records),
    }[shape]
    path = tmp_path / "events.json"
    path.write_text(text)
    first, second, third = read_events(path)
    assert first.value is None
    assert first.error == (
        "invalid JSON: a lone surrogate \\ud800 in a string, which UTF-8 cannot carry"
    )
    assert second.ok and second.value["data"]["customer_id"] == "\U0001f600"
    assert third.ok and third.value["data"]["customer_id"] == "\\ud800"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(tmp_path: Path, constant: str) -> None:
    path = tmp_path / "events.ndjson"
    path.write_text(f'{{"timestamp": {constant}}}\n{{"timestamp": 1}}\n')
    bad, good = read_events(path)
    assert bad.error is not None and "is not a JSON value" in bad.error
    assert good.ok
    array = tmp_path / "events.json"
    array.write_text(f'[{{"timestamp": {constant}}}]')
    with pytest.raises(InputError, match="is not a JSON value"):
        list(read_events(array))  # an array cannot be read past a bad element


def test_closed_stdin_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", None)
    with pytest.raises(InputError, match="standard input is closed"):
        list(read_events("-"))


def test_invalid_ndjson_line_has_the_column_as_written(tmp_path: Path) -> None:
    # Leading white space counts: editors and CI annotations count from the line's start.
    src = write(tmp_path, b'   {"a": x}\n{"a": 1}\n  \t  {"a": x}\n')
    bad = [(e.line, e.column, e.error) for e in read_events(src) if not e.ok]
    assert bad == [
        (1, 10, "invalid JSON: Expecting value"),
        (3, 12, "invalid JSON: Expecting value"),
    ]
