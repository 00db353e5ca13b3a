"""ULIDs, as Customer.io uses them for `event_id` (26 Crockford base32 characters).

The first 10 characters are the creation time in milliseconds, the other 16 are 80 random bits.
"""

from __future__ import annotations

import re

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(CROCKFORD)}
# The first character carries only 3 bits (48-bit time), so it is 0-7.
ULID_RE = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")


def encode_ulid(time_ms: int, randomness: int) -> str:
    """The ULID for a millisecond time and an 80-bit random number."""
    if not 0 <= time_ms < 1 << 48:
        raise ValueError("ULID time out of range")
    value = (time_ms << 80) | (randomness & ((1 << 80) - 1))
    chars = []
    for _ in range(26):
        chars.append(CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_ulid(value: object) -> bool:
    """True for a canonical (upper-case) ULID string."""
    return isinstance(value, str) and len(value) == 26 and ULID_RE.fullmatch(value) is not None


def ulid_time_ms(value: str) -> int:
    """The millisecond time stored in a ULID (case-insensitive)."""
    result = 0
    for char in value[:10].upper():
        result = result * 32 + _DECODE[char]
    return result
