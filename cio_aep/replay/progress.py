"""Progress on stderr: a Rich bar on a terminal, a plain line every few seconds otherwise.

The engine calls `update` a few times a second (never per event): throughput is measured over
the last interval, the ETA from the share of input bytes consumed (unknown for stdin).
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any, Protocol

from cio_aep.replay.summary import ReplayStats


class ProgressSink(Protocol):
    """What the engine reports progress to."""

    def start(self, total_bytes: int | None) -> None: ...

    def update(self, stats: ReplayStats, bytes_done: int) -> None: ...

    def stop(self) -> None: ...


class NoProgress:
    """Progress that shows nothing (`--json` on a pipe, tests)."""

    def start(self, total_bytes: int | None) -> None:
        pass

    def update(self, stats: ReplayStats, bytes_done: int) -> None:
        pass

    def stop(self) -> None:
        pass


class _Rate:
    """Events/s over the last update, smoothed a little."""

    def __init__(self) -> None:
        self._last_time = time.monotonic()
        self._last_sent = 0
        self.value = 0.0

    def measure(self, sent: int) -> float:
        now = time.monotonic()
        span = now - self._last_time
        if span >= 0.2:
            current = (sent - self._last_sent) / span
            self.value = current if self.value == 0.0 else 0.5 * self.value + 0.5 * current
            self._last_time, self._last_sent = now, sent
        return self.value


def _eta(total: int | None, done: int, started: float) -> float | None:
    if not total or done <= 0:
        return None
    elapsed = time.monotonic() - started
    return max(0.0, elapsed * (total - done) / done)


class PlainProgress:
    """One line every `interval` seconds, for logs and CI."""

    def __init__(self, stream: IO[str] | None = None, *, interval: float = 5.0) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._interval = interval
        self._total: int | None = None
        self._started = time.monotonic()
        self._next = self._started + interval
        self._rate = _Rate()

    def start(self, total_bytes: int | None) -> None:
        self._total = total_bytes
        self._started = time.monotonic()
        self._next = self._started + self._interval

    def update(self, stats: ReplayStats, bytes_done: int) -> None:
        rate = self._rate.measure(stats.sent)
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self._interval
        eta = _eta(self._total, bytes_done, self._started)
        self._stream.write(
            f"replay: {stats.read} read, {stats.sent} sent, {stats.accepted} accepted, "
            f"{stats.dead_lettered} dead-lettered, {rate:.0f} events/s"
            + (f", ETA {eta:.0f} s" if eta is not None else "")
            + "\n"
        )
        self._stream.flush()

    def stop(self) -> None:
        pass


class RichProgress:
    """A Rich progress bar on stderr: events/s, accepted, failed, ETA."""

    def __init__(self, *, color: bool) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True, no_color=not color, highlight=False)
        self._progress = Progress(
            TextColumn("replay"),
            BarColumn(),
            TextColumn("{task.fields[sent]} sent"),
            TextColumn("[green]{task.fields[accepted]} accepted"),
            TextColumn("[red]{task.fields[failed]} failed"),
            TextColumn("{task.fields[rate]} events/s"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            refresh_per_second=4,
        )
        self._task: Any = None
        self._rate = _Rate()

    def start(self, total_bytes: int | None) -> None:
        self._progress.start()
        self._task = self._progress.add_task(
            "replay", total=total_bytes, sent=0, accepted=0, failed=0, rate="0"
        )

    def update(self, stats: ReplayStats, bytes_done: int) -> None:
        rate = self._rate.measure(stats.sent)
        self._progress.update(
            self._task,
            completed=bytes_done,
            sent=stats.sent,
            accepted=stats.accepted,
            failed=stats.dead_lettered,
            rate=f"{rate:.0f}",
        )

    def stop(self) -> None:
        self._progress.stop()


def progress_for(stream: IO[str], *, color: bool, enabled: bool = True) -> ProgressSink:
    """Rich on a terminal, plain lines otherwise, nothing when disabled."""
    if not enabled:
        return NoProgress()
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return RichProgress(color=color)
    return PlainProgress(stream)
