"""The source paths Customer.io payloads carry (from the event catalog), with "did you mean"."""

from __future__ import annotations

import difflib
from functools import lru_cache

from cio_aep.mapping.paths import normalise, without_indexes

# difflib costs ~1 ms a call: past this many distinct unknown paths, stop suggesting.
_MAX_SUGGESTIONS = 500


class SourceFields:
    """Lookup of (normalised) source paths → JSON type names."""

    def __init__(self, fields: dict[str, frozenset[str]]) -> None:
        self.types = dict(fields)
        self._unindexed = {without_indexes(p): p for p in fields}
        # Objects whose members the catalog does not list (e.g. data.headers): anything below
        # them may exist, so it is not reported as unknown.
        self._open = tuple(
            p + "."
            for p, t in fields.items()
            if "object" in t and not any(q.startswith((p + ".", p + "[")) for q in fields)
        )
        self._choices = tuple(fields)
        self._suggestions: dict[str, str | None] = {}

    def lookup(self, path: str) -> frozenset[str] | None:
        """The JSON types at `path`, an empty set when it lies below an open object, else None."""
        key = normalise(path)
        found = self.types.get(key)
        if found is not None:
            return found
        alias = self._unindexed.get(without_indexes(key))
        if alias is not None:
            return self.types[alias]
        if self._open and key.startswith(self._open):
            return frozenset()
        return None

    def suggest(self, path: str) -> str | None:
        """The closest known path, for "did you mean"."""
        key = normalise(path)
        if key in self._suggestions:
            return self._suggestions[key]
        if len(self._suggestions) >= _MAX_SUGGESTIONS:
            return None
        found = self._suggestions[key] = _closest(key, self._choices)
        return found


def _closest(path: str, choices: tuple[str, ...]) -> str | None:
    lowered = {c.lower(): c for c in choices}
    if path.lower() in lowered:
        return lowered[path.lower()]
    found = difflib.get_close_matches(path, choices, n=1, cutoff=0.6)
    if found:
        return found[0]
    # A bare field name (`email`) → the path that ends in it (`data.identifiers.email`).
    ends = [c for c in choices if c.rpartition(".")[2] == path.rpartition(".")[2]]
    return ends[0] if ends else None


@lru_cache(maxsize=1)
def customer_io_fields() -> SourceFields:
    """The paths of every AEP-supported Customer.io event (cio_aep.catalog)."""
    from cio_aep.catalog import CATALOG

    return SourceFields(CATALOG.source_fields())
