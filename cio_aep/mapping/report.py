"""`MappingReport`: the shared `Report`, plus what validate-mapping learnt about each input."""

from __future__ import annotations

from dataclasses import dataclass, field

from cio_aep.findings import Report
from cio_aep.mapping.mandatory import FieldStatus
from cio_aep.mapping.model import MappingSet


@dataclass
class MappingReport(Report):
    """Findings, the seven-field checklist and junit checks, with the inputs and field states.

    Render it with `cio_aep.reporters.render_report(report, fmt)`.
    """

    command: str = "validate-mapping"
    fields: list[FieldStatus] = field(default_factory=list)
    mapping_sets: list[MappingSet] = field(default_factory=list)
    test_mode: bool = False

    def field_status(self, name: str, file: str | None = None) -> FieldStatus | None:
        """The state of one mandatory field (of the first input, unless `file` is given)."""
        for status in self.fields:
            if status.field == name and (file is None or status.file == file):
                return status
        return None
