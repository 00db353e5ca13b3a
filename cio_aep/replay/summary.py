"""What a replay did: counts, latency percentiles and statuses, in constant memory.

Latencies go into a log-bucketed histogram (1 % relative precision, 10 µs to 10 min) instead of
a list, so a run of a million events uses the same memory as a run of ten.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

_MIN_SECONDS = 1e-5
_GROWTH = 1.01
_LOG_GROWTH = math.log(_GROWTH)
_BUCKETS = int(math.log(600.0 / _MIN_SECONDS) / _LOG_GROWTH) + 2


class LatencyHistogram:
    """Percentiles of request latencies within 1 %, without keeping the samples."""

    __slots__ = ("_counts", "count", "max", "total")

    def __init__(self) -> None:
        self._counts = [0] * _BUCKETS
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        """Record one latency."""
        if seconds <= _MIN_SECONDS:
            index = 0
        else:
            index = min(_BUCKETS - 1, 1 + int(math.log(seconds / _MIN_SECONDS) / _LOG_GROWTH))
        self._counts[index] += 1
        self.count += 1
        self.total += seconds
        if seconds > self.max:
            self.max = seconds

    def percentile(self, p: float) -> float | None:
        """The `p`-th percentile (0-100) in seconds, or None without samples."""
        if self.count == 0:
            return None
        rank = max(1, math.ceil(self.count * p / 100.0))
        seen = 0
        for index, n in enumerate(self._counts):
            seen += n
            if seen >= rank:
                if index == 0:
                    return _MIN_SECONDS
                # The bucket's geometric middle; never above the largest sample seen.
                upper = _MIN_SECONDS * _GROWTH**index
                return min(self.max, upper / math.sqrt(_GROWTH))
        return self.max


@dataclass
class ReplayStats:
    """Counters of one run (`resumed_skipped`: events a checkpoint said were already done)."""

    read: int = 0
    invalid: int = 0
    sent: int = 0  # events with at least one attempt
    attempts: int = 0
    accepted: int = 0
    rejected: int = 0  # events refused for good with an HTTP answer
    failed: int = 0  # events that got no answer for good (timeouts, connection errors)
    retried: int = 0  # retry attempts
    dead_lettered: int = 0
    resumed_skipped: int = 0
    possible_duplicates: int = 0  # events this run may have delivered twice
    unfinished: int = 0  # sent, then abandoned by an interruption: outcome unknown
    elapsed: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    outcome: str = "completed"  # completed, interrupted, unreachable, stopped (--strict / input)
    message: str | None = None

    def count_status(self, label: str) -> None:
        """Count one attempt's status (`"200"`, `"503"`, `"timeout"`...)."""
        self.statuses[label] = self.statuses.get(label, 0) + 1

    @property
    def events_per_second(self) -> float:
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The `--json` summary."""

        def ms(p: float) -> float | None:
            value = self.latency.percentile(p)
            return None if value is None else round(value * 1000.0, 3)

        return {
            "outcome": self.outcome,
            "message": self.message,
            "read": self.read,
            "invalid": self.invalid,
            "skipped_already_done": self.resumed_skipped,
            "sent": self.sent,
            "attempts": self.attempts,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "failed": self.failed,
            "retried": self.retried,
            "dead_lettered": self.dead_lettered,
            "possible_duplicates": self.possible_duplicates,
            "unfinished": self.unfinished,
            "elapsed_seconds": round(self.elapsed, 3),
            "events_per_second": round(self.events_per_second, 1),
            "latency_ms": {"p50": ms(50), "p95": ms(95), "p99": ms(99)},
            "statuses": dict(sorted(self.statuses.items())),
        }


def render_summary(stats: ReplayStats) -> str:
    """The human summary (plain text, one fact a line)."""

    def ms(p: float) -> str:
        value = stats.latency.percentile(p)
        return "-" if value is None else f"{value * 1000.0:.1f} ms"

    lines = [
        f"replay {stats.outcome}" + (f": {stats.message}" if stats.message else ""),
        f"  read            {stats.read}"
        + (f" ({stats.invalid} invalid)" if stats.invalid else ""),
    ]
    if stats.resumed_skipped:
        lines.append(f"  already done    {stats.resumed_skipped} (skipped: checkpoint)")
    lines += [
        f"  sent            {stats.sent} ({stats.attempts} requests,"
        f" {stats.events_per_second:.0f} events/s)",
        f"  accepted        {stats.accepted}",
        f"  rejected        {stats.rejected}",
        f"  failed          {stats.failed} (no answer: timeouts, connection errors)",
        f"  retried         {stats.retried}",
        f"  dead-lettered   {stats.dead_lettered}",
        f"  latency         p50 {ms(50)}, p95 {ms(95)}, p99 {ms(99)}",
        "  statuses        "
        + (", ".join(f"{k}: {v}" for k, v in sorted(stats.statuses.items())) or "-"),
        f"  possible dups   {stats.possible_duplicates} (may arrive twice; receivers"
        " de-duplicate on event_id)",
    ]
    if stats.unfinished:
        lines.append(
            f"  unfinished      {stats.unfinished} (sent when the run stopped, outcome unknown:"
            " --resume sends them again)"
        )
    return "\n".join(lines)
