"""When to try a delivery again, and how long to wait: a pure policy, no clock, no sleep.

Retried: connection errors and timeouts, 429 and 5xx. Never another 4xx: the same bytes would
be refused again. Waits are exponential backoff with full jitter (a random wait between 0 and
`base * 2**(attempt-1)`, capped), so that many senders retrying at once spread out; a
`Retry-After` answer is honoured (seconds or an HTTP-date), up to `max_retry_after`.
"""

from __future__ import annotations

import math
import random as _random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

DEFAULT_RETRIES = 3
DEFAULT_BACKOFF_BASE = 0.5
DEFAULT_BACKOFF_CAP = 8.0
DEFAULT_MAX_RETRY_AFTER = 30.0

_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def retryable_status(status: int) -> bool:
    """True for answers worth another attempt: 429 and every 5xx."""
    return status == 429 or 500 <= status <= 599


def parse_retry_after(
    value: str | None, *, now: Callable[[], float] = time.time
) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta-seconds or an HTTP-date), or None.

    A date in the past gives 0; a value that is neither form gives None (ignored, not an error).
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _SECONDS.fullmatch(text):
        # Fractions are not allowed by RFC 9110 but seen in the wild ("1.5"). ASCII only:
        # `float` would also take "inf", "1_0" and "٣", which no server means as seconds.
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None  # 400 nines overflow to inf
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" in an HTTP-date means UTC
        return None
    return max(0.0, when.timestamp() - now())


@dataclass(frozen=True)
class RetryPolicy:
    """How many retries, and the wait before each.

    `retries` counts attempts after the first (`--retries 3` = up to 4 attempts). `random` is
    injectable so tests can pin the jitter; it must return a float in [0, 1).
    """

    retries: int = DEFAULT_RETRIES
    base: float = DEFAULT_BACKOFF_BASE
    cap: float = DEFAULT_BACKOFF_CAP
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    random: Callable[[], float] = field(default=_random.random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError("retries must be >= 0")
        if self.base < 0 or self.cap < 0 or self.max_retry_after < 0:
            raise ValueError("backoff base, cap and max_retry_after must be >= 0")

    def backoff(self, attempt: int) -> float:
        """Full-jitter backoff after attempt number `attempt` (1 = the first attempt)."""
        ceiling = min(self.cap, self.base * 2.0 ** max(0, attempt - 1))
        return self.random() * ceiling

    def next_delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before the next attempt, after `attempt` attempts; None: give up.

        With a `Retry-After`, wait at least that long (capped at `max_retry_after`): the server
        asked for it, and retrying earlier would only be refused again.
        """
        if attempt > self.retries:
            return None
        delay = self.backoff(attempt)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after))
        return delay

    def delay_after(self, retryable: bool, attempt: int, retry_after: float | None) -> float | None:
        """`next_delay` for an outcome: None when it is not retryable or attempts are spent."""
        if not retryable:
            return None
        return self.next_delay(attempt, retry_after)
