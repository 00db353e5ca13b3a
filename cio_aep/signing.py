"""Customer.io webhook signing (DOMAIN.md §2), and the signing key kept out of every output.

`X-CIO-Signature` = lowercase hex HMAC-SHA256, key = signing key (UTF-8),
message = b"v0:" + X-CIO-Timestamp + b":" + the exact body bytes sent.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from cio_aep.errors import InputError

SIGNATURE_HEADER = "X-CIO-Signature"
TIMESTAMP_HEADER = "X-CIO-Timestamp"
KEY_ENV = "CIO_SIGNING_KEY"


class SigningKey:
    """A webhook signing key that never prints itself: repr/str/format show `<hidden>`."""

    __slots__ = ("_secret",)

    def __init__(self, secret: str | bytes) -> None:
        self._secret = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)

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


def _key_bytes(key: SigningKey | str | bytes) -> bytes:
    if isinstance(key, SigningKey):
        return key.reveal()
    return key.encode("utf-8") if isinstance(key, str) else key


def sign_body(key: SigningKey | str | bytes, timestamp: str | int, body: bytes) -> str:
    """Signature of `body` as Customer.io computes it, for the `X-CIO-Timestamp` `timestamp`."""
    message = b"v0:" + str(timestamp).encode("ascii") + b":" + body
    return hmac.new(_key_bytes(key), message, hashlib.sha256).hexdigest()


def verify_signature(
    key: SigningKey | str | bytes, timestamp: str, body: bytes, signature: str
) -> bool:
    """True when `signature` matches the raw `body` bytes; compared in constant time."""
    if not (timestamp.isascii() and signature.isascii()):
        return False  # header bytes from anyone: not something to encode and crash on
    expected = sign_body(key, timestamp, body)
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().lower().encode())


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
        path = Path(key_file)
        try:
            info = path.stat()
            if stat.S_ISDIR(info.st_mode):
                raise InputError(
                    "is a directory, expected a file holding the key", source=str(path)
                )
            if warn is not None and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                warn(f"{path} is readable by other users; restrict it with: chmod 600 {path}")
            with path.open("rb") as handle:  # bounded: /dev/zero must not fill memory
                secret = handle.read(_MAX_KEY_FILE + 1)
        except FileNotFoundError:
            raise InputError("no such file (signing key)", source=str(path)) from None
        except PermissionError:
            raise InputError("permission denied (signing key)", source=str(path)) from None
        except OSError as err:
            raise InputError(f"cannot read signing key: {err.strerror}", source=str(path)) from None
        return SigningKey(_key_text(secret, str(path)))
    value = env.get(KEY_ENV, "")
    if not value.strip():
        return None
    # os.environ holds undecodable bytes as surrogates; give them back to _key_text as bytes.
    return SigningKey(_key_text(value.encode("utf-8", "surrogateescape"), KEY_ENV))
