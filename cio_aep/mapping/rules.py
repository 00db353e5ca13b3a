"""The rules `validate-mapping` checks, with stable ids (SARIF, docs, expectations files)."""

from __future__ import annotations

from cio_aep.findings import Rule, Severity

_W = Severity.WARNING

MISSING_FIELD = Rule(
    "CIO-M001",
    "mandatory-field-missing",
    "One of the seven fields AEP's Customer.io source needs (object_type, id, email, event_id, "
    "cio_id, metric, timestamp) is not mapped.",
)
CIO_ID_IN_TEST_MODE = Rule(
    "CIO-M002",
    "cio-id-in-test-mode",
    "In Customer.io test mode events carry no cio_id, and Adobe says not to map it.",
)
UNKNOWN_SOURCE = Rule(
    "CIO-M003",
    "unknown-source-field",
    "An ATTRIBUTE source path that no Customer.io reporting webhook payload carries.",
)
UNKNOWN_EXPRESSION_FIELD = Rule(
    "CIO-M004",
    "unknown-expression-field",
    "A calculated field (EXPRESSION) refers to a field no Customer.io payload carries.",
)
EXPRESSION_TOO_LONG = Rule(
    "CIO-M005",
    "expression-too-long",
    "Data Prep rejects calculated fields longer than 4,096 characters.",
)
DUPLICATE_DESTINATION = Rule(
    "CIO-M006",
    "duplicate-destination",
    "Two mappings write the same destination field; only one value can land there.",
)
EMPTY_SOURCE = Rule("CIO-M007", "empty-source", "A mapping with an empty source.")
EMPTY_DESTINATION = Rule("CIO-M008", "empty-destination", "A mapping with an empty destination.")
UNKNOWN_SOURCE_TYPE = Rule(
    "CIO-M009",
    "unknown-source-type",
    "sourceType must be ATTRIBUTE, EXPRESSION or STATIC (stored sets: text/x.schema-path).",
)
TIMESTAMP_CONVERSION = Rule(
    "CIO-M010",
    "timestamp-needs-conversion",
    "Customer.io's timestamp is Unix seconds; an XDM date-time field needs a conversion, and "
    "Data Prep's dformat() takes milliseconds.",
    _W,
)
NOT_IN_SCHEMA = Rule(
    "CIO-M011",
    "destination-not-in-schema",
    "A destination that the XDM schema given with --xdm-schema does not have.",
)
INCOMPATIBLE_TYPE = Rule(
    "CIO-M012",
    "incompatible-type",
    "The source field's type cannot land in the destination field's XDM type.",
)
INVALID_ENTRY = Rule(
    "CIO-M013",
    "invalid-entry",
    "A mapping entry that is not an object, or whose source, destination or sourceType is "
    "not a string.",
)
CONFLICTING_VOCABULARY = Rule(
    "CIO-M014",
    "conflicting-vocabulary",
    "An entry carries both vocabularies (source/sourceAttribute, destination/"
    "destinationXdmPath) with different values.",
    _W,
)
SOURCE_MISMATCH = Rule(
    "CIO-M015",
    "mandatory-field-source-mismatch",
    "A destination named like a mandatory field is fed from a different Customer.io field.",
    _W,
)
EXPRESSION_SYNTAX = Rule(
    "CIO-M016",
    "expression-syntax",
    "A calculated field (EXPRESSION) with a string, `${` or bracket left open or closed twice.",
)
CONSTANT_FIELD = Rule(
    "CIO-M017",
    "mandatory-field-constant",
    "A mandatory field is mapped only from a constant (STATIC) or a calculated field that reads "
    "no field of the event (uuid(), now()): its value is not the event's.",
)

# Not a rule about mappings, so not in ALL_RULES: the report's way to carry a file that cannot
# be read when several are checked at once (one bad file must not hide the others' findings).
UNREADABLE_INPUT = Rule(
    "CIO-M000",
    "unreadable-input",
    "A mapping file that cannot be read as JSON, YAML or CSV; the other files are still checked.",
)

ALL_RULES: tuple[Rule, ...] = (
    MISSING_FIELD,
    CIO_ID_IN_TEST_MODE,
    UNKNOWN_SOURCE,
    UNKNOWN_EXPRESSION_FIELD,
    EXPRESSION_TOO_LONG,
    DUPLICATE_DESTINATION,
    EMPTY_SOURCE,
    EMPTY_DESTINATION,
    UNKNOWN_SOURCE_TYPE,
    TIMESTAMP_CONVERSION,
    NOT_IN_SCHEMA,
    INCOMPATIBLE_TYPE,
    INVALID_ENTRY,
    CONFLICTING_VOCABULARY,
    SOURCE_MISMATCH,
    EXPRESSION_SYNTAX,
    CONSTANT_FIELD,
)

# Rules about the seven fields are reported under one junit testcase per field instead.
FIELD_RULES = frozenset(
    {MISSING_FIELD.id, CIO_ID_IN_TEST_MODE.id, SOURCE_MISMATCH.id, CONSTANT_FIELD.id}
)
ENTRY_RULES: tuple[Rule, ...] = tuple(r for r in ALL_RULES if r.id not in FIELD_RULES)
RULES_BY_ID = {r.id: r for r in ALL_RULES}


def check_name(rule: Rule) -> str:
    """The junit testcase name of an entry rule."""
    return f"{rule.id} {rule.name}"
