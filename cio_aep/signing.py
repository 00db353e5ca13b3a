"""Customer.io webhook signing (DOMAIN.md §2), and the signing key kept out of every output.

`X-CIO-Signature` = lowercase hex HMAC-SHA256, key = signing key (UTF-8),
message = b"v0:" + X-CIO-Timestamp + b":" + the exact body bytes sent.

`sign_body` and `verify_signature` check their arguments once per call: a key that is empty
or not text/bytes, or a body that is neither bytes nor str, is a `UsageError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import stat
import time
from collections.abc import Callable
from pathlib import Path

from cio_aep.errors import InputError, UsageError
from cio_aep.input_files import read_capped

SIGNATURE_HEADER = "X-CIO-Signature"
TIMESTAMP_HEADER = "X-CIO-Timestamp"
KEY_ENV = "CIO_SIGNING_KEY"


class SigningKey:
    """A webhook signing key that never prints itself: repr/str/format show `<hidden>`."""

    __slots__ = ("_secret",)

    def __init__(self, secret: str | bytes) -> None:
        self._secret = _secret_bytes(secret)

    def reveal(self) -> bytes:
        """The raw key bytes, for HMAC only. Never log or print them."""
        return self._secret

    def __repr__(self) -> str:
        return "SigningKey(<hidden>)"

    def __str__(self) -> str:
        return "<hidden>"

    def __format__(self, spec: str) -> str:
        return "<hidden>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SigningKey) and hmac.compare_digest(self._secret, other._secret)

    def __hash__(self) -> int:
        return hash(SigningKey)


_BytesLike = (bytes, bytearray, memoryview)


def _type_name(value: object) -> str:
    return "None" if value is None else type(value).__name__


def _secret_bytes(secret: object) -> bytes:
    """The key as bytes; UsageError (never quoting the key) when it cannot be one."""
    if isinstance(secret, str):
        try:
            raw = secret.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError("the signing key is not valid Unicode text") from None
    elif isinstance(secret, _BytesLike):
        raw = bytes(secret)
    else:
        raise UsageError(
            f"the signing key must be text (str) or bytes, not {_type_name(secret)}",
            hint="copy the key from the webhook's settings in Customer.io",
        )
    if not raw:
        raise UsageError(
            "the signing key is empty",
            hint="copy the key from the webhook's settings in Customer.io",
        )
    return raw


def _key_bytes(key: object) -> bytes:
    if isinstance(key, SigningKey):
        return key.reveal()
    return _secret_bytes(key)


def _body_bytes(body: object) -> bytes | bytearray | memoryview:
    if isinstance(body, _BytesLike):
        return body
    if isinstance(body, str):
        try:
            return body.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no bytes could ever be sent for it
            raise UsageError(
                "the body is not valid Unicode text (it holds a lone surrogate)",
                hint="pass the exact bytes sent",
            ) from None
    raise UsageError(f"the body must be bytes (or str, sent as UTF-8), not {_type_name(body)}")


def _timestamp_text(timestamp: object) -> str | None:
    """The timestamp as ASCII text, or None when it cannot be one (not int/str/bytes, not ASCII).

    bool is refused although it is an int: `True` is no time.
    """
    if isinstance(timestamp, str):
        return timestamp if timestamp.isascii() else None
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        return str(timestamp)
    if isinstance(timestamp, _BytesLike):
        raw = bytes(timestamp)
        return raw.decode("ascii") if raw.isascii() else None
    return None


def _signature(key_bytes: bytes, timestamp: str, body: bytes | bytearray | memoryview) -> str:
    message = b"v0:" + timestamp.encode("ascii") + b":" + body
    return hmac.new(key_bytes, message, hashlib.sha256).hexdigest()


def sign_body(
    key: SigningKey | str | bytes, timestamp: str | int | bytes, body: bytes | str
) -> str:
    """Signature of `body` as Customer.io computes it, for the `X-CIO-Timestamp` `timestamp`.

    `timestamp`: Unix seconds, as an int or as the header's ASCII text (str or bytes).
    `body`: bytes, preferably: the signature covers the exact bytes sent, so sign the very
    bytes you send. A str is signed as its UTF-8 encoding (send it encoded the same way).
    UsageError for an empty key, or an argument of another type.
    """
    key_bytes = _key_bytes(key)
    data = _body_bytes(body)
    text = _timestamp_text(timestamp)
    if text is None:
        if isinstance(timestamp, (str, *_BytesLike)):
            raise UsageError(
                "the timestamp is not ASCII text; expected Unix seconds, e.g. 1613063089"
            )
        raise UsageError(
            "the timestamp must be Unix seconds as an int or str (e.g. 1613063089), "
            f"not {_type_name(timestamp)}"
        )
    return _signature(key_bytes, text, data)


def verify_signature(
    key: SigningKey | str | bytes,
    timestamp: str | int | bytes,
    body: bytes | str,
    signature: str | bytes,
) -> bool:
    """True when `signature` matches `body` for `timestamp`; compared in constant time.

    `timestamp` and `signature` may be passed straight from request headers (str or bytes):
    a value that is missing (None), of another type or not ASCII is simply not a match
    (False). `body` should be the raw bytes received; a str is taken as its UTF-8 encoding.
    UsageError for an empty key, or a key or body of another type (a caller's mistake).
    """
    key_bytes = _key_bytes(key)
    data = _body_bytes(body)
    text = _timestamp_text(timestamp)
    if isinstance(signature, str):
        given = signature.encode("ascii") if signature.isascii() else None
    elif isinstance(signature, _BytesLike):
        given = bytes(signature)
        given = given if given.isascii() else None
    else:
        given = None
    if text is None or given is None:
        return False  # header values from anyone: not something to encode and crash on
    expected = _signature(key_bytes, text, data)
    return hmac.compare_digest(expected.encode("ascii"), given.strip().lower())


def signed_headers(
    key: SigningKey | None, body: bytes, *, clock: Callable[[], float] = time.time
) -> dict[str, str]:
    """Headers of one delivery: JSON content type, and with a key the timestamp and signature.

    The timestamp is the send time (not the event time), so each retry is signed afresh.
    """
    headers = {"Content-Type": "application/json"}
    if key is not None:
        ts = str(int(clock()))
        headers[TIMESTAMP_HEADER] = ts
        headers[SIGNATURE_HEADER] = sign_body(key, ts, body)
    return headers


_MAX_KEY_FILE = 64 * 1024
# `CIO_SIGNING_KEY=...`, `export KEY=...`, `secret = ...`: a .env line, not a key. Only names
# that say key/secret/token (or `export`), so that a base64 key ending in `=` still passes.
_ASSIGNMENT = re.compile(
    r"(?:export\s+\w+|\w*(?:key|secret|token)\w*)\s*[=:]\s*\S", re.IGNORECASE
)


def _key_text(data: bytes, source: str) -> str:
    """The key in a key file or CIO_SIGNING_KEY: UTF-8 text on one line, as Customer.io shows it.

    Messages never quote the file's content: it may be a secret after all.
    """
    if len(data) > _MAX_KEY_FILE:
        raise InputError("over 64 KiB: not a signing key", source=source)
    try:
        text = data.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise InputError(
            "not UTF-8 text: not a signing key", source=source,
            hint="copy the key again from the webhook's settings in Customer.io",
        ) from None  # fmt: skip
    if not text:
        raise InputError("the signing key is empty", source=source)
    if _ASSIGNMENT.match(text):
        raise InputError(
            "the signing key looks like a NAME=value line (a .env file?), not the key alone",
            source=source,
            hint="keep only the value, as shown in Customer.io",
        )
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise InputError(
            "the signing key holds more than one line or control characters",
            source=source,
            hint="give the key alone, as shown in Customer.io",
        )
    return text


def load_signing_key(
    key_file: Path | None,
    *,
    environ: dict[str, str] | None = None,
    warn: Callable[[str], None] | None = None,
) -> SigningKey | None:
    """The key from `key_file` (`-` is not allowed: stdin carries data) or `CIO_SIGNING_KEY`.

    A file readable by group or others gets a warning; surrounding whitespace is stripped.
    """
    env = os.environ if environ is None else environ
    if key_file is not None:
        if str(key_file) == "-":
            raise UsageError(
                "--signing-key-file needs a file: '-' (stdin) is not read for a key",
                hint="give the file, or set CIO_SIGNING_KEY",
            )
        name = str(key_file)
        secret = read_capped(name, _MAX_KEY_FILE, "a file holding the key")
        with contextlib.suppress(OSError):  # read above: only the warning is at stake here
            if warn is not None and os.stat(name).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                warn(f"{name} is readable by others (group or all); restrict it: chmod 600 {name}")
        return SigningKey(_key_text(secret, name))
    value = env.get(KEY_ENV, "")
    if not value.strip():
        return None
    # os.environ holds undecodable bytes as surrogates; give them back to _key_text as bytes.
    return SigningKey(_key_text(value.encode("utf-8", "surrogateescape"), KEY_ENV))
