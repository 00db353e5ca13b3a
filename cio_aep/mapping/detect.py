"""Which parser an input needs: decided from its content, with the extension as a tie-breaker."""

from __future__ import annotations

import re
from pathlib import PurePath

from cio_aep.mapping.parse_csv import header_delimiter

YAML_SUFFIXES = frozenset({".yaml", ".yml"})
_LEADING_SPACE = re.compile(r"\s*")


def detect_format(text: str, name: str = "-") -> str:
    """ "json", "yaml" or "csv" for a mapping document's text.

    JSON starts with `{` or `[`; CSV has a first line naming a source and a destination
    column; anything else is YAML (whose flow style can also start with `{`: a `.yaml`
    file that is not valid JSON is re-read as YAML by the loader).
    """
    suffix = PurePath(name).suffix.lower() if name not in ("", "-") else ""
    start = _LEADING_SPACE.match(text).end()  # type: ignore[union-attr]
    if text[start : start + 1] in ("{", "["):
        return "json"
    if suffix == ".json":
        return "json"  # the JSON parser then says precisely what is wrong
    end = text.find("\n", start)
    first_line = text[start : end if end >= 0 else len(text)].rstrip("\r")
    if header_delimiter(first_line) is not None or suffix in (".csv", ".tsv"):
        return "csv"
    return "yaml"
