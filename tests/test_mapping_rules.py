"""One test per rule of validate-mapping (CIO-M001..M017), through the Python API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cio_aep.errors import InputError, UsageError
from cio_aep.findings import Severity
from cio_aep.mapping import ALL_RULES, MappingReport, validate_mapping
from cio_aep.mapping.expressions import field_references
from cio_aep.mapping.mandatory import MANDATORY_FIELDS
from cio_aep.mapping.xdm_schema import build_xdm_schema

# The seven mandatory fields, each mapped from its canonical Customer.io source.
BASE: list[dict[str, Any]] = [
    {"sourceType": "ATTRIBUTE", "source": "object_type", "destination": "_acme.object_type"},
    {"sourceType": "ATTRIBUTE", "source": "data.identifiers.id", "destination": "_acme.id"},
    {"sourceType": "ATTRIBUTE", "source": "data.identifiers.email", "destination": "_acme.email"},
    {"sourceType": "ATTRIBUTE", "source": "event_id", "destination": "_acme.event_id"},
    {"sourceType": "ATTRIBUTE", "source": "data.identifiers.cio_id", "destination": "_acme.cio_id"},
    {"sourceType": "ATTRIBUTE", "source": "metric", "destination": "_acme.metric"},
    {
        "sourceType": "EXPRESSION",
        "source": "dformat(${timestamp} * 1000, \"yyyy-MM-dd'T'HH:mm:ss.SSSXXX\")",
        "destination": "_acme.timestamp",
    },
]


def check(extra: list[Any] | None = None, drop: str | None = None, **kw: Any) -> MappingReport:
    mappings = [m for m in BASE if m["destination"] != drop] + (extra or [])
    return validate_mapping({"mappings": mappings}, **kw)


def ids(report: MappingReport) -> list[str]:
    return [f.rule.id for f in report.findings]


def test_the_base_set_is_clean() -> None:
    report = check()
    assert report.ok and report.findings == []
    assert [item.label for item in report.checklist] == list(MANDATORY_FIELDS)
    assert all(item.ok for item in report.checklist)


def test_rule_ids_are_stable_and_unique() -> None:
    assert [r.id for r in ALL_RULES] == [f"CIO-M{n:03d}" for n in range(1, 18)]
    assert len({r.name for r in ALL_RULES}) == len(ALL_RULES)


@pytest.mark.parametrize("field", MANDATORY_FIELDS)
def test_m001_each_mandatory_field_is_required(field: str) -> None:
    report = check(drop=f"_acme.{field}")
    assert ids(report) == ["CIO-M001"]
    finding = report.findings[0]
    assert field in finding.message and finding.hint and "--target" in finding.hint
    assert finding.check == f"mandatory field {field}"
    status = report.field_status(field)
    assert status is not None and not status.mapped and not report.ok


def test_m001_three_ways_to_satisfy_a_field() -> None:
    by_name = {"sourceType": "ATTRIBUTE", "source": "data.customer_id", "destination": "_x.id"}
    report = check(drop="_acme.id", extra=[by_name])
    status = report.field_status("id")
    assert status is not None and status.how == "destination" and report.ok
    renamed = {"sourceType": "ATTRIBUTE", "source": "data.customer_id", "destination": "_x.pid"}
    assert ids(check(drop="_acme.id", extra=[renamed])) == ["CIO-M001"]
    declared = check(drop="_acme.id", extra=[renamed], targets={"id": "_x.pid"})
    status = declared.field_status("id")
    assert declared.ok and status is not None and status.how == "target"
    # Declared but not written: missing, and the message says so.
    wrong = check(targets={"event_id": "_x.nowhere"})
    assert ids(wrong) == ["CIO-M001"] and "_x.nowhere" in wrong.findings[0].message
    by_source = check()
    assert [s.how for s in by_source.fields] == ["source"] * 6 + ["expression"]


def test_m001_a_canonical_source_without_destination_does_not_count() -> None:
    report = check(
        drop="_acme.id",
        extra=[{"sourceType": "ATTRIBUTE", "source": "data.identifiers.id", "destination": ""}],
    )
    assert sorted(ids(report)) == ["CIO-M001", "CIO-M008"]


def test_m002_cio_id_in_test_mode() -> None:
    assert ids(check(drop="_acme.cio_id", test_mode=True)) == []
    report = check(test_mode=True)
    assert ids(report) == ["CIO-M002"]
    assert report.findings[0].check == "mandatory field cio_id"
    cio = report.field_status("cio_id")
    assert cio is not None and not cio.required and cio.mapped and not cio.ok


def test_m003_unknown_source_with_did_you_mean() -> None:
    report = check(
        [{"sourceType": "ATTRIBUTE", "source": "data.identifier.id", "destination": "_x.a"}]
    )
    assert ids(report) == ["CIO-M003"]
    assert (
        report.findings[0].hint and "did you mean data.identifiers.id?" in report.findings[0].hint
    )
    # Array indexes match [*]; unlisted members of open objects are accepted.
    fine = [
        {"source": "data.recipients[0].device_id", "destination": "_x.b"},
        {"source": "data.recipients[*].device_platform", "destination": "_x.c"},
        {"source": "data.headers.X-Mailgun-Tag", "destination": "_x.d"},
    ]
    assert ids(check(fine)) == []


def test_m004_expression_fields_must_exist() -> None:
    report = check(
        [
            {
                "sourceType": "EXPRESSION",
                "source": 'iif(${data.identifiers.emial} != null, lower(data.subjekt), "x")',
                "destination": "_x.e",
            }
        ]
    )
    assert ids(report) == ["CIO-M004", "CIO-M004"]
    assert "data.identifiers.email" in (report.findings[0].hint or "")


def test_expression_references() -> None:
    refs = field_references(
        'concat(data.identifiers.id, "-metric-", ${event_id}, lower(x.y()), true, null) + '
        "data.recipients[0].device_id + ${First\\.Name}"
    )
    assert [r.path for r in refs] == [
        "data.identifiers.id",
        "event_id",
        "data.recipients[0].device_id",
        "First\\.Name",
    ]


def test_m005_expression_too_long() -> None:
    long = "concat(" + ", ".join(["metric"] * 700) + ")"
    report = check([{"sourceType": "EXPRESSION", "source": long, "destination": "_x.f"}])
    assert ids(report) == ["CIO-M005"]
    ok = "concat(" + ", ".join(["metric"] * 500) + ")"
    assert (
        len(ok) <= 4096
        and ids(check([{"sourceType": "EXPRESSION", "source": ok, "destination": "_x.f"}])) == []
    )


def test_m006_duplicate_destination() -> None:
    report = check(
        [{"sourceType": "ATTRIBUTE", "source": "data.subject", "destination": "_acme.id"}]
    )
    assert ids(report) == ["CIO-M006"]


def test_m007_m008_empty_source_and_destination() -> None:
    report = check(
        [
            {"sourceType": "ATTRIBUTE", "source": " ", "destination": "_x.g"},
            {"sourceType": "ATTRIBUTE", "destination": "_x.h"},
            {"sourceType": "ATTRIBUTE", "source": "data.subject", "destination": ""},
            {"sourceType": "ATTRIBUTE", "source": "data.subject"},
        ]
    )
    assert ids(report) == ["CIO-M007", "CIO-M007", "CIO-M008", "CIO-M008"]


def test_m009_unknown_source_type_and_accepted_spellings() -> None:
    accepted = [
        {"sourceType": t, "source": "data.subject", "destination": f"_x.{i}"}
        for i, t in enumerate(["attribute", "Attribute", "text/x.schema-path", "STATIC"])
    ]
    assert ids(check(accepted)) == []
    report = check([{"sourceType": "COLUMN", "source": "data.subject", "destination": "_x.i"}])
    assert ids(report) == ["CIO-M009"]


def test_m010_timestamp_as_plain_attribute() -> None:
    report = check(
        [{"sourceType": "ATTRIBUTE", "source": "timestamp", "destination": "_acme.timestamp"}],
        drop="_acme.timestamp",
    )
    assert ids(report) == ["CIO-M010"]
    finding = report.findings[0]
    assert finding.level is Severity.WARNING and "milliseconds" in finding.message
    assert report.ok  # a warning only
    strict = check(
        [{"sourceType": "ATTRIBUTE", "source": "timestamp", "destination": "_acme.timestamp"}],
        drop="_acme.timestamp",
        strict=True,
    )
    assert not strict.ok
    seconds = check(
        [
            {
                "sourceType": "EXPRESSION",
                "source": 'dformat(timestamp, "yyyy")',
                "destination": "_x.t",
            }
        ]
    )
    assert ids(seconds) == ["CIO-M010"]


SCHEMA = {
    "properties": {
        "timestamp": {"type": "string", "format": "date-time"},
        "_acme": {
            "type": "object",
            "properties": {
                "object_type": {"type": "string"},
                "id": {"type": "string"},
                "email": {"type": "string"},
                "event_id": {"type": "string"},
                "cio_id": {"type": "string"},
                "metric": {"type": "string"},
                "timestamp": {"$ref": "#/definitions/dt"},
                "seconds": {"type": "integer", "meta:xdmType": "long"},
                "flag": {"type": "boolean"},
                "count": {"type": "integer", "meta:xdmType": "int"},
                "code": {"type": "integer", "meta:xdmType": "int"},
                "sent": {"type": "integer", "meta:xdmType": "long"},
                "ext": {"$ref": "https://ns.adobe.com/xdm/mixins/elsewhere"},
            },
        },
    },
    "definitions": {"dt": {"type": "string", "meta:xdmType": "date-time"}},
}


def test_m011_destination_not_in_schema() -> None:
    schema = build_xdm_schema(SCHEMA)
    report = check(
        [
            {"source": "data.subject", "destination": "_acme.subjekt"},
            {"source": "data.href", "destination": "_acme.ext.anything"},  # unresolvable $ref
        ],
        xdm_schema=schema,
    )
    assert ids(report) == ["CIO-M011"]


def test_m012_incompatible_types_and_timestamp_targets() -> None:
    schema = build_xdm_schema(SCHEMA)
    report = check(
        [
            {"source": "data.machine", "destination": "_acme.flag"},  # boolean → boolean
            {"source": "data.link_id", "destination": "_acme.count"},  # integer → int
            {"source": "data.subject", "destination": "_acme.code"},  # string → int: warning
            {"source": "data.proxied", "destination": "_acme.sent"},  # boolean → long: error
            {"source": "timestamp", "destination": "_acme.seconds"},  # seconds into a long: fine
            {"source": "timestamp", "destination": "_acme.timestamp"},  # also a duplicate
        ],
        xdm_schema=schema,
    )
    got = [(f.rule.id, f.level.value) for f in report.findings]
    assert got == [
        ("CIO-M012", "warning"),
        ("CIO-M012", "error"),
        ("CIO-M010", "warning"),  # _acme.timestamp is a date-time (through a $ref)
        ("CIO-M006", "error"),
    ]
    # timestamp → the top-level date-time field: M010 (the base set maps it by expression).
    dated = check(
        [{"source": "timestamp", "destination": "timestamp"}],
        drop="_acme.timestamp",
        xdm_schema=schema,
    )
    assert [(f.rule.id, f.message.count("date-time")) for f in dated.findings] == [("CIO-M010", 2)]


def test_m012_dformat_text_into_a_number_field() -> None:
    schema = build_xdm_schema(SCHEMA)
    dformat = 'dformat(${timestamp} * 1000, "yyyy-MM-dd")'
    report = check(
        [
            {"sourceType": "EXPRESSION", "source": dformat, "destination": "_acme.seconds"},
            {"sourceType": "EXPRESSION", "source": dformat, "destination": "_acme.sent"},
        ],
        xdm_schema=schema,
    )
    messages = [f.message for f in report.findings if f.rule.id == "CIO-M012"]
    assert len(messages) == 2  # the text of a date in a long field: AEP converts only digits
    assert messages[0].startswith("dformat() (string) cannot land in '_acme.seconds'")
    # The base set's dformat() into the date-time field `_acme.timestamp` is fine.
    assert all("_acme.timestamp" not in m for m in messages)


def test_m013_invalid_entries() -> None:
    report = check(["data.subject", {"source": 3, "destination": "_x.j"}, None])
    assert ids(report) == ["CIO-M013", "CIO-M013", "CIO-M013"]


def test_m014_conflicting_vocabulary() -> None:
    entry = {
        "source": "data.subject",
        "sourceAttribute": "data.href",
        "destination": "_x.k",
        "destinationXdmPath": "_x.k",
    }
    assert ids(check([entry])) == ["CIO-M014"]
    same = dict(entry, sourceAttribute="data.subject")
    assert ids(check([same])) == []


def test_m015_destination_named_like_a_field_from_another_source() -> None:
    report = check(
        [{"sourceType": "ATTRIBUTE", "source": "data.delivery_id", "destination": "_x.event_id"}],
        drop="_acme.event_id",
    )
    assert ids(report) == ["CIO-M015"]


@pytest.mark.parametrize(
    ("field", "source", "why"),
    [
        ("id", "data.customer_id", "deprecated, and blank for people who were deleted"),
        ("email", "data.email_address", "only customer (subscription) events carry it"),
    ],
)
def test_m015_older_field_for_id_or_email_is_a_warning(field: str, source: str, why: str) -> None:
    entry = {"sourceType": "ATTRIBUTE", "source": source, "destination": f"_x.{field}"}
    report = check([entry], drop=f"_acme.{field}")
    assert ids(report) == ["CIO-M015"]
    assert why in report.findings[0].message and report.ok  # a warning: the value is there


def test_m015_id_and_email_swapped() -> None:
    # Both canonical sources are mapped, so both fields look satisfied "by source"; the
    # destinations named id and email are still fed from each other's field.
    swapped = [
        {"sourceType": "ATTRIBUTE", "source": "data.identifiers.id", "destination": "_x.email"},
        {"sourceType": "ATTRIBUTE", "source": "data.identifiers.email", "destination": "_x.id"},
    ]
    base = [m for m in BASE if m["destination"] not in ("_acme.id", "_acme.email")]
    report = validate_mapping({"mappings": base + swapped})
    assert ids(report) == ["CIO-M015", "CIO-M015"]
    messages = sorted(f.message for f in report.findings)
    assert "'_x.email' is named like the mandatory field email" in messages[0]
    assert "'_x.id' is named like the mandatory field id" in messages[1]


@pytest.mark.parametrize(
    ("field", "expression"),
    [("event_id", "uuid()"), ("timestamp", "now()"), ("timestamp", '"2021-01-01T00:00:00Z"')],
)
def test_m017_mandatory_field_computed_from_no_event_field(field: str, expression: str) -> None:
    entry = {"sourceType": "EXPRESSION", "source": expression, "destination": f"_x.{field}"}
    report = check([entry], drop=f"_acme.{field}")
    assert ids(report) == ["CIO-M017"]
    assert f"is computed from no field of the event ({expression!r}" in report.findings[0].message
    status = report.field_status(field)
    assert status is not None and not status.mapped
    assert status.detail().startswith("not from the event: ")


@pytest.mark.parametrize(
    ("destination", "warned"),
    [("_x.timestamp_seconds", False), ("_x.unix_time", False), ("_x.sent_at", True)],
)
def test_m010_plain_timestamp_into_a_field_named_for_seconds(
    destination: str, warned: bool
) -> None:
    entry = {"sourceType": "ATTRIBUTE", "source": "timestamp", "destination": destination}
    assert ("CIO-M010" in ids(check([entry]))) is warned


def test_m010_conversion_around_timestamp_is_fine() -> None:
    expression = "dformat(to_integer(timestamp) * 1000, \"yyyy-MM-dd'T'HH:mm:ss.SSSZ\")"
    entry = {"sourceType": "EXPRESSION", "source": expression, "destination": "_x.t"}
    assert ids(check([entry])) == []


@pytest.mark.parametrize("field", ["event_id", "metric", "id"])
def test_m017_mandatory_field_from_a_constant(field: str) -> None:
    entry = {"sourceType": "STATIC", "source": "x", "destination": f"_x.{field}"}
    report = check([entry], drop=f"_acme.{field}")
    assert ids(report) == ["CIO-M017"]
    assert not report.ok
    assert f"every event would carry the same {field}" in report.findings[0].message
    status = report.field_status(field)
    assert status is not None and not status.mapped


@pytest.mark.parametrize(
    ("expression", "flagged"),
    [
        ('dformat(${timestamp} * 1000, "yyyy")', None),
        ('dformat(1000*timestamp, "yyyy")', None),
        ('dformat(timestamp, "yyyy")', "dformat() is given timestamp as it is: "),
        ('dformat(timestamp / 1000, "yyyy")', "dformat() is given timestamp / 1000: "),
        ('dformat(${timestamp}*1000000, "yyyy")', "dformat() is given ${timestamp}*1000000: "),
        ('iif(true, dformat(timestamp*1000, "y"), dformat(timestamp, "y"))', "as it is"),
        ('dformat(now(), "yyyy")', None),
    ],
)
def test_m010_dformat_needs_timestamp_times_1000(expression: str, flagged: str | None) -> None:
    report = check([{"sourceType": "EXPRESSION", "source": expression, "destination": "_x.t"}])
    if flagged is None:
        assert "CIO-M010" not in ids(report)
    else:
        assert ids(report) == ["CIO-M010"]
        assert flagged in report.findings[0].message


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ('dformat(${timestamp * 1000, "x', "`${` is not closed with `}` (character 9)"),
        ("lower(${data.identifiers.email}", "`(` is not closed (character 6)"),
        ('concat(metric, "-x)', 'the string starting with " is not closed (character 16)'),
        ("upper(metric))", "`)` closes nothing (character 14)"),
    ],
)
def test_m016_expression_syntax(expression: str, message: str) -> None:
    entry = {"sourceType": "EXPRESSION", "source": expression, "destination": "_x.calc"}
    report = check([entry])
    assert ids(report) == ["CIO-M016"]  # and no CIO-M004 about a field named '$'
    assert report.findings[0].message == f"calculated field: {message}"


def test_m016_valid_expressions_pass() -> None:
    good = [
        "dformat(${timestamp} * 1000, \"yyyy-MM-dd'T'HH:mm:ss\")",
        "iif(data.recipients[0].device_id == 'a', 'it\\'s', \"b\")",
        "lower(${data.identifiers.email})",
    ]
    entries = [
        {"sourceType": "EXPRESSION", "source": e, "destination": f"_x.c{i}"}
        for i, e in enumerate(good)
    ]
    assert "CIO-M016" not in ids(check(entries))


def test_api_accepts_paths_and_data_and_rejects_bad_targets(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"mappings": []}', encoding="utf-8")
    report = validate_mapping(path)
    assert report.files == [str(path)] and len(ids(report)) == 7
    assert validate_mapping(str(path), test_mode=True).field_status("cio_id") is not None
    assert ids(validate_mapping(BASE)) == []  # a bare list of entries
    assert ids(validate_mapping({"mappings": {"event_id": "_x.event_id"}})).count("CIO-M001") == 6
    with pytest.raises(UsageError):
        validate_mapping(BASE, targets={"nope": "_x"})
    with pytest.raises(InputError):
        validate_mapping({"nothing": []})
    with pytest.raises(InputError):
        validate_mapping(tmp_path / "missing.json")
