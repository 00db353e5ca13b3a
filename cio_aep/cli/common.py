"""Small pieces every command shares: messages on stderr, writing data, report formats."""

from __future__ import annotations

import enum
import os
import sys
from pathlib import Path
from typing import Any

from cio_aep.errors import UsageError


class ReportFormat(str, enum.Enum):
    """Output formats of the validating commands (one reporter class each)."""

    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"
    junit = "junit"


def color_enabled(stream: object = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    target = stream if stream is not None else sys.stderr
    isatty = getattr(target, "isatty", None)
    return bool(isatty and isatty())


def info(message: str) -> None:
    """A message for the person at the terminal: stderr, so stdout stays data."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def warn(message: str) -> None:
    info(f"warning: {message}")


def write_data(text: str, output: Path | None = None, *, force: bool = False) -> None:
    """Write command output to stdout, or to `output` (refusing to overwrite unless `force`)."""
    if not text.endswith("\n"):
        text += "\n"
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    if output.is_dir():
        raise UsageError(f"{output}: is a directory; give a file name for --output")
    if output.exists() and not force:
        raise UsageError(f"{output}: already exists", hint="add --force to overwrite it")
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as err:
        raise UsageError(f"{output}: cannot write: {err.strerror}") from None
    info(f"wrote {output}")


class _AsTyped:
    """A parameter coercer that keeps the value the parser produced (str, bool, tuple of str)."""

    def coerce(self, value: Any, *, param: Any, ctx: Any) -> Any:
        if value is None:
            return [] if getattr(param, "multiple", False) else None
        return list(value) if isinstance(value, tuple) else value


_PLAIN_ANNOTATIONS: tuple[Any, ...] = (str, bool, list[str])


class PlainParamsMixin:
    """Mix into a TyperCommand/TyperGroup: text and flag parameters skip Typer's coercion.

    Typer 0.29 coerces every parameter that is not an already-parsed bool (the `--help` option
    included) through a pydantic TypeAdapter: importing pydantic and building adapters costs
    more start-up time than Typer itself. For `str`, `list[str]` and `bool` parameters that
    coercion changes nothing, so they keep the parsed value (callbacks still run).
    tests/test_startup_imports.py fails if a Typer release puts pydantic back on this path.
    """

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
            if annotation is bool and getattr(param, "envvar", None):
                continue  # "0"/"false" from the environment need real parsing
            # `_runtime_param` is Typer's lazily built coercer (typer/core.py); pre-set it.
            if annotation in _PLAIN_ANNOTATIONS and getattr(param, "_runtime_param", 0) is None:
                param._runtime_param = _AsTyped()
        return params
