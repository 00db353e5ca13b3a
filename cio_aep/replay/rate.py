"""Pacing for `--rate`: at most R requests a second, smoothly, shared by every worker.

A virtual-scheduling token bucket (GCRA): each request is given the next free slot `1/R` after
the previous one; a worker whose slot is in the future sleeps until then. A small burst allowance
(`burst` slots, default 20 ms worth) absorbs the event loop's timer granularity, so the achieved
rate stays close to R even at thousands a second. Retries count: AEP limits requests, not events.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class RateLimiter:
    """`await acquire()` before each request; `rate <= 0` means no limit."""

    __slots__ = ("_clock", "_interval", "_next", "_sleep", "_tolerance", "rate")

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self._interval = 1.0 / rate if rate > 0 else 0.0
        slots = burst if burst is not None else max(1.0, rate * 0.02)
        self._tolerance = self._interval * max(0.0, slots - 1.0)
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0

    async def acquire(self) -> None:
        """Wait for this request's slot (returns at once when unlimited or under the rate)."""
        if self._interval == 0.0:
            return
        now = self._clock()
        # A quiet period earns at most `burst` slots, never an unbounded backlog.
        slot = max(self._next, now - self._tolerance)
        self._next = slot + self._interval
        wait = slot - now
        if wait > 0:
            await self._sleep(wait)
