"""Validating Data Prep mapping sets for AEP's Customer.io source (`cio-aep validate-mapping`).

>>> report = validate_mapping("mapping.json", test_mode=False)   # doctest: +SKIP
>>> report.ok, [f.rule.id for f in report.findings]                # doctest: +SKIP

Inputs: Data Prep API mapping sets, the legacy form, stored sets with both vocabularies, a
bare list of entries, a hand-written config (JSON or YAML), or CSV; see `loader.py`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from cio_aep.errors import InputError, UsageError
from cio_aep.mapping import shapes
from cio_aep.mapping.checks import CheckOptions, check_mapping_set
from cio_aep.mapping.entries import to_mapping_set
from cio_aep.mapping.loader import load_mapping_set
from cio_aep.mapping.mandatory import MANDATORY_FIELDS, FieldStatus
from cio_aep.mapping.model import MappingEntry, MappingSet, ParsedMappings
from cio_aep.mapping.report import MappingReport
from cio_aep.mapping.rules import ALL_RULES
from cio_aep.mapping.source_fields import customer_io_fields
from cio_aep.mapping.xdm_schema import XdmSchema, load_xdm_schema

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


def parse_targets(values: Iterable[str]) -> dict[str, str]:
    """`["event_id=_tenant.eid"]` → `{"event_id": "_tenant.eid"}`; UsageError when malformed."""
    targets: dict[str, str] = {}
    for value in values:
        name, sep, destination = value.partition("=")
        name, destination = name.strip(), destination.strip()
        if not sep or not name or not destination:
            raise UsageError(
                f"--target {value!r}: expected FIELD=DESTINATION, e.g. "
                "--target event_id=_tenant.customerio.event_id"
            )
        _check_target_field(name)
        targets[name] = destination
    return targets


def _check_target_field(name: str) -> None:
    if name not in MANDATORY_FIELDS:
        raise UsageError(
            f"--target {name}=...: {name!r} is not a mandatory field; choose one of: "
            + ", ".join(MANDATORY_FIELDS)
        )


def _schema(xdm_schema: XdmSchema | str | os.PathLike[str] | None) -> XdmSchema | None:
    if xdm_schema is None or isinstance(xdm_schema, XdmSchema):
        return xdm_schema
    return load_xdm_schema(xdm_schema)


def _from_data(data: Mapping[str, object] | Sequence[object]) -> MappingSet:
    """Mapping data already parsed (a dict or list, as json.load gives): no positions."""
    if isinstance(data, Mapping):
        mappings = data.get("mappings")
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
        if mappings is None:
            raise shapes.no_mappings_error([str(k) for k in data], "<data>")
        raise shapes.bad_mappings_error(mappings, "<data>", None, None)
    if isinstance(data, (str, bytes)):
        raise InputError("expected a path, a mapping-set dict or a list of entries")
    items = list(data)
    shape = shapes.list_shape(items, bare=True, has_output_schema=False)
    return to_mapping_set(ParsedMappings("<data>", "data", shape, items, path_style="bare"))


def validate_mapping(
    path_or_data: PathOrData,
    *,
    test_mode: bool = False,
    targets: Mapping[str, str] | None = None,
    xdm_schema: XdmSchema | str | os.PathLike[str] | None = None,
    strict: bool = False,
) -> MappingReport:
    """Check one mapping input: a path (`"-"` = stdin), or already-parsed data.

    Raises `InputError` for an input that cannot be read (exit 2 in the CLI); everything else
    is a finding in the returned report (`report.ok`, `report.findings`, `report.fields`).
    """
    if isinstance(path_or_data, (str, os.PathLike)):
        return validate_mapping_files(
            [os.fspath(path_or_data)],
            test_mode=test_mode,
            targets=targets,
            xdm_schema=xdm_schema,
            strict=strict,
        )
    return _validate_sets([_from_data(path_or_data)], test_mode, targets, xdm_schema, strict)


def validate_mapping_files(
    paths: Sequence[str | Path],
    *,
    test_mode: bool = False,
    targets: Mapping[str, str] | None = None,
    xdm_schema: XdmSchema | str | os.PathLike[str] | None = None,
    strict: bool = False,
) -> MappingReport:
    """Check several inputs, each a mapping set on its own, into one report."""
    schema = _schema(xdm_schema)  # a bad schema file fails before any input is read
    sets = [load_mapping_set(os.fspath(p)) for p in paths]
    return _validate_sets(sets, test_mode, targets, schema, strict)


def _validate_sets(
    sets: list[MappingSet],
    test_mode: bool,
    targets: Mapping[str, str] | None,
    xdm_schema: XdmSchema | str | os.PathLike[str] | None,
    strict: bool,
) -> MappingReport:
    declared = dict(targets or {})
    for name in declared:
        _check_target_field(name)
    options = CheckOptions(
        customer_io_fields(), test_mode=test_mode, targets=declared, schema=_schema(xdm_schema)
    )
    report = MappingReport(strict=strict, test_mode=test_mode)
    for mset in sets:
        report.files.append(mset.file)
        report.mapping_sets.append(mset)
        options.label_prefix = f"{mset.file}: " if len(sets) > 1 else ""
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
