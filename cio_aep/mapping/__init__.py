"""Validating Data Prep mapping sets for AEP's Customer.io source (`cio-aep validate-mapping`).

>>> report = validate_mapping("mapping.json", test_mode=False)   # doctest: +SKIP
>>> report.ok, [f.rule.id for f in report.findings]                # doctest: +SKIP

Inputs: Data Prep API mapping sets, the legacy form, stored sets with both vocabularies, a
bare list of entries, a hand-written config (JSON or YAML), or CSV; see `loader.py`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence

from cio_aep.errors import InputError, UsageError
from cio_aep.findings import Finding
from cio_aep.mapping import shapes
from cio_aep.mapping.checks import CheckOptions, check_mapping_set
from cio_aep.mapping.entries import to_mapping_set
from cio_aep.mapping.loader import load_mapping_set
from cio_aep.mapping.mandatory import MANDATORY_FIELDS, FieldStatus
from cio_aep.mapping.model import MappingEntry, MappingSet, ParsedMappings
from cio_aep.mapping.report import MappingReport
from cio_aep.mapping.rules import ALL_RULES, UNREADABLE_INPUT
from cio_aep.mapping.source_fields import customer_io_fields
from cio_aep.mapping.xdm_schema import XdmSchema, build_xdm_schema, load_xdm_schema

__all__ = [
    "ALL_RULES",
    "MANDATORY_FIELDS",
    "FieldStatus",
    "MappingEntry",
    "MappingReport",
    "MappingSet",
    "parse_targets",
    "validate_mapping",
    "validate_mapping_files",
]

PathOrData = str | os.PathLike[str] | Mapping[str, object] | Sequence[object]
Targets = Mapping[str, str] | Sequence[str]
SchemaArg = XdmSchema | str | os.PathLike[str] | Mapping[str, object]

_TARGET_EXAMPLE = "event_id=_tenant.customerio.event_id"


def _type_name(value: object) -> str:
    return "None" if value is None else type(value).__name__


def parse_targets(values: Iterable[str], *, option: str = "--target") -> dict[str, str]:
    """`["event_id=_tenant.eid"]` → `{"event_id": "_tenant.eid"}`; UsageError when malformed.

    `option` names the argument in messages (`--target` for the CLI, `targets` for the API).
    """
    if isinstance(values, (str, bytes)):
        raise UsageError(
            f"{option}: expected a list of FIELD=DESTINATION strings, not a single "
            f"{_type_name(values)}",
            hint=f'e.g. ["{_TARGET_EXAMPLE}"]',
        )
    targets: dict[str, str] = {}
    for value in values:
        if not isinstance(value, str):
            raise UsageError(
                f"{option}: expected FIELD=DESTINATION strings, not {_type_name(value)}",
                hint=f'e.g. "{_TARGET_EXAMPLE}"',
            )
        name, sep, destination = value.partition("=")
        name, destination = name.strip(), destination.strip()
        if not sep or not name or not destination:
            raise UsageError(
                f"{option} {value!r}: expected FIELD=DESTINATION, e.g. {option} {_TARGET_EXAMPLE}"
                if option == "--target"
                else f"{option} {value!r}: expected FIELD=DESTINATION, e.g. {_TARGET_EXAMPLE!r}"
            )
        _check_target_field(name, option)
        targets[name] = destination
    return targets


def _check_target_field(name: str, option: str = "--target") -> None:
    if name not in MANDATORY_FIELDS:
        raise UsageError(
            f"{option} {name}=...: {name!r} is not a mandatory field; choose one of: "
            + ", ".join(MANDATORY_FIELDS)
        )


def _targets(targets: object) -> dict[str, str]:
    """The API's `targets`: a dict {FIELD: DESTINATION} or a list of "FIELD=DESTINATION"."""
    if targets is None:
        return {}
    if isinstance(targets, Mapping):
        declared: dict[str, str] = {}
        for name, destination in targets.items():
            if not isinstance(name, str):
                raise UsageError(
                    f"targets: field names must be str, not {_type_name(name)}",
                    hint=f"choose from: {', '.join(MANDATORY_FIELDS)}",
                )
            _check_target_field(name, "targets")
            if not isinstance(destination, str):
                raise UsageError(
                    f"targets[{name!r}]: expected a destination path (str), not "
                    f"{_type_name(destination)}",
                    hint=f"e.g. {{{name!r}: '_tenant.customerio.{name}'}}",
                )
            if not destination.strip():
                raise UsageError(f"targets[{name!r}]: the destination is empty")
            declared[name] = destination.strip()
        return declared
    if isinstance(targets, Sequence) and not isinstance(targets, (str, bytes, bytearray)):
        return parse_targets(targets, option="targets")
    raise UsageError(
        f"targets: expected a dict {{FIELD: DESTINATION}} or a list of FIELD=DESTINATION "
        f"strings, not {_type_name(targets)}",
        hint=f'e.g. {{"event_id": "_tenant.customerio.event_id"}} or ["{_TARGET_EXAMPLE}"]',
    )


def _path(path: object, what: str) -> str:
    """A path argument as a str; UsageError when it is empty or not a path at all.

    `what` names the expected file: "a mapping file", "an XDM schema file".
    """
    name = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    if not isinstance(name, str):
        raise UsageError(
            f"expected the path of {what} (str or os.PathLike), not {_type_name(path)}"
        )
    if not name:
        raise UsageError(
            f"an empty path ('') is not {what}", hint="give the file's path, or - for stdin"
        )
    return name


def _schema(xdm_schema: object) -> XdmSchema | None:
    """None, an XdmSchema, a schema file's path, or a parsed schema document (a dict)."""
    if xdm_schema is None or isinstance(xdm_schema, XdmSchema):
        return xdm_schema
    if isinstance(xdm_schema, Mapping):
        return build_xdm_schema(dict(xdm_schema), "<data>")
    if isinstance(xdm_schema, (str, os.PathLike)):
        return load_xdm_schema(_path(xdm_schema, "an XDM schema file"))
    raise UsageError(
        "xdm_schema: expected a schema file's path, a parsed schema document (dict) or an "
        f"XdmSchema, not {_type_name(xdm_schema)}"
    )


def _refuse_unparsed(data: object) -> None:
    """UsageError for something that is not a path nor parsed mapping data."""
    if isinstance(data, (Mapping, str, os.PathLike)):
        return
    if isinstance(data, Sequence) and not isinstance(data, (bytes, bytearray, memoryview)):
        return
    if hasattr(data, "read"):
        what = f"a stream ({_type_name(data)}): streams and text are not read"
    elif isinstance(data, (bytes, bytearray, memoryview)):
        what = f"{_type_name(data)}: bytes and text are not read"
    else:
        what = _type_name(data)
    raise UsageError(
        "expected a mapping file's path or parsed mapping data (a dict or a list of entries), "
        f"not {what}",
        hint="pass the file's path (- for stdin), or the parsed data, e.g. json.load(stream)",
    )


def _from_data(data: Mapping[str, object] | Sequence[object]) -> MappingSet:
    """Mapping data already parsed (a dict or list, as json.load gives): no positions."""
    if isinstance(data, Mapping):
        if "mappings" not in data:
            raise shapes.no_mappings_error([str(k) for k in data], "<data>")
        mappings = data["mappings"]
        if isinstance(mappings, list):
            shape = shapes.list_shape(
                mappings, bare=False, has_output_schema="outputSchema" in data
            )
            return to_mapping_set(ParsedMappings("<data>", "data", shape, list(mappings)))
        if isinstance(mappings, Mapping):
            items: list[object] = [shapes.config_item(k, v) for k, v in mappings.items()]
            return to_mapping_set(
                ParsedMappings(
                    "<data>", "data", shapes.CONFIG_OBJECT_SHAPE, items, path_style="config"
                )
            )
        raise shapes.bad_mappings_error(mappings, "<data>", None, None)  # null too, as in files
    items = list(data)
    shape = shapes.list_shape(items, bare=True, has_output_schema=False)
    return to_mapping_set(ParsedMappings("<data>", "data", shape, items, path_style="bare"))


def validate_mapping(
    path_or_data: PathOrData,
    *,
    test_mode: bool = False,
    targets: Targets | None = None,
    xdm_schema: SchemaArg | None = None,
    strict: bool = False,
) -> MappingReport:
    """Check one mapping input: a path (`"-"` = stdin), or already-parsed data.

    `path_or_data`: a file's path, or the data `json.load` gives (a dict, or a list of
    entries); streams, bytes and text are not accepted (pass the path, or `json.load(f)`).
    `targets`: where mandatory fields are mapped under other names, as a dict
    `{"event_id": "_tenant.eid"}` or a list `["event_id=_tenant.eid"]` (as `--target`).
    `xdm_schema`: a schema file's path, a parsed schema document (dict) or an `XdmSchema`.

    Raises `UsageError` for an argument that cannot work (wrong type, empty path, unknown
    target field) and `InputError` for an input that cannot be read (exit 2 in the CLI);
    everything else is a finding in the returned report (`report.ok`, `report.findings`,
    `report.fields`).
    """
    _refuse_unparsed(path_or_data)
    declared = _targets(targets)  # argument mistakes fail before any input is read
    schema = _schema(xdm_schema)
    if isinstance(path_or_data, (str, os.PathLike)):
        mset = load_mapping_set(_path(path_or_data, "a mapping file"))
    else:
        mset = _from_data(path_or_data)
    return _validate_sets([mset], test_mode, declared, schema, strict)


def validate_mapping_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    test_mode: bool = False,
    targets: Targets | None = None,
    xdm_schema: SchemaArg | None = None,
    strict: bool = False,
) -> MappingReport:
    """Check several inputs, each a mapping set on its own, into one report.

    Arguments as for `validate_mapping`, but `paths` is a list of paths.
    """
    if isinstance(paths, (str, bytes, os.PathLike)) or not isinstance(paths, Sequence):
        raise UsageError(
            f"paths: expected a list of paths, not {_type_name(paths)}",
            hint="for one file: validate_mapping(path) or validate_mapping_files([path])",
        )
    names = [_path(p, "a mapping file") for p in paths]
    if not names:
        raise UsageError("paths: no mapping files given")
    declared = _targets(targets)
    schema = _schema(xdm_schema)  # a bad schema file fails before any input is read
    if len(names) == 1:
        return _validate_sets([load_mapping_set(names[0])], test_mode, declared, schema, strict)
    # Several files: one that cannot be read becomes a finding, the others are still checked
    # (a CI job still gets its SARIF with every other file's findings).
    sets: list[MappingSet] = []
    unreadable: list[InputError] = []
    for name in names:
        try:
            sets.append(load_mapping_set(name))
        except InputError as err:
            unreadable.append(err)
    report = _validate_sets(sets, test_mode, declared, schema, strict, several=True)
    for problem in unreadable:
        source = problem.source or "-"
        message = problem.message.split(": ", 1)[-1] if problem.source else problem.message
        report.files.append(source)
        report.add(
            Finding(
                UNREADABLE_INPUT,
                message,
                source,
                problem.line,
                problem.column,
                None,
                problem.hint,
                check=source,
            )
        )
        report.checks.append(source)
        report.checks_total += 1
    report.extra["unreadable"] = [problem.source for problem in unreadable]
    return report


def _validate_sets(
    sets: list[MappingSet],
    test_mode: bool,
    declared: dict[str, str],
    schema: XdmSchema | None,
    strict: bool,
    *,
    several: bool = False,
) -> MappingReport:
    options = CheckOptions(
        customer_io_fields(), test_mode=test_mode, targets=declared, schema=schema
    )
    report = MappingReport(strict=strict, test_mode=test_mode)
    for mset in sets:
        report.files.append(mset.file)
        report.mapping_sets.append(mset)
        options.label_prefix = f"{mset.file}: " if several or len(sets) > 1 else ""
        report.fields.extend(check_mapping_set(mset, options, report))
    report.extra = {
        "test_mode": test_mode,
        "targets": declared,
        "xdm_schema": options.schema.file if options.schema else None,
        "inputs": [
            {"file": s.file, "format": s.format, "shape": s.shape, "entries": len(s.items)}
            for s in sets
        ],
        "fields": [
            {
                "file": f.file,
                "field": f.field,
                "required": f.required,
                "mapped": f.mapped,
                "ok": f.ok,
                "how": f.how,
                "source": f.source,
                "destination": f.destination,
                "line": f.line,
            }
            for f in report.fields
        ],
    }
    return report
