"""Fault injection for `serve`: failures, latency and dropped connections, for testing senders.

Decisions come from one seeded random generator, so a run with `--seed` and requests sent one
at a time sees the same faults every time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from cio_aep.errors import UsageError

DEFAULT_FAIL_STATUSES = (503, 429, 500)
# Statuses whose answers carry Retry-After (AEP documents it on 503; 429 says "slow down").
RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class FaultConfig:
    """What to inject: rates are probabilities per request (0..1)."""

    fail_rate: float = 0.0
    fail_statuses: tuple[int, ...] = DEFAULT_FAIL_STATUSES
    retry_after: int = 1
    latency_ms: int = 0
    drop_rate: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        for name, rate in (("--fail-rate", self.fail_rate), ("--drop-rate", self.drop_rate)):
            if not 0.0 <= rate <= 1.0:
                raise UsageError(f"{name} must be between 0 and 1, got {rate}")
        if self.fail_rate > 0 and not self.fail_statuses:
            raise UsageError("--fail-status needs at least one status")
        for status in self.fail_statuses:
            if not 400 <= status <= 599:
                raise UsageError(f"--fail-status: {status} is not a 4xx or 5xx status")
        if self.retry_after < 0:
            raise UsageError("--retry-after must be 0 or more seconds")
        if self.latency_ms < 0:
            raise UsageError("--latency-ms must be 0 or more")

    @property
    def active(self) -> bool:
        """True when any fault can happen (the hot path skips the dice otherwise)."""
        return self.fail_rate > 0 or self.drop_rate > 0 or self.latency_ms > 0


def parse_fail_statuses(text: str) -> tuple[int, ...]:
    """`"503,429,500"` → (503, 429, 500); a UsageError names what is wrong."""
    statuses: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            status = int(part)
        except ValueError:
            raise UsageError(
                f"--fail-status: {part!r} is not a status code", hint="e.g. 503,429,500"
            ) from None
        if not 400 <= status <= 599:
            raise UsageError(f"--fail-status: {status} is not a 4xx or 5xx status")
        statuses.append(status)
    if not statuses:
        raise UsageError("--fail-status: no status given", hint="e.g. 503,429,500")
    return tuple(statuses)


DROP = -1  # decision: close the connection without an answer
NO_FAULT = 0


class FaultInjector:
    """Rolls the dice for each request: DROP, NO_FAULT, or the HTTP status to fail with."""

    __slots__ = ("_random", "config")

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._random = random.Random(config.seed)

    def decide(self) -> int:
        """DROP, NO_FAULT or a failure status. Drops are rolled first, then failures."""
        cfg = self.config
        if cfg.drop_rate > 0 and self._random.random() < cfg.drop_rate:
            return DROP
        if cfg.fail_rate > 0 and self._random.random() < cfg.fail_rate:
            return self._random.choice(cfg.fail_statuses)
        return NO_FAULT

    def headers_for(self, status: int) -> list[tuple[bytes, bytes]]:
        """Extra headers of an injected failure (Retry-After on 503 and 429)."""
        if status in RETRY_AFTER_STATUSES:
            return [(b"retry-after", str(self.config.retry_after).encode("ascii"))]
        return []
