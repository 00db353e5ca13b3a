"""Which parser an input needs: decided from its content, with the extension as a tie-breaker."""

from __future__ import annotations

from pathlib import PurePath

from cio_aep.mapping.parse_csv import header_delimiter

YAML_SUFFIXES = frozenset({".yaml", ".yml"})


def detect_format(text: str, name: str = "-") -> str:
    """ "json", "yaml" or "csv" for a mapping document's text.

    JSON starts with `{` or `[`; CSV has a first line naming a source and a destination
    column; anything else is YAML (whose flow style can also start with `{`: a `.yaml`
    file that is not valid JSON is re-read as YAML by the loader).
    """
    suffix = PurePath(name).suffix.lower() if name not in ("", "-") else ""
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        return "json"
    if suffix == ".json":
        return "json"  # the JSON parser then says precisely what is wrong
    first_line = stripped.split("\n", 1)[0].rstrip("\r")
    if header_delimiter(first_line) is not None or suffix in (".csv", ".tsv"):
        return "csv"
    return "yaml"
