"""Every rule of validate-mapping, run over one `MappingSet` in a single pass.

The loop runs once per entry (100,000 times for a big set), so it avoids work per entry:
positions are looked up only for findings, and only canonical sources and field-named
destinations are remembered for the mandatory-field check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cio_aep.findings import ChecklistItem, Finding, Rule, Severity
from cio_aep.mapping import rules
from cio_aep.mapping.entries import normalise_item
from cio_aep.mapping.expressions import (
    MAX_EXPRESSION_LENGTH,
    dformat_timestamp_argument,
    field_references,
    is_dformat_call,
    syntax_problem,
)
from cio_aep.mapping.mandatory import (
    ALTERNATE_SOURCES,
    BY_DESTINATION,
    BY_EXPRESSION,
    BY_SOURCE,
    BY_TARGET,
    CANONICAL_SET,
    CANONICAL_SOURCES,
    MANDATORY_FIELDS,
    MANDATORY_SET,
    FieldStatus,
)
from cio_aep.mapping.model import (
    ATTRIBUTE,
    DESTINATION_KEYS,
    EXPRESSION,
    SOURCE_KEYS,
    SOURCE_TYPES,
    STATIC,
    TYPE_KEYS,
    MappingEntry,
    MappingSet,
)
from cio_aep.mapping.paths import last_segment, normalise
from cio_aep.mapping.report import MappingReport
from cio_aep.mapping.source_fields import SourceFields
from cio_aep.mapping.xdm_schema import DATE_XDM, NUMERIC_XDM, XdmSchema, compatible

_TEXT = frozenset({"string"})
# A destination whose last name says it holds seconds (`timestamp_seconds`, `unix_time`).
_SECONDS_NAME = re.compile(r"(?:seconds|secs|epoch|unix)[^.]*$", re.IGNORECASE)

# DOMAIN.md §1-2: what the older fields that carry the same value lack.
_ALTERNATE_WHY = {
    "id": "deprecated, and blank for people who were deleted",
    "email": "only customer (subscription) events carry it; message events carry the address "
    "only in data.identifiers.email",
}

_TIMESTAMP_WHY = (
    "Customer.io sends timestamp as Unix seconds (an integer). An XDM date-time field needs a "
    "conversion, and Data Prep's dformat() takes milliseconds, so the seconds must be "
    "multiplied by 1000 first; Adobe documents no ready-made expression for seconds."
)
_TIMESTAMP_HINT = (
    "map it with a calculated field (sourceType EXPRESSION) such as "
    "dformat(${timestamp} * 1000, \"yyyy-MM-dd'T'HH:mm:ss.SSSXXX\") and check the result in "
    "the mapping preview; if the destination is an integer (long) field, this is fine: give "
    "--xdm-schema so the check can see its type"
)


# sourceType spellings taken as they are on the fast path (None: the legacy form has none).
_FAST_KINDS: dict[object, str] = {
    None: ATTRIBUTE,
    **{k.upper(): v for k, v in SOURCE_TYPES.items()},
}
_FAST_KINDS.update(SOURCE_TYPES)
_NAME_ENDINGS = tuple(f".{name}" for name in MANDATORY_FIELDS) + MANDATORY_FIELDS


@dataclass
class CheckOptions:
    """What the checks need besides the entries."""

    sources: SourceFields
    test_mode: bool = False
    targets: dict[str, str] = field(default_factory=dict)
    schema: XdmSchema | None = None
    label_prefix: str = ""  # "file: " when several inputs share one report


def field_check_name(name: str) -> str:
    return f"mandatory field {name}"


class _Checker:
    def __init__(self, mset: MappingSet, options: CheckOptions, report: MappingReport) -> None:
        self.mset = mset
        self.options = options
        self.report = report
        self.prefix = options.label_prefix
        # Indexes of the entries that may satisfy a mandatory field.
        self.first_by_destination: dict[str, int] = {}
        self.by_source: dict[str, int] = {}
        self.by_expression: dict[str, int] = {}
        self.by_name: dict[str, int] = {}

    # -- findings ---------------------------------------------------------------------------

    def add(
        self,
        rule: Rule,
        index: int | None,
        message: str,
        *,
        keys: tuple[str, ...] = (),
        hint: str | None = None,
        severity: Severity | None = None,
        check: str | None = None,
    ) -> None:
        line: int | None = None
        column: int | None = None
        path: str | None = None
        if index is not None:
            locator = self.mset.locator
            line, column = locator.field(index, keys) if keys else (None, None)
            if line is None:
                line, column = locator.entry(index)
            key = None
            if keys:
                key = "source" if keys == SOURCE_KEYS else keys[0]
            path = self.mset.json_path(index, key)
        self.report.add(
            Finding(
                rule,
                message,
                self.mset.file,
                line,
                column,
                path,
                hint,
                severity,
                self.prefix + (check or rules.check_name(rule)),
            )
        )

    # -- the pass over the entries ----------------------------------------------------------

    def run(self) -> None:
        sources = self.options.sources
        known = sources.types
        schema = self.options.schema
        first = self.first_by_destination
        fast_kinds = _FAST_KINDS
        source: str | None
        destination: str | None
        kind: str | None
        for index, item in enumerate(self.mset.items):
            # Fast path: a current-form entry with string source and destination.
            if item.__class__ is dict:
                source = item.get("source")
                destination = item.get("destination")
                kind = fast_kinds.get(item.get("sourceType"))
                fast = (
                    kind is not None
                    and source.__class__ is str
                    and destination.__class__ is str
                    and "sourceAttribute" not in item
                    and "destinationXdmPath" not in item
                )
            else:
                fast = False
            if not fast:
                source, destination, kind, _raw, problems = normalise_item(index, item)
                for problem in problems:
                    self.add(
                        problem.rule,
                        index,
                        problem.message,
                        keys=problem.keys,
                        hint=problem.hint,
                    )
                bad = any(p.rule is rules.INVALID_ENTRY for p in problems)
                if source is None and not bad:
                    self._empty(index, rules.EMPTY_SOURCE, "source", SOURCE_KEYS)
                if destination is None and not bad:
                    self._empty(index, rules.EMPTY_DESTINATION, "destination", DESTINATION_KEYS)
            if kind is ATTRIBUTE and source:
                key = normalise(source) if "[" in source else source
                types = known.get(key)
                if types is None:
                    if source.isspace():
                        self._empty(index, rules.EMPTY_SOURCE, "source", SOURCE_KEYS)
                        key = ""
                    else:
                        types = sources.lookup(key)
                        if types is None:
                            self._unknown_source(index, source)
                if key in CANONICAL_SET and destination:
                    self.by_source.setdefault(key, index)
                if schema is not None and destination:
                    self._types(index, key, destination, types, schema)
                elif key == "timestamp" and destination and not _SECONDS_NAME.search(destination):
                    # Without a schema the type is unknown: a field named for seconds is no
                    # date-time, anything else may be one.
                    self._timestamp(index, destination, "")
            elif source and not source.isspace():
                if kind is EXPRESSION:
                    self._expression(index, source)
                    if schema is not None and destination and is_dformat_call(source):
                        # dformat() gives text: fine for a date-time or string field only.
                        self._types(index, "dformat()", destination, _TEXT, schema)
                elif kind is not STATIC:
                    self._unknown_type(index, str(kind))
            elif source is not None:
                self._empty(index, rules.EMPTY_SOURCE, "source", SOURCE_KEYS)
            if not destination or (destination[0] <= " " and destination.isspace()):
                if destination is not None:
                    self._empty(index, rules.EMPTY_DESTINATION, "destination", DESTINATION_KEYS)
                continue
            earlier = first.get(destination)
            if earlier is None:
                first[destination] = index
                # Only destinations that may end in a mandatory field's name are split.
                if destination.endswith(_NAME_ENDINGS) or destination[-1] == "]":
                    name = last_segment(destination)
                    if name in MANDATORY_SET and source and not source.isspace():
                        self.by_name.setdefault(name, index)
            else:
                self._duplicate(index, destination, earlier)
            if schema is not None and schema.lookup(destination) is None:
                self._not_in_schema(index, destination, schema)

    # -- one rule each ----------------------------------------------------------------------

    def _empty(self, index: int, rule: Rule, name: str, keys: tuple[str, ...]) -> None:
        self.add(
            rule,
            index,
            f"mapping entry #{index + 1} has an empty {name}",
            keys=keys,
            hint=f"fill in the {name}, or delete the entry",
        )

    def _unknown_source(self, index: int, source: str) -> None:
        guess = self.options.sources.suggest(source)
        hint = f"did you mean {guess}?" if guess else None
        advice = (
            "check the spelling against a Customer.io payload; AEP can map only fields "
            "present in the sample you uploaded"
        )
        self.add(
            rules.UNKNOWN_SOURCE,
            index,
            f"source field {source!r} is not in any Customer.io reporting webhook payload",
            keys=SOURCE_KEYS,
            hint=f"{hint} ({advice})" if hint else advice,
        )

    def _unknown_type(self, index: int, kind: str) -> None:
        self.add(
            rules.UNKNOWN_SOURCE_TYPE,
            index,
            f"unknown sourceType {kind!r}",
            keys=TYPE_KEYS,
            hint="use ATTRIBUTE (a source field), EXPRESSION (a calculated field) or STATIC "
            "(a constant)",
        )

    def _expression(self, index: int, source: str) -> None:
        if len(source) > MAX_EXPRESSION_LENGTH:
            self.add(
                rules.EXPRESSION_TOO_LONG,
                index,
                f"calculated field is {len(source):,} characters long; Data Prep accepts at "
                f"most {MAX_EXPRESSION_LENGTH:,}",
                keys=SOURCE_KEYS,
                hint="split it into several calculated fields, or simplify it",
            )
            return
        problem = syntax_problem(source)
        if problem is not None:
            what, at = problem
            self.add(
                rules.EXPRESSION_SYNTAX,
                index,
                f"calculated field: {what} (character {at + 1})",
                keys=SOURCE_KEYS,
                hint="Data Prep rejects it; the fields it names are checked once it reads",
            )
            return
        sources = self.options.sources
        reported: set[str] = set()
        for ref in field_references(source):
            key = normalise(ref.path)
            if key in CANONICAL_SET and self._has_destination(index):
                self.by_expression.setdefault(key, index)
            if sources.lookup(key) is None and key not in reported:
                reported.add(key)
                guess = sources.suggest(key)
                after = source[ref.offset + len(ref.text) : ref.offset + len(ref.text) + 1]
                quoted = (
                    "; a name with characters such as '-' or spaces must be wrapped as ${...}"
                    if after in ("-", " ") and not ref.text.startswith("${")
                    else ""
                )
                self.add(
                    rules.UNKNOWN_EXPRESSION_FIELD,
                    index,
                    f"calculated field refers to {ref.text!r}, which no Customer.io payload "
                    "carries",
                    keys=SOURCE_KEYS,
                    hint=(f"did you mean {guess}?" if guess else "check the field name") + quoted,
                )
        argument = dformat_timestamp_argument(source)
        if argument is not None:
            given = "timestamp as it is" if argument.strip("${} ") == "timestamp" else argument
            self.add(
                rules.TIMESTAMP_CONVERSION,
                index,
                f"dformat() is given {given}: " + _TIMESTAMP_WHY,
                keys=SOURCE_KEYS,
                hint="multiply by 1000: dformat(${timestamp} * 1000, ...)",
            )

    def _has_destination(self, index: int) -> bool:
        destination = normalise_item(index, self.mset.items[index])[1]
        return bool(destination and not destination.isspace())

    def _timestamp(self, index: int, destination: str, xdm_type: str) -> None:
        target = f"{destination!r} ({xdm_type})" if xdm_type else repr(destination)
        self.add(
            rules.TIMESTAMP_CONVERSION,
            index,
            f"timestamp is mapped as a plain attribute to {target}. {_TIMESTAMP_WHY}",
            keys=SOURCE_KEYS,
            hint=_TIMESTAMP_HINT,
        )

    def _types(
        self,
        index: int,
        key: str,
        destination: str,
        types: frozenset[str] | None,
        schema: XdmSchema,
    ) -> None:
        xdm_type = schema.lookup(destination)
        if key == "timestamp" and (xdm_type == "" or xdm_type in DATE_XDM):
            self._timestamp(index, destination, xdm_type or "")
            return
        if not types or not xdm_type or compatible(types, xdm_type):
            return
        shown = "|".join(sorted(types))
        loose = (xdm_type in NUMERIC_XDM or xdm_type == "boolean") and "string" in types
        self.add(
            rules.INCOMPATIBLE_TYPE,
            index,
            f"{key} ({shown}) cannot land in {destination!r}, an XDM {xdm_type} field",
            keys=DESTINATION_KEYS,
            hint=(
                "AEP converts the text only when it happens to fit; make the field a string "
                "to be safe"
                if loose
                else "map a field of a matching type, or convert it with a calculated field"
            ),
            severity=Severity.WARNING if loose else None,
        )

    def _duplicate(self, index: int, destination: str, earlier: int) -> None:
        line = self.mset.locator.field(earlier, DESTINATION_KEYS)[0]
        if line is None:
            line = self.mset.locator.entry(earlier)[0]
        where = f"line {line}" if line is not None else f"entry #{earlier + 1}"
        self.add(
            rules.DUPLICATE_DESTINATION,
            index,
            f"destination {destination!r} is already written by the mapping at {where}",
            keys=DESTINATION_KEYS,
            hint="keep one mapping per destination; combine values with a calculated field",
        )

    def _not_in_schema(self, index: int, destination: str, schema: XdmSchema) -> None:
        guess = schema.suggest(destination)
        self.add(
            rules.NOT_IN_SCHEMA,
            index,
            f"destination {destination!r} is not a field of the XDM schema {schema.file}",
            keys=DESTINATION_KEYS,
            hint=f"did you mean {guess}?"
            if guess
            else "add the field to the schema, or fix the path",
        )

    # -- the seven fields -------------------------------------------------------------------

    def resolve_fields(self) -> list[FieldStatus]:
        statuses = []
        for name in MANDATORY_FIELDS:
            statuses.append(self._resolve(name))
        return statuses

    def _resolve(self, name: str) -> FieldStatus:
        required = not (self.options.test_mode and name == "cio_id")
        declared = self.options.targets.get(name)
        canonical = CANONICAL_SOURCES[name]
        found: int | None
        how: str | None
        if declared is not None:
            found, how = self.first_by_destination.get(declared), BY_TARGET
        else:
            found, how = self.by_source.get(canonical), BY_SOURCE
            if found is None:
                found, how = self.by_expression.get(canonical), BY_EXPRESSION
            if found is None:
                found, how = self.by_name.get(name), BY_DESTINATION
        entry: MappingEntry | None = None
        if found is None:
            how = None
        else:
            entry = self.mset.entry(found)
        # A constant, or a calculated field that reads no field of the event (uuid(), now()).
        computed = (
            entry is not None
            and entry.source_type == EXPRESSION
            and not field_references(entry.source or "")
        )
        constant = entry is not None and (entry.source_type == STATIC or computed)
        status = FieldStatus(
            self.mset.file,
            name,
            required,
            entry is not None and not constant,
            how,
            entry.source if entry else None,
            entry.destination if entry else None,
            entry.position(DESTINATION_KEYS)[0] if entry else None,
            declared,
        )
        check = field_check_name(name)
        if required and entry is None:
            self._missing(name, canonical, declared, check)
        elif required and constant and entry is not None:
            self.add(
                rules.CONSTANT_FIELD,
                entry.index,
                (
                    f"mandatory field {name} is computed from no field of the event "
                    f"({entry.source!r} → {entry.destination}): its {name} is not the event's"
                    if computed
                    else f"mandatory field {name} is mapped only from a constant "
                    f"({entry.source!r} → {entry.destination}): every event would carry the "
                    f"same {name}"
                ),
                keys=SOURCE_KEYS,
                hint=f"map the Customer.io field {canonical} to it (sourceType ATTRIBUTE)",
                check=check,
            )
        elif not required and entry is not None:
            self.add(
                rules.CIO_ID_IN_TEST_MODE,
                entry.index,
                f"cio_id is mapped ({entry.source} → {entry.destination}), but test-mode "
                "events carry no cio_id",
                keys=DESTINATION_KEYS,
                hint="remove this mapping while the Customer.io workspace is in test mode "
                "(Adobe: do not map cio_id then)",
                check=check,
            )
        if how == BY_DESTINATION and entry is not None:
            self._source_mismatch(name, canonical, entry, check)
        elif declared is None and name in self.by_name and self.by_name[name] != found:
            # Satisfied by its source elsewhere; a destination named like it may still be fed
            # from another field (id and email swapped, say).
            self._source_mismatch(name, canonical, self.mset.entry(self.by_name[name]), check)
        return status

    def _missing(self, name: str, canonical: str, declared: str | None, check: str) -> None:
        if declared is not None:
            message = (
                f"mandatory field {name}: --target {name}={declared} was given, but no mapping "
                f"writes {declared!r}"
            )
            hint = f"map {canonical} to {declared}, or fix the --target destination"
        else:
            message = f"mandatory field {name} is not mapped"
            hint = (
                f'map the Customer.io field {canonical} to your schema, e.g. {{"sourceType": '
                f'"ATTRIBUTE", "source": "{canonical}", "destination": "_tenant.{name}"}}; if '
                f"it is mapped under another name, say where with --target {name}=DESTINATION"
            )
        self.add(rules.MISSING_FIELD, None, message, hint=hint, check=check)

    def _source_mismatch(self, name: str, canonical: str, entry: MappingEntry, check: str) -> None:
        if entry.source_type != ATTRIBUTE or not entry.source:
            return
        key = normalise(entry.source)
        if key == canonical:
            return
        if key in ALTERNATE_SOURCES.get(name, frozenset()):
            self.add(
                rules.SOURCE_MISMATCH,
                entry.index,
                f"mandatory field {name} is fed from {entry.source!r}: {_ALTERNATE_WHY[name]}",
                keys=SOURCE_KEYS,
                hint=f"map {canonical} to {entry.destination} instead",
                check=check,
            )
            return
        if self.options.sources.lookup(key) is None:
            return  # already reported as an unknown source
        self.add(
            rules.SOURCE_MISMATCH,
            entry.index,
            f"destination {entry.destination!r} is named like the mandatory field {name} but "
            f"is fed from {entry.source!r}, not {canonical}",
            keys=SOURCE_KEYS,
            hint=f"map {canonical} to it, or if this is intended, say so with "
            f"--target {name}={entry.destination}",
            check=check,
        )


def check_mapping_set(
    mset: MappingSet, options: CheckOptions, report: MappingReport
) -> list[FieldStatus]:
    """Run every rule over `mset`, adding findings, checklist items and checks to `report`."""
    checker = _Checker(mset, options, report)
    checker.run()
    statuses = checker.resolve_fields()
    prefix = options.label_prefix
    for status in statuses:
        report.checklist.append(ChecklistItem(prefix + status.field, status.ok, status.detail()))
        report.checks.append(prefix + field_check_name(status.field))
    for rule in rules.ENTRY_RULES:
        if options.schema is None and rule in (rules.NOT_IN_SCHEMA, rules.INCOMPATIBLE_TYPE):
            continue
        report.checks.append(prefix + rules.check_name(rule))
    report.checks_total = len(report.checks)
    return statuses
