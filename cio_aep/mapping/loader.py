"""Reading a mapping input (file or stdin) into a `MappingSet`: bytes, text, format, entries."""

from __future__ import annotations

import re
import sys
from pathlib import PurePath

from cio_aep.errors import InputError
from cio_aep.input_files import read_capped
from cio_aep.mapping.detect import YAML_SUFFIXES, detect_format
from cio_aep.mapping.entries import to_mapping_set
from cio_aep.mapping.model import MappingSet, ParsedMappings
from cio_aep.mapping.parse_csv import parse_csv
from cio_aep.mapping.parse_json import parse_json

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_BLANK = re.compile(r"\s*")


MAX_MAPPING_BYTES = 256 * 1024 * 1024  # far above any real mapping set; stops endless input


def _capped(data: bytes, name: str, what: str = "a mapping file") -> bytes:
    if len(data) > MAX_MAPPING_BYTES:
        raise InputError(
            f"larger than {MAX_MAPPING_BYTES // (1024 * 1024)} MiB: not {what}", source=name
        )
    return data


def read_bytes(name: str, what: str = "a mapping file") -> bytes:
    """The raw bytes of a file, or of stdin for `-`; InputError when there are none to read.

    `what` names the expected file in the error for a directory.
    """
    if name == "-":
        if sys.stdin is None:  # started with stdin closed (`<&-`)
            raise InputError("standard input is closed", source="-")
        stream = getattr(sys.stdin, "buffer", None)
        try:
            if stream is None:
                return _capped(sys.stdin.read(MAX_MAPPING_BYTES + 1).encode("utf-8"), "-", what)
            return _capped(stream.read(MAX_MAPPING_BYTES + 1), "-", what)
        except OSError as err:
            raise InputError(f"cannot read: {err.strerror or err}", source="-") from None
    return _capped(read_capped(name, MAX_MAPPING_BYTES, what), name, what)


def decode(data: bytes, name: str) -> str:
    """UTF-8 text (a BOM is dropped; UTF-16 with a BOM, as spreadsheets save, is accepted)."""
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError("invalid UTF-16 text", source=name) from None
    if b"\x00" in data:
        at = data.index(b"\x00")
        line = data.count(b"\n", 0, at) + 1
        raise InputError(
            "binary data (NUL bytes), expected JSON, YAML or CSV text",
            source=name,
            line=line,
            column=at - (data.rfind(b"\n", 0, at) + 1) + 1,
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        at = err.start
        line = data.count(b"\n", 0, at) + 1
        column = at - (data.rfind(b"\n", 0, at) + 1) + 1
        raise InputError(
            f"invalid UTF-8 (byte 0x{data[at]:02x})",
            source=name,
            line=line,
            column=column,
            hint="save the file as UTF-8",
        ) from None


def parse_text(text: str, name: str) -> ParsedMappings:
    """Detect the format of `text` and parse it."""
    if _BLANK.fullmatch(text):
        raise InputError("empty: no mappings in it", source=name)
    fmt = detect_format(text, name)
    if fmt == "csv":
        return parse_csv(text, name)
    if fmt == "json":
        try:
            return parse_json(text, name)
        except InputError:
            if PurePath(name).suffix.lower() not in YAML_SUFFIXES:
                raise
            # YAML flow style (`{mappings: ...}`) also starts with "{": read it as YAML.
    from cio_aep.mapping.parse_yaml import parse_yaml

    return parse_yaml(text, name)


def load_mapping_set(name: str) -> MappingSet:
    """Read, detect, parse and normalise one input (`-` = stdin)."""
    text = decode(read_bytes(name), name)
    return to_mapping_set(parse_text(text, name))
