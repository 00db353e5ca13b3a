"""The seven fields AEP's Customer.io source needs mapped, and how each one was satisfied."""

from __future__ import annotations

from dataclasses import dataclass

MANDATORY_FIELDS = ("object_type", "id", "email", "event_id", "cio_id", "metric", "timestamp")
MANDATORY_SET = frozenset(MANDATORY_FIELDS)

# Where each field is in a Customer.io payload (DOMAIN.md §1).
CANONICAL_SOURCES = {
    "object_type": "object_type",
    "id": "data.identifiers.id",
    "email": "data.identifiers.email",
    "event_id": "event_id",
    "cio_id": "data.identifiers.cio_id",
    "metric": "metric",
    "timestamp": "timestamp",
}
CANONICAL_SET = frozenset(CANONICAL_SOURCES.values())
# Older fields with the same value: a warning (CIO-M015) says what each lacks.
ALTERNATE_SOURCES = {
    "id": frozenset({"data.customer_id"}),
    "email": frozenset({"data.email_address"}),
}

# How a field was satisfied.
BY_TARGET = "target"  # --target FIELD=DESTINATION, and a mapping writes DESTINATION
BY_SOURCE = "source"  # the canonical source path is mapped (ATTRIBUTE)
BY_EXPRESSION = "expression"  # a calculated field uses the canonical source path
BY_DESTINATION = "destination"  # a destination's last segment is the field's name


@dataclass(frozen=True)
class FieldStatus:
    """One mandatory field in one input: required or not, mapped or not, and by what."""

    file: str
    field: str
    required: bool  # False for cio_id in test mode
    mapped: bool
    how: str | None = None  # BY_* or None
    source: str | None = None
    destination: str | None = None
    line: int | None = None
    declared: str | None = None  # the --target destination, when one was given

    @property
    def ok(self) -> bool:
        return self.mapped == self.required

    def detail(self) -> str:
        """How it was satisfied, in words (the text checklist)."""
        where = f" (line {self.line})" if self.line is not None else ""
        if not self.mapped:
            if self.how is not None and self.source is not None:
                return f"not from the event: {self.source} → {self.destination}{where}"
            if not self.required:
                return "not mapped, as test mode needs"
            if self.declared is not None:
                return f"--target {self.field}={self.declared}, but no mapping writes it"
            return "not mapped"
        src = self.source if self.source is not None else "?"
        dest = self.destination if self.destination is not None else "?"
        text = {
            BY_TARGET: f"--target: {src} → {dest}",
            BY_SOURCE: f"by source: {src} → {dest}",
            BY_EXPRESSION: f"by expression using {CANONICAL_SOURCES[self.field]} → {dest}",
            BY_DESTINATION: f"by destination name: {src} → {dest}",
        }.get(self.how or "", f"{src} → {dest}")
        if not self.required:
            text += ": must not be mapped in test mode"
        return text + where
