"""Parsers of validate-mapping: positions, format detection, unreadable input (exit 2, one
line, no traceback), and hypothesis: any text gives a result or an InputError, nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cio_aep.cli.main import app
from cio_aep.errors import InputError
from cio_aep.mapping.detect import detect_format
from cio_aep.mapping.entries import to_mapping_set
from cio_aep.mapping.loader import decode, parse_text
from cio_aep.mapping.model import DESTINATION_KEYS, SOURCE_KEYS, TYPE_KEYS
from cio_aep.mapping.parse_csv import parse_csv
from cio_aep.mapping.parse_json import parse_json
from cio_aep.mapping.parse_yaml import parse_yaml
from cio_aep.mapping.positions import LineIndex

ENTRY = {"sourceType": "ATTRIBUTE", "source": "metric", "destination": "_x.metric"}


def test_json_positions_of_entries_and_fields() -> None:
    text = (
        '{"outputSchema": {"x": [1, {"source": "no"}]},\n'
        ' "mappings": [\n'
        '   {"sourceType": "ATTRIBUTE",\n'
        '    "source": "a\\"b",   "destination": "_x.y"},\n'
        '\t{"destination": "_x.z", "source": "s", "source": "last"}\n'
        " ]}"
    )
    parsed = parse_json(text, "f.json")
    assert parsed.items[1] == {"destination": "_x.z", "source": "last"}
    loc = parsed.locator
    assert loc.entry(0) == (3, 4)
    assert loc.field(0, SOURCE_KEYS) == (4, 15)
    assert loc.field(0, DESTINATION_KEYS) == (4, 40)
    assert loc.field(0, TYPE_KEYS) == (3, 19)
    assert loc.entry(1) == (5, 2)
    assert loc.field(1, SOURCE_KEYS) == (5, 51)  # json keeps the last duplicate key
    assert loc.entry(7) == (None, None)


def test_json_config_positions_and_bare_list() -> None:
    parsed = parse_json(
        '{\n "mappings": {\n  "metric": "_x.m",\n  "a": {"destination": "_x.a"}}}', "c"
    )
    assert parsed.items == [
        {"source": "metric", "destination": "_x.m"},
        {"source": "a", "destination": "_x.a"},
    ]
    assert parsed.locator.field(0, SOURCE_KEYS) == (3, 3)
    assert parsed.locator.field(0, DESTINATION_KEYS) == (3, 13)
    assert parsed.locator.field(1, DESTINATION_KEYS) == (4, 24)
    bare = parse_json("\n\n  [" + json.dumps(ENTRY) + "]", "b")
    assert bare.path_style == "bare" and bare.locator.entry(0) == (3, 4)


def test_yaml_positions() -> None:
    text = (
        "# c\nmappings:\n  - source: metric\n    destination: _x.m\n"
        "  -   {source: a, destination: b}\n"
    )
    parsed = parse_yaml(text, "m.yaml")
    assert parsed.locator.entry(0) == (3, 5)
    assert parsed.locator.field(0, DESTINATION_KEYS) == (4, 18)
    assert parsed.locator.field(1, SOURCE_KEYS) == (5, 16)
    config = parse_yaml("mappings:\n  metric: _x.m\n  a:\n    destination: _x.a\n", "c.yaml")
    assert config.locator.field(0, SOURCE_KEYS) == (2, 3)
    assert config.locator.field(0, DESTINATION_KEYS) == (2, 11)
    assert config.locator.field(1, DESTINATION_KEYS) == (4, 18)


def test_csv_columns_quotes_and_multiline_cells() -> None:
    text = 'Notes;"Source";TARGET;type\r\n"two\nlines";metric;_x.m;\r\n;"a;b";"_x.""q""";STATIC\r\n'
    parsed = parse_csv(text, "m.csv")
    assert parsed.items == [
        {"source": "metric", "destination": "_x.m"},
        {"source": "a;b", "destination": '_x."q"', "sourceType": "STATIC"},
    ]
    assert parsed.locator.entry(0) == (2, 1)
    assert parsed.locator.entry(1) == (4, 1)
    assert parsed.locator.field(1, SOURCE_KEYS) == (4, 2)
    assert parsed.locator.field(1, DESTINATION_KEYS) == (4, 8)
    assert parsed.locator.field(1, TYPE_KEYS) == (4, 19)
    # Cells after a quoted cell that spans lines are on the record's last line.
    assert parsed.locator.field(0, SOURCE_KEYS) == (3, 8)
    assert parsed.locator.field(0, DESTINATION_KEYS) == (3, 15)


@pytest.mark.parametrize(
    ("text", "name", "fmt"),
    [
        ('{"mappings": []}', "x.yaml", "json"),
        ("  [ ]", "-", "json"),
        ("source,destination\na,b\n", "m.txt", "csv"),
        ("sourceAttribute\tdestinationXdmPath\n", "-", "csv"),
        ("mappings:\n  a: b\n", "m.json.txt", "yaml"),
        ("mappings: {}", "m.json", "json"),
        ("just words", "m.csv", "csv"),
    ],
)
def test_format_detection_from_content(text: str, name: str, fmt: str) -> None:
    assert detect_format(text, name) == fmt


def test_yaml_flow_style_in_a_yaml_file() -> None:
    parsed = parse_text("{mappings: {metric: _x.m}}", "m.yaml")
    assert parsed.format == "yaml" and parsed.items == [{"source": "metric", "destination": "_x.m"}]


def test_line_index_matches_counting() -> None:
    text = "ab\n\ncd\nefg\n"
    index = LineIndex(text)
    offsets = [9, 0, 3, 11, 4, 1, 2, 8, 5, 6, 7, 10, 0, 3, 9, 9, 2, 1]
    for offset in offsets:
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        assert index.position(offset) == (line, column)


# -- unreadable input through the real CLI: exit 2, one line naming file and position --------


def run(args: list[str], stdin: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["validate-mapping", *args], input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "broken.json",
            b'{"mappings": [\n  {"source": "a",,}\n]}',
            "broken.json:2:18: invalid",
        ),
        ("trailing.json", b'{"mappings": []} x', "trailing.json:1:18: invalid JSON: Extra data"),
        ("broken.yaml", b"mappings:\n  - a: [b\n", "broken.yaml:3:1: invalid YAML"),
        ("top.json", b'"a string"', "top.json:1:1: top level is string, not a mapping set"),
        ("keys.json", b'{"maps": []}', 'no "mappings" key'),
        ("kind.yaml", b"mappings: 3\n", 'kind.yaml:1:11: "mappings" is integer'),
        ("deep.json", b"[" * 100_000, "deep.json:1:501: nested more than 500 levels deep"),
        ("utf8.json", b'{"mappings": [\n "\xff"]}', "utf8.json:2:3: invalid UTF-8 (byte 0xff)"),
        ("binary.json", b"\x89PNG\r\n\x1a\n\x00\x00", "binary.json:3:1: binary data"),
        ("empty.json", b" \n\t", "empty.json: empty"),
        (
            "noheader.csv",
            b"a,b\n1,2\n",
            "noheader.csv:1:1: CSV header has no source or",
        ),
        (
            "big.json",
            b'{"mappings": [' + b"1" * 5000 + b"]}",
            "big.json:1:15: invalid JSON: a number too long to read",
        ),
    ],
)
def test_unreadable_input_exits_2_with_one_line(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, stdout, stderr = run([str(path)])
    assert code == 2 and stdout == ""
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
    assert message in stderr.replace(str(tmp_path) + "/", "")


def test_missing_file_directory_and_stdin(tmp_path: Path) -> None:
    code, _, stderr = run([str(tmp_path / "nope.json")])
    assert code == 2 and "nope.json: no such file" in stderr
    code, _, stderr = run([str(tmp_path)])
    assert code == 2 and "is a directory" in stderr
    code, stdout, stderr = run(["-"], stdin=json.dumps({"mappings": [ENTRY]}).encode())
    assert code == 1 and stderr == ""
    assert "<stdin>: error CIO-M001 mandatory-field-missing" in stdout
    code, _, stderr = run(["-", "-"], stdin=b"[]")
    assert code == 2 and "only once" in stderr


def test_utf16_with_bom_and_utf8_bom_are_read() -> None:
    text = "source,destination\nmetric,_x.m\n"
    assert decode(b"\xef\xbb\xbf" + text.encode(), "f") == text
    assert decode(text.encode("utf-16"), "f") == text


def test_a_hundred_thousand_entries(tmp_path: Path) -> None:
    entries = [
        {"sourceType": "ATTRIBUTE", "source": "data.subject", "destination": f"_x.f{i}"}
        for i in range(100_000)
    ]
    entries[99_999]["source"] = "data.subjekt"
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"mappings": entries}, indent=1), encoding="utf-8")
    code, stdout, _ = run(["--format", "json", str(path)])
    document = json.loads(stdout)
    assert code == 1
    unknown = [f for f in document["findings"] if f["rule_id"] == "CIO-M003"]
    assert [(f["line"], f["column"]) for f in unknown] == [(500_000, 14)]


# -- hypothesis: parsers never raise anything but InputError ---------------------------------

SAMPLES = [
    json.dumps({"mappings": [ENTRY, {"sourceAttribute": "a", "destinationXdmPath": "b"}]}),
    json.dumps({"mappings": {"metric": "_x", "a": {"destination": "b"}}}),
    "mappings:\n  - source: metric\n    destination: _x.m\n  - source: a\n",
    'source,destination,sourceType\nmetric,_x.m,ATTRIBUTE\n"a,b",c,\n',
]


def _check_any(text: str, name: str) -> None:
    try:
        parsed = parse_text(text, name)
    except InputError as err:
        assert str(err)
        return
    mset = to_mapping_set(parsed)
    for index in range(min(len(mset.items), 5)):
        mset.locator.entry(index)
        mset.locator.field(index, SOURCE_KEYS)
        mset.locator.field(index, DESTINATION_KEYS)
    assert len(mset.entries) == len(mset.items)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(SAMPLES),
    cut=st.integers(min_value=0, max_value=200),
    insert=st.text(alphabet='{}[]",:\n -\\\t\'"#&*!|>%@`', max_size=4),
    name=st.sampled_from(["m.json", "m.yaml", "m.csv", "-"]),
)
def test_mutated_documents_give_a_result_or_an_input_error(
    base: str, cut: int, insert: str, name: str
) -> None:
    cut = min(cut, len(base))
    _check_any(base[:cut] + insert + base[cut + len(insert) :], name)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=80), name=st.sampled_from(["m.json", "m.yaml", "m.csv", "-"]))
def test_random_text_gives_a_result_or_an_input_error(text: str, name: str) -> None:
    _check_any(text, name)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(value=json_values, as_yaml=st.booleans())
def test_any_json_value_in_any_place(value: object, as_yaml: bool) -> None:
    doc = {"mappings": [ENTRY, value, {"source": value, "destination": value}]}
    text = yaml.safe_dump(doc) if as_yaml else json.dumps(doc)
    _check_any(text, "m.yaml" if as_yaml else "m.json")
    _check_any(json.dumps({"mappings": value}), "m.json")


def test_json_with_classic_mac_line_ends_has_real_lines() -> None:
    text = '{\r"mappings": [\r  {"source": "a", "destination": "b"},\r  {"source": "c"}\r]\r}'
    parsed = parse_json(text, "m.json")
    assert parsed.locator.entry(1) == (4, 3)
    assert parsed.locator.field(1, SOURCE_KEYS) == (4, 14)
