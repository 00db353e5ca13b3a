"""Field references inside Data Prep calculated fields (EXPRESSION sources).

Data Prep's rules (Adobe, "Data Prep mapping functions"): a field name is an identifier
(letters, digits, `$`, `_`; not starting with a digit); other names, and names that are
reserved keywords, are wrapped in `${...}`, where `\\.` is a literal dot; sub-fields use dots.
An identifier followed by `(` is a function, not a field. Text in quotes is a literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_EXPRESSION_LENGTH = 4096

# Documented as reserved: as bare words they are operators or literals, never fields.
_RESERVED = "new mod or break var lt for false while eq gt div not null continue else and ne true"
RESERVED_WORDS = frozenset(
    (_RESERVED + " le if ge return _errors do function empty size").split(" ")
)

_TOKEN = re.compile(
    r"""
    (?P<string>"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?)
    | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)
    | (?P<path>
        (?:\$\{[^}]*\}|[^\W\d][\w$]*|\$[\w$]*)
        (?:\s*\[\s*(?:\d+|\*)\s*\]|\.(?:\$\{[^}]*\}|[^\W\d][\w$]*|\$[\w$]*))*
      )
    | (?P<other>\S)
    """,
    re.VERBOSE | re.DOTALL,
)
_SEGMENT = re.compile(r"\$\{([^}]*)\}|([^\W\d][\w$]*|\$[\w$]*)|\[\s*(\d+|\*)\s*\]")
_SPACE = re.compile(r"\s*")


_STRING = re.compile(r"""\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'""", re.DOTALL)
_CLOSERS = {")": "(", "]": "[", "}": "{"}


def syntax_problem(expression: str) -> tuple[str, int] | None:
    """The first structural mistake in an expression (what, character offset), or None.

    Only what any expression language rejects: a string or `${` left open, and brackets that
    do not pair up. Function names and operators are Data Prep's business, not checked here.
    """
    opened: list[tuple[str, int]] = []
    for match in _TOKEN.finditer(expression):
        kind, token, at = match.lastgroup, match.group(), match.start()
        if kind == "string":
            if _STRING.fullmatch(token) is None:
                return f"the string starting with {token[0]} is not closed", at
        elif kind == "path" and token == "$" and expression.startswith("${", at):
            return "`${` is not closed with `}`", at
        elif kind == "other" and token in "([{":
            opened.append((token, at))
        elif kind == "other" and token in ")]}":
            if not opened or opened[-1][0] != _CLOSERS[token]:
                return f"`{token}` closes nothing", at
            opened.pop()
    if opened:
        token, at = opened[-1]
        return f"`{token}` is not closed", at
    return None


@dataclass(frozen=True)
class FieldReference:
    """A field named in an expression: its path in mapping notation, and where it starts."""

    path: str  # e.g. "data.identifiers.id", "data.recipients[*].device_id"
    offset: int  # character offset in the expression
    text: str  # as written, e.g. "${timestamp}"


def field_references(expression: str) -> list[FieldReference]:
    """Every field reference in `expression`, in order (functions, keywords, literals skipped)."""
    found: list[FieldReference] = []
    previous = ""
    for match in _TOKEN.finditer(expression):
        kind = match.lastgroup
        token = match.group()
        if kind == "path":
            after = _SPACE.match(expression, match.end()).end()  # type: ignore[union-attr]
            is_call = expression.startswith("(", after)
            # `x.method()` or `).field`: a member of a value, not a field of the event.
            if not is_call and previous != "." and not _is_reserved(token):
                found.append(FieldReference(_to_path(token), match.start(), token))
        previous = token if kind == "other" else ""
    return found


def _is_reserved(token: str) -> bool:
    return not token.startswith("$") and token in RESERVED_WORDS


def _to_path(token: str) -> str:
    parts: list[str] = []
    for seg in _SEGMENT.finditer(token):
        quoted, name, index = seg.groups()
        if index is not None:
            if parts:
                parts[-1] += f"[{index}]"
            continue
        if quoted is not None:
            # `${data.identifiers.id}` is a path; `\.` inside stays a literal dot.
            parts.append(quoted.strip())
        else:
            parts.append(name)
    return ".".join(parts)


_DFORMAT = re.compile(r"\bdformat\s*\(")
# `timestamp * 1000` in any of its spellings, once spaces are gone and ${timestamp} unquoted.
_WRAPPED = re.compile(r"[A-Za-z_]\w*\(+timestamp\)+")  # e.g. to_integer(timestamp)
_TIMES_1000 = re.compile(r"\(*timestamp\)*\*1000(?:\.0*)?|1000(?:\.0*)?\*\(*timestamp\)*")


def dformat_timestamp_argument(expression: str) -> str | None:
    """The first argument of a `dformat(...)` that uses `timestamp` other than times 1000.

    Customer.io's timestamp is seconds and dformat() takes milliseconds, so anything but
    `timestamp * 1000` (bare, divided, times a million) gives wrong dates. None when fine.
    """
    for call in _DFORMAT.finditer(expression):
        argument = _first_argument(expression, call.end())
        uses = any(ref.path == "timestamp" for ref in field_references(argument))
        if not uses:
            continue
        compact = re.sub(r"\s+", "", re.sub(r"\$\{\s*timestamp\s*\}", "timestamp", argument))
        # A function of the field alone (a type conversion) keeps its unit: fine times 1000.
        compact = _WRAPPED.sub("timestamp", compact)
        if _TIMES_1000.fullmatch(compact) is None:
            return argument.strip()
    return None


def is_dformat_call(expression: str) -> bool:
    """True when the whole expression is one `dformat(...)` call (its value is text)."""
    text = expression.strip()
    call = _DFORMAT.match(text)
    return call is not None and _call_bounds(text, call.end())[1] == len(text)


def _first_argument(expression: str, start: int) -> str:
    """The text of a call's first argument, from just after its `(` to the `,` or `)`."""
    return expression[start : _call_bounds(expression, start)[0]]


def _call_bounds(expression: str, start: int) -> tuple[int, int | None]:
    """For a call whose `(` ends just before `start`: where its first argument ends, and
    where the call ends (after its `)`; None if it is never closed)."""
    depth = 0
    first_end: int | None = None
    for match in _TOKEN.finditer(expression, start):
        token = match.group()
        if match.lastgroup != "other":
            continue
        if token in "([{":
            depth += 1
        elif token in ")]}" and depth:
            depth -= 1
        elif token in ",)" and first_end is None:
            first_end = match.start()
            if token == ")":
                return first_end, match.end()
        elif token == ")":
            return first_end if first_end is not None else match.start(), match.end()
    return (first_end if first_end is not None else len(expression)), None
