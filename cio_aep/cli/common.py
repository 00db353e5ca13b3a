"""Small pieces every command shares: messages on stderr, writing data, report formats."""

from __future__ import annotations

import enum
import inspect
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand

from cio_aep.errors import UsageError
from cio_aep.signing import KEY_ENV


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


def github_masks(output: Path | str | None) -> list[str]:
    """Values for `::add-mask::` lines: the signing key, only on a GitHub Actions runner's
    stdout. The runner then shows `***` should a later step print the key; anywhere else (a
    terminal, an `--output` file) the line would only write the key down."""
    if output not in (None, "-") or os.environ.get("GITHUB_ACTIONS") != "true":
        return []
    key = os.environ.get(KEY_ENV, "").strip()
    return [key] if key else []


def check_stdin_once(names: list[str], what: str = "") -> None:
    """UsageError when `-` (stdin) is named more than once: it can be read only once."""
    if names.count("-") > 1:
        raise UsageError(f"'-' (stdin) can be given only once{what}")


def check_output_is_not_an_input(output: Path | str | None, inputs: list[str]) -> None:
    """UsageError when --output names one of the inputs: --force would replace it with the
    report (checked before anything is read, so the message comes first)."""
    if output is None or str(output) == "-":
        return
    target = Path(output)
    for name in inputs:
        if name == "-":
            continue
        try:
            same = target.exists() and target.samefile(name)
        except OSError:
            same = False
        if same:
            raise UsageError(
                f"--output {output} is also an input: the report would replace it",
                hint="write the report to another file",
            )


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
    """A parameter coercer that converts the parsed text as Typer would, without pydantic.

    `convert` turns one parsed value into the typed one, or raises ValueError with a message
    that Typer shows as "Invalid value for '--flag': <message>". None keeps the value as parsed
    (str, bool, tuple of str).
    """

    def __init__(self, convert: Callable[[Any], Any] | None = None) -> None:
        self._convert = convert

    def coerce(self, value: Any, *, param: Any, ctx: Any) -> Any:
        if value is None:
            return [] if getattr(param, "multiple", False) else None
        convert = self._convert
        try:
            if isinstance(value, tuple):
                return [convert(v) for v in value] if convert else list(value)
            return convert(value) if convert else value
        except ValueError as err:
            raise typer.BadParameter(str(err), ctx=ctx, param=param) from None


_PLAIN_ANNOTATIONS: tuple[Any, ...] = (str, bool, list[str])
# Typer's defaults for a Path parameter: no existence or kind check, so Path(text) is all it does.
_PLAIN_PATH = {
    "exists": False,
    "file_okay": True,
    "dir_okay": True,
    "writable": False,
    "readable": True,
    "resolve_path": False,
    "allow_dash": False,
    "path_type": None,
}


def _ranged(kind: type, info: Any) -> Callable[[Any], Any]:
    low, high, clamp = info.min, info.max, info.clamp
    what = "a whole number" if kind is int else "a number"

    def convert(value: Any) -> Any:
        if isinstance(value, kind) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = kind(value)
            except (TypeError, ValueError):
                raise ValueError(f"{value!r} is not {what}") from None
            if kind is float and not math.isfinite(number):
                raise ValueError(f"{value!r} is not a finite number")
        if low is not None and number < low:
            if not clamp:
                raise ValueError(f"{number} is below the minimum, {low}")
            number = kind(low)
        if high is not None and number > high:
            if not clamp:
                raise ValueError(f"{number} is above the maximum, {high}")
            number = kind(high)
        return number

    return convert


def _choice(kind: type[enum.Enum], case_sensitive: bool) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, kind):
            return value
        for member in kind:
            if member.value == value or (
                not case_sensitive and str(member.value).lower() == str(value).lower()
            ):
                return member
        names = ", ".join(repr(member.value) for member in kind)
        raise ValueError(f"{value!r} is not one of {names}")

    return convert


def _coercer(descriptor: Any) -> _AsTyped | None:
    """A coercer without pydantic for this parameter; None when it needs Typer's own."""
    annotation = descriptor.annotation
    info = descriptor.parameter_info
    if annotation in _PLAIN_ANNOTATIONS:
        return _AsTyped()
    if annotation in (int, float):
        return _AsTyped(_ranged(annotation, info))
    if annotation is Path and all(
        getattr(info, name, default) == default for name, default in _PLAIN_PATH.items()
    ):
        return _AsTyped(lambda value: value if isinstance(value, Path) else Path(value))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _AsTyped(_choice(annotation, bool(getattr(info, "case_sensitive", True))))
    return None


class PlainParamsMixin:
    """Mix into a TyperCommand/TyperGroup: parameters are coerced without pydantic.

    Typer 0.29 coerces every parameter that is not an already-parsed bool (the `--help` option
    included) through a pydantic TypeAdapter: importing pydantic and building adapters costs
    more start-up time than Typer itself. Text, flags, numbers (with their min/max), plain
    paths and enum choices need none of it: they get a small converter here, with the same
    "Invalid value for '--flag'" errors. Anything else keeps Typer's own coercion.
    tests/test_startup_imports.py fails if a Typer release puts pydantic back on this path.
    """

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            descriptor = getattr(param, "type_descriptor", None)
            # `_runtime_param` is Typer's lazily built coercer (typer/core.py); pre-set it.
            if descriptor is None or getattr(param, "_runtime_param", 0) is not None:
                continue
            if descriptor.annotation is bool and getattr(param, "envvar", None):
                continue  # "0"/"false" from the environment need real parsing
            coercer = _coercer(descriptor)
            if coercer is not None:
                param._runtime_param = coercer
        return params


def reflow_help(text: str) -> str:
    """Join the lines of each help paragraph, so that Rich wraps it to the terminal's width.

    Typer 0.29 keeps a docstring's line breaks after the first paragraph: wrapped again at 80
    columns, they leave ragged half-lines. Indented paragraphs (examples) stay as written.
    """
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(
        p if p.startswith(("\b", " ")) or "\n " in p else " ".join(p.split("\n"))
        for p in paragraphs
    )


class PlainCommand(PlainParamsMixin, TyperCommand):
    """A command whose parameters are coerced without pydantic (see the mixin), and whose help
    paragraphs are reflowed to the terminal's width."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if isinstance(kwargs.get("help"), str):
            kwargs["help"] = reflow_help(kwargs["help"])
        super().__init__(*args, **kwargs)
