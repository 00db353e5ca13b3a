"""Streams events from a file or stdin: one JSON object, a JSON array, or NDJSON.

Memory stays flat whatever the size: NDJSON is read line by line and arrays element by element.
A record that is not valid JSON comes back with `.error` set (the caller decides: report it,
dead-letter it); only a source that cannot be read at all raises `InputError`.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cio_aep.errors import InputError
from cio_aep.input_files import open_file
from cio_aep.json_limits import TOO_LONG

MAX_RECORD_BYTES = 8 * 1024 * 1024  # AEP takes 1 MB per request; 8 MiB leaves room to report it
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024  # a pretty-printed (non-streamable) document
_CHUNK = 1 << 16
_WS = " \t\r\n"
# `\ud800`-`\udfff` escapes: a cheap first look for lone surrogates, confirmed on the value.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _NotJson(ValueError):
    """Python's json takes NaN and Infinity; JSON (and AEP) does not."""


def _no_constant(name: str) -> Any:
    raise _NotJson(f"invalid JSON: {name} is not a JSON value (write a number or null)")


# Every decoder here refuses NaN/Infinity; parse_constant costs nothing on other input.
_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def _lone_surrogate(text: str, value: Any) -> str | None:
    """Why `value` cannot be sent as UTF-8 (a lone surrogate escape in a string), or None."""
    if "\\u" not in text or _SURROGATE_ESCAPE.search(text) is None:
        return None
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as err:
        code = ord(err.object[err.start])
        return f"invalid JSON: a lone surrogate \\u{code:04x} in a string, which UTF-8 cannot carry"
    return None


@dataclass(slots=True)
class ReadEvent:
    """One record as read: its text, and the parsed value or why it could not be parsed."""

    source: str
    line: int | None  # 1-based line where the record starts
    index: int  # 0-based position of the record in its source
    text: str
    value: Any = None
    error: str | None = None
    column: int | None = None  # 1-based, where the error was found on `line`, when known

    @property
    def ok(self) -> bool:
        return self.error is None


def _beyond_limits(err: Exception) -> str:
    """Why valid-looking JSON could not be decoded: too deep, or an integer too long.

    `json` raises RecursionError for deep nesting and ValueError for integers over Python's
    digit limit (`sys.get_int_max_str_digits`); both are hostile input, not crashes.
    """
    if isinstance(err, RecursionError):
        return "nested too deeply to read (events are a few levels deep)"
    if isinstance(err, _NotJson):
        return str(err)
    return TOO_LONG


def _read_some(stream: IO[bytes], size: int) -> bytes:
    """Up to `size` bytes, without waiting for more than is there (b"" at the end).

    `read(n)` on a pipe waits until n bytes arrive: `tail -f events.ndjson | cio-aep replay -`
    would sit on its first events. Files and pipes have `read1`; other streams read as usual.
    """
    read1 = getattr(stream, "read1", None)
    return read1(size) if read1 is not None else stream.read(size)


def _record(name: str, line: int | None, index: int, text: str, value: Any) -> ReadEvent:
    problem = _lone_surrogate(text, value)
    if problem is None:
        return ReadEvent(name, line, index, text, value)
    return ReadEvent(name, line, index, text, None, problem)


def display_name(source: str | Path) -> str:
    return "<stdin>" if str(source) == "-" else str(source)


def open_source(source: str | Path) -> IO[bytes]:
    """Open a file (or `-` for stdin) for binary reading, with one clear error when we can't."""
    if str(source) == "-":
        if sys.stdin is None:  # started with stdin closed (`<&-`)
            raise InputError("standard input is closed", source="<stdin>")
        # A reader of our own on a copy of fd 0, not sys.stdin.buffer: when Ctrl-C ends the
        # process while replay's reader thread waits in a read, the interpreter's shutdown
        # would otherwise find sys.stdin's lock held and abort ("Fatal Python error").
        try:
            fd = os.dup(sys.stdin.fileno())
        except (OSError, ValueError):  # not a real file (tests, embedding): read it as it is
            return sys.stdin.buffer
        return open(fd, "rb")  # closed by read_events
    return open_file(str(source), "a file of events")


def read_events(
    source: str | Path, *, max_record_bytes: int = MAX_RECORD_BYTES, empty_ok: bool = False
) -> Iterator[ReadEvent]:
    """Yield the events of `source` (a path or `-`) one at a time.

    An empty source is an InputError unless `empty_ok` (replay: a clean run's dead-letter
    file is empty, and replaying it must send nothing, not fail).
    """
    name = display_name(source)
    stream = open_source(source)
    try:
        yield from _read_stream(stream, name, max_record_bytes, empty_ok)
    except OSError as err:
        raise InputError(f"read failed: {err.strerror or err}", source=name) from None
    finally:
        if sys.stdin is None or stream is not sys.stdin.buffer:
            stream.close()


def _read_stream(
    stream: IO[bytes], name: str, limit: int, empty_ok: bool = False
) -> Iterator[ReadEvent]:
    head = _read_some(stream, _CHUNK)
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    if b"\x00" in head:
        hint = "UTF-16 text? save it as UTF-8" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else None
        raise InputError("binary data (NUL bytes), expected JSON or NDJSON", source=name, hint=hint)
    first = head.lstrip()
    while not first:
        more = _read_some(stream, _CHUNK)
        if not more:
            if empty_ok:
                return
            raise InputError("empty: no events in it", source=name)
        if b"\x00" in more:
            raise InputError("binary data (NUL bytes), expected JSON or NDJSON", source=name)
        head += more
        first = head.lstrip()
    if first[:1] == b"[":
        yield from _read_array(head, stream, name, limit)
    else:
        yield from _read_lines(head, stream, name, limit)


def _read_lines(head: bytes, stream: IO[bytes], name: str, limit: int) -> Iterator[ReadEvent]:
    """NDJSON (a single-line object is NDJSON of one); falls back to a pretty-printed document."""
    pending = head
    line_no = 0
    index = 0
    loads = _DECODER.decode
    while True:
        newline = pending.find(b"\n")
        if newline >= 0:
            raw, pending = pending[: newline + 1], pending[newline + 1 :]
        else:
            rest = stream.readline(limit + 1 - len(pending)) if len(pending) <= limit else b""
            raw, pending = pending + rest, b""
            if not raw:
                return
            if len(raw) > limit and not raw.endswith(b"\n"):
                raise InputError(
                    f"a single line is longer than {limit // (1024 * 1024)} MiB",
                    source=name,
                    line=line_no + 1,
                    hint="AEP accepts at most 1 MB per event; is this really NDJSON?",
                )
        line_no += 1
        if b"\x00" in raw:
            raise InputError("binary data (NUL bytes)", source=name, line=line_no)
        stripped = raw.strip()
        if not stripped:
            continue
        try:
            text = stripped.decode("utf-8")
        except UnicodeDecodeError as err:
            yield ReadEvent(name, line_no, index, stripped.decode("utf-8", "replace"), None,
                            f"invalid UTF-8 at byte {err.start + 1} of the line")  # fmt: skip
            index += 1
            continue
        try:
            value = loads(text)
        except json.JSONDecodeError as err:
            if index == 0 and line_no == _first_line(head) and err.pos >= len(text.rstrip()):
                # Not NDJSON: an object printed over several lines. Parse the whole document.
                yield from _read_document(raw + pending, stream, name, line_no)
                return
            # Columns count in the line as written, leading white space included.
            column = len(raw) - len(raw.lstrip()) + err.colno if err.lineno == 1 else None
            yield ReadEvent(name, line_no, index, text, None, f"invalid JSON: {err.msg}", column)
            index += 1
            continue
        except (RecursionError, ValueError) as err:
            yield ReadEvent(name, line_no, index, text, None, _beyond_limits(err))
            index += 1
            continue
        yield _record(name, line_no, index, text, value)
        index += 1


def _first_line(head: bytes) -> int:
    """1-based line of the first non-blank line in `head`."""
    stripped = head.lstrip()
    return head[: len(head) - len(stripped)].count(b"\n") + 1


def _read_document(
    start: bytes, stream: IO[bytes], name: str, first_line: int
) -> Iterator[ReadEvent]:
    """One or more pretty-printed JSON values (not streamable: read whole, with a size cap)."""
    data = start + stream.read(MAX_DOCUMENT_BYTES + 1 - len(start))
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InputError(
            "a pretty-printed document over 256 MiB", source=name, hint="use NDJSON or an array"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"invalid UTF-8 at byte {err.start + 1}", source=name) from None
    decoder = _DECODER
    pos, index, line = 0, 0, first_line
    while True:
        skipped = len(text) - pos - len(text[pos:].lstrip(_WS))
        line += text.count("\n", pos, pos + skipped)
        pos += skipped
        if pos >= len(text):
            return
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            line_at = first_line + err.lineno - 1
            raise InputError(
                f"invalid JSON: {err.msg}", source=name, line=line_at, column=err.colno
            ) from None
        except (RecursionError, ValueError) as err:
            raise InputError(_beyond_limits(err), source=name, line=line) from None
        record = text[pos:end]
        yield _record(name, line, index, record, value)
        line += text.count("\n", pos, end)
        pos, index = end, index + 1


def _read_array(head: bytes, stream: IO[bytes], name: str, limit: int) -> Iterator[ReadEvent]:
    """Elements of a top-level JSON array, decoded incrementally."""
    utf8 = codecs.getincrementaldecoder("utf-8")("strict")
    decoder = _DECODER
    consumed_bytes = 0

    def feed(chunk: bytes, final: bool = False) -> str:
        try:
            return utf8.decode(chunk, final)
        except UnicodeDecodeError as err:
            raise InputError(
                f"invalid UTF-8 near byte {consumed_bytes + err.start + 1}", source=name
            ) from None

    buf = feed(head)
    consumed_bytes += len(head)
    eof = False
    pos = buf.index("[") + 1
    line = 1 + buf.count("\n", 0, pos)
    index = 0
    expect_value = True  # after `[` or `,`
    read_size = _CHUNK

    def fail(message: str, at: int) -> InputError:
        col = at - (buf.rfind("\n", 0, at) + 1) + 1
        return InputError(message, source=name, line=line + buf.count("\n", pos, at), column=col)

    while True:
        # Skip white space, reading more as needed.
        while True:
            while pos < len(buf) and buf[pos] in _WS:
                if buf[pos] == "\n":
                    line += 1
                pos += 1
            if pos < len(buf) or eof:
                break
            chunk = _read_some(stream, _CHUNK)
            consumed_bytes += len(chunk)
            if not chunk:
                eof = True
                buf += feed(b"", final=True)
            else:
                buf = buf[pos:] + feed(chunk)
                pos = 0
        if pos >= len(buf):
            raise fail("the JSON array is not closed (missing `]`)", pos)
        char = buf[pos]
        if char == "]" and (expect_value is False or index == 0):
            pos += 1
            tail = buf[pos:].strip(_WS) or (_read_some(stream, _CHUNK).strip() if not eof else "")
            if tail:
                raise fail("unexpected data after the end of the JSON array", pos)
            return
        if not expect_value:
            if char != ",":
                raise fail(f"expected `,` or `]` between array elements, found {char!r}", pos)
            pos += 1
            expect_value = True
            continue
        # Decode one element; when it runs past the buffer, read more and try again.
        while True:
            try:
                value, end = decoder.raw_decode(buf, pos)
                if end < len(buf) or eof:
                    break
            except json.JSONDecodeError as err:
                if eof:
                    raise fail(f"invalid JSON: {err.msg}", err.pos) from None
            except (RecursionError, ValueError) as err:
                raise fail(_beyond_limits(err), pos) from None
            if len(buf) - pos > limit:
                raise fail(f"an array element is larger than {limit // (1024 * 1024)} MiB", pos)
            chunk = _read_some(stream, read_size)
            read_size = min(read_size * 2, 4 * 1024 * 1024)
            consumed_bytes += len(chunk)
            if not chunk:
                eof = True
                buf += feed(b"", final=True)
            else:
                buf += feed(chunk)
        read_size = _CHUNK
        text = buf[pos:end]
        yield _record(name, line, index, text, value)
        line += text.count("\n")
        index += 1
        pos = end
        expect_value = False
        if pos > (1 << 20):  # drop what was consumed, so memory stays flat
            buf, pos = buf[pos:], 0


__all__ = [
    "MAX_RECORD_BYTES", "ReadEvent", "display_name", "open_source", "read_events",
]  # fmt: skip

