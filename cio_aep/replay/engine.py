"""The replay pipeline: streamed reader → bounded queue → N workers → outcomes, memory flat.

- A reader thread streams the inputs (`cio_aep.event_reader.read_events`), turns each record
  into an `Item` (body bytes built by `cio_aep.delivery.request`; dead-letter lines unwrapped)
  and hands them over in batches through a bounded queue: a slow endpoint slows the reading,
  never the other way round, and a blocking stdin never stalls the event loop.
- N workers (1 with `--ordered`, so events go out one at a time in file order, as Customer.io
  delivers) each take the next item, pace it (`RateLimiter`), send it (`HttpTransport`),
  explain the answer (`explain_answer`) and retry by `RetryPolicy`. An event ends accepted or in
  the dead-letter file; nothing else ends a delivery.
- With a checkpoint, a flusher writes progress durably (dead-letter lines synced first) and
  keeps the number of events sent but not yet recorded within a window W: that bounds how many
  events a resumed run can send twice.

Exit 3 ("endpoint unreachable") is decided here: the run stops when an event has used up its
attempts on a failure to connect (refused, DNS, TLS, connect timeout) before any HTTP answer
came back in this run. Nothing is dead-lettered then: the same command can simply be run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cio_aep.delivery.answer import UNREACHABLE, ErrorKind, explain_answer
from cio_aep.delivery.request import attempt_headers, build_delivery
from cio_aep.delivery.retry import RetryPolicy
from cio_aep.errors import CioAepError, InputError, NetworkError
from cio_aep.replay.checkpoint import (
    CheckpointLog,
    CheckpointState,
    DoneSet,
    Snapshot,
    fingerprint_inputs,
    load_checkpoint,
    lock_checkpoint,
    make_header,
)
from cio_aep.replay.dead_letter import INVALID, DeadLetterWriter, unwrap_dead_letter
from cio_aep.replay.http_transport import RawAnswer
from cio_aep.replay.progress import NoProgress, ProgressSink
from cio_aep.replay.rate import RateLimiter
from cio_aep.replay.summary import ReplayStats
from cio_aep.signing import SigningKey

BATCH = 256  # records handed from the reader thread at a time
QUEUED_BATCHES = 4
# Failures after which the endpoint may have stored the event anyway: a retry may duplicate it.
_AMBIGUOUS = frozenset({ErrorKind.TIMEOUT.value, ErrorKind.RESET.value, ErrorKind.PROTOCOL.value})
_UNREACHABLE = frozenset(kind.value for kind in UNREACHABLE)


class Transport(Protocol):
    """What the engine needs from an HTTP client (see `HttpTransport`)."""

    async def __aenter__(self) -> Transport: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def post(self, body: bytes, headers: dict[str, str]) -> RawAnswer: ...


@dataclass(frozen=True)
class ReplayConfig:
    """Everything a run needs; the CLI builds it from the flags."""

    url: str
    key: SigningKey | None = field(default=None, repr=False)
    concurrency: int = 16
    rate: float = 1000.0  # events (requests) per second; 0 = no limit
    ordered: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 4.0
    strict: bool = False
    dead_letter: Path | None = None
    checkpoint: Path | None = None
    resume: bool = False
    window: int | None = None  # default: max(512, 8 * concurrency)
    flush_interval: float = 0.2
    progress_interval: float = 0.25

    @property
    def workers(self) -> int:
        return 1 if self.ordered else max(1, self.concurrency)

    @property
    def duplicate_window(self) -> int:
        """At most this many events are sent without their outcome being durable."""
        return self.window if self.window is not None else max(512, 8 * self.workers)

    @property
    def reserve_step(self) -> int:
        """How far ahead of the events sent the checkpoint reserves positions: small, so that a
        resumed run counts few possible duplicates; not tiny, so that syncs stay rare."""
        return min(self.duplicate_window, max(64, 4 * self.workers))


@dataclass(slots=True)
class Item:
    """One record read: its position over all inputs, and what to send (or why not)."""

    position: int
    source: str
    line: int | None
    event: object
    body: bytes | None
    invalid: str | None
    maybe_sent: bool


@dataclass
class _Batch:
    items: list[Item]
    skipped: int
    read: int
    nbytes: int


class _End:
    """End of input (or the reader's error)."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


Reader = Callable[[str], Iterable[Any]]


def _default_reader(source: str) -> Iterable[Any]:
    from cio_aep.event_reader import read_events

    return read_events(source, empty_ok=True)


def _to_item(record: Any, position: int, url: str, maybe_sent: bool) -> Item:
    source, line = str(record.source), record.line
    if record.error is not None:
        column = getattr(record, "column", None)
        why = str(record.error) + (f" (column {column})" if column else "")
        return Item(position, source, line, record.text, None, why, maybe_sent)
    event, was_dead_letter = unwrap_dead_letter(record.value)
    if not isinstance(event, dict):
        what = "the dead-letter line's event" if was_dead_letter else "the record"
        return Item(
            position, source, line, event, None, f"{what} is not a JSON object", maybe_sent
        )
    delivery = build_delivery(url, event)
    return Item(position, source, line, event, delivery.body, None, maybe_sent)


class _ReaderThread(threading.Thread):
    """Streams the inputs into the loop's queue; blocks (bounded) when the workers lag."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        queue: asyncio.Queue[_Batch | _End],
        sources: Sequence[str],
        reader: Reader,
        url: str,
        previous: CheckpointState | None,
    ) -> None:
        super().__init__(name="cio-aep-replay-reader", daemon=True)
        self._loop = loop
        self._queue = queue
        self._sources = sources
        self._reader = reader
        self._url = url
        self._previous = previous
        self.room = threading.Semaphore(QUEUED_BATCHES)
        self.stopping = threading.Event()

    def _put(self, value: _Batch | _End) -> bool:
        while not self.room.acquire(timeout=0.1):
            if self.stopping.is_set():
                return False
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, value)
        except RuntimeError:  # the loop is closed: the run is over
            return False
        return True

    def run(self) -> None:
        previous = self._previous
        done = previous.done if previous is not None else None
        sent_below = previous.sent_below if previous is not None else 0
        position = 0
        batch = _Batch([], 0, 0, 0)
        try:
            for source in self._sources:
                interactive = source == "-"
                for record in self._reader(source):
                    if self.stopping.is_set():
                        return
                    batch.read += 1
                    batch.nbytes += len(record.text) + 1
                    if done is not None and position in done:
                        batch.skipped += 1
                    else:
                        batch.items.append(
                            _to_item(record, position, self._url, position < sent_below)
                        )
                    position += 1
                    if batch.read >= BATCH or (interactive and batch.items):
                        if not self._put(batch):
                            return
                        batch = _Batch([], 0, 0, 0)
            if batch.read and not self._put(batch):
                return
            self._put(_End())
        except BaseException as err:  # handed to the loop: it stops the run and reports it
            if batch.read:
                self._put(batch)
            self._put(_End(err))


class _Run:
    """One replay: owns the stats, the workers, the dead letter and the checkpoint."""

    def __init__(
        self,
        config: ReplayConfig,
        sources: Sequence[str],
        transport: Transport,
        reader: Reader,
        progress: ProgressSink,
        notify: Callable[[str], None],
    ) -> None:
        self.notify = notify
        self.config = config
        self.sources = sources
        self.transport = transport
        self.reader = reader
        self.progress = progress
        self.stats = ReplayStats()
        self.error: CioAepError | None = None
        self.answered = False  # any HTTP answer in this run (decides exit 3)
        self.rate = RateLimiter(config.rate)
        self.window = config.duplicate_window
        self.previous: CheckpointState | None = None
        self.dead_letter: DeadLetterWriter | None = None
        self.log: CheckpointLog | None = None
        self.done = DoneSet()
        self.bytes_done = 0
        self.total_bytes: int | None = None
        self.pending: deque[Item] = deque()
        self.input_over = False
        self.draining = False
        self.cancelled = asyncio.Event()
        self.take_lock = asyncio.Lock()
        self.queue: asyncio.Queue[_Batch | _End] = asyncio.Queue()
        self.thread: _ReaderThread | None = None
        # Durability bookkeeping (checkpoint only).
        self.unresolved = 0  # first attempt started, outcome not yet durable
        self.finished_since = 0  # dispatched events finished since the last snapshot
        self.changed = 0  # positions done since the last snapshot
        self.sent_below_durable = 0
        self.sent_below_wanted = 0
        self.flush_wanted = asyncio.Event()
        self.durable = asyncio.Condition()
        self.abandoned = 0  # sent, then given up by an interruption: outcome unknown
        self.flusher_stop = False
        self.flush_lock = asyncio.Lock()
        self.resent_uncertain = 0
        self.ambiguous_retries = 0
        self.broken = False  # the checkpoint or dead-letter file could not be written

    # ------------------------------------------------------------------------ setup/teardown

    def open_files(self) -> None:
        try:
            self._open_files()
        except BaseException:
            with contextlib.suppress(Exception):
                self.close_files()  # releases the checkpoint's lock
            raise

    def _open_files(self) -> None:
        cfg = self.config
        resume_at: int | None = None
        if cfg.checkpoint is not None:
            inputs = fingerprint_inputs(self.sources)
            # Locked for the whole run, before it is read: two runs on one checkpoint (and its
            # dead letter) would lose events and tear lines.
            locked = lock_checkpoint(cfg.checkpoint, create=not cfg.resume)
            try:
                if cfg.resume:
                    self.previous = load_checkpoint(cfg.checkpoint, inputs)
                    self.done = DoneSet.from_ranges(self.previous.done.ranges())
                    if cfg.dead_letter is not None:
                        same = self.previous.dead_letter == str(cfg.dead_letter.resolve())
                        resume_at = self.previous.dead_letter_size if same else None
                header = make_header(inputs, window=self.window, dead_letter=cfg.dead_letter)
            except BaseException:
                if locked is not None:
                    locked.close()
                raise
            self.log = CheckpointLog(
                cfg.checkpoint, header, fresh=not cfg.resume, locked=locked
            )
        if cfg.dead_letter is not None:
            if cfg.resume and resume_at is None and cfg.dead_letter.exists():
                resume_at = cfg.dead_letter.stat().st_size  # another file: keep what it holds
            self.dead_letter = DeadLetterWriter(cfg.dead_letter, resume_at=resume_at)
        sizes = []
        for source in self.sources:
            try:
                sizes.append(os.stat(source).st_size if source != "-" else None)
            except OSError:
                sizes.append(None)
        self.total_bytes = None if None in sizes else sum(s for s in sizes if s is not None)

    def close_files(self) -> None:
        try:
            if self.dead_letter is not None:
                self.dead_letter.close()
        except CioAepError as err:  # the last lines could not be written
            self.halt(err, "stopped")
        finally:
            if self.log is not None:
                self.log.close()

    def output_failed(self, error: CioAepError) -> None:
        """The checkpoint or dead-letter file cannot be written: stop the run at once."""
        self.broken = True
        self.halt(error, "stopped", cancel=True)

    # --------------------------------------------------------------------------- input side

    async def next_item(self) -> Item | None:
        if self.pending and not self.draining:  # the common case: no lock, no await
            return self.pending.popleft()
        async with self.take_lock:
            while not self.pending:
                if self.input_over or self.draining:
                    return None
                got = await self.queue.get()
                if self.thread is not None:
                    self.thread.room.release()
                if isinstance(got, _End):
                    self.input_over = True
                    if got.error is not None:
                        self.halt(_input_error(got.error), "stopped")
                    return None
                self.stats.read += got.read
                self.stats.resumed_skipped += got.skipped
                self.bytes_done += got.nbytes
                self.pending.extend(got.items)
            if self.draining:
                return None
            return self.pending.popleft()

    def halt(self, error: CioAepError | None, outcome: str, *, cancel: bool = False) -> None:
        """Stop taking new events; with `cancel`, abandon the ones in flight too."""
        if self.error is None and error is not None:
            self.error = error
        if self.stats.outcome == "completed":
            self.stats.outcome = outcome
            self.stats.message = str(error) if error is not None else None
        self.draining = True
        if cancel:
            self.cancelled.set()

    # ------------------------------------------------------------------------- worker side

    async def worker(self) -> None:
        while True:
            item = await self.next_item()
            if item is None:
                return
            await self.deliver(item)

    async def deliver(self, item: Item) -> None:
        cfg, stats = self.config, self.stats
        if item.invalid is not None:
            stats.invalid += 1
            if cfg.strict:
                self.halt(
                    InputError(item.invalid, source=item.source, line=item.line,
                               hint="--strict stops at the first invalid record"),
                    "stopped",
                )  # fmt: skip
                return
            if not self.to_dead_letter(item, INVALID, item.invalid, 0):
                return
            self.notify(
                f"{_where(item)}: {item.invalid}: "
                + ("dead-lettered" if self.dead_letter is not None else "skipped")
            )
            self.finish(item, dispatched=False)
            return
        body = item.body
        assert body is not None
        await self.before_first_send(item.position)
        stats.sent += 1
        if item.maybe_sent:
            self.resent_uncertain += 1
        await self.attempts(item, body)

    async def attempts(self, item: Item, body: bytes) -> None:
        cfg, stats = self.config, self.stats
        attempt = 0
        # Could the endpoint hold this event already? True from the moment a request goes out
        # until an answer (or a failure to connect) says it does not.
        uncertain = False
        while True:
            attempt += 1
            try:
                await self.rate.acquire()
                uncertain = True
                raw = await self.transport.post(body, attempt_headers(body, cfg.key))
            except asyncio.CancelledError:
                if uncertain:
                    self.abandoned += 1
                raise
            uncertain = raw.error in _AMBIGUOUS or (raw.error is None and raw.status == 207)
            stats.attempts += 1
            stats.latency.add(raw.latency)
            if raw.error is None:
                self.answered = True
                stats.count_status(str(raw.status))
                if 200 <= (raw.status or 0) <= 299 and raw.status != 207:
                    stats.accepted += 1
                    self.finish(item, dispatched=True)
                    return
            else:
                stats.count_status(raw.error)
            outcome = explain_answer(
                raw.status,
                raw.headers,
                raw.body,
                error=raw.error,
                error_detail=raw.error_detail,
                timeout=cfg.timeout,
            )
            if outcome.accepted:  # a 207 whose messages were all accepted
                stats.accepted += 1
                self.finish(item, dispatched=True)
                return
            delay = cfg.retry.delay_after(outcome.retryable, attempt, outcome.retry_after)
            if delay is None:
                if raw.error in _UNREACHABLE and not self.answered:
                    self.halt(
                        NetworkError(
                            f"cannot reach {_host(cfg.url)}: {outcome.title.lower()}",
                            hint="nothing was delivered; check the URL and that the endpoint "
                            "is up, then run the same command again",
                        ),
                        "unreachable",
                        cancel=True,
                    )
                    return
                if raw.error is None:
                    stats.rejected += 1
                else:
                    stats.failed += 1
                message = outcome.title + (": " + "; ".join(outcome.details) if outcome.details
                                           else "")  # fmt: skip
                status: int | str = raw.status if raw.error is None and raw.status else (
                    raw.error or "error")  # fmt: skip
                if not self.to_dead_letter(item, status, message, attempt):
                    return
                self.notify(
                    f"{_where(item)}: event {_event_id(item)}: {status} {outcome.title} after "
                    f"{attempt} attempt{'s' if attempt > 1 else ''}"
                    + (": dead-lettered" if self.dead_letter is not None else "")
                )
                self.finish(item, dispatched=True)
                return
            if raw.error in _AMBIGUOUS:
                self.ambiguous_retries += 1
            stats.retried += 1
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                if uncertain:
                    self.abandoned += 1
                raise

    def to_dead_letter(self, item: Item, status: int | str, message: str, attempts: int) -> bool:
        """False when the dead-letter file cannot be written (the run is stopped then)."""
        if self.dead_letter is not None:
            if self.broken:
                return False
            try:
                self.dead_letter.write(
                    {
                        "event": item.event,
                        "status": status,
                        "message": message,
                        "attempts": attempts,
                        "source": item.source,
                        "line": item.line,
                    }
                )
            except CioAepError as err:
                self.output_failed(err)
                return False
        self.stats.dead_lettered += 1
        return True

    # ------------------------------------------------------------------------- durability

    def finish(self, item: Item, *, dispatched: bool) -> None:
        if self.log is None:
            return
        self.done.add(item.position)
        self.changed += 1
        if dispatched:
            self.finished_since += 1
        if self.finished_since >= self.window // 2:
            self.flush_wanted.set()

    async def before_first_send(self, position: int) -> None:
        """With a checkpoint: keep sent-but-not-recorded events within the window."""
        if self.log is None:
            return
        step = self.config.reserve_step
        if position + step // 2 >= self.sent_below_wanted:
            # Reserve ahead, before we get there, so sending rarely waits for a sync.
            self.sent_below_wanted = max(self.sent_below_wanted, position + step)
            self.flush_wanted.set()
        async with self.durable:
            while self.unresolved >= self.window or position >= self.sent_below_durable:
                self.flush_wanted.set()
                await self.durable.wait()
        self.unresolved += 1

    async def flusher(self) -> None:
        """Writes snapshots: on demand, and every `flush_interval` while something changed."""
        while not self.flusher_stop:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.flush_wanted.wait(), self.config.flush_interval)
            self.flush_wanted.clear()
            await self.flush()

    async def flush(self) -> None:
        # Never cancelled mid-way (the flusher is stopped, not cancelled): a snapshot is written
        # whole, one at a time, and the bookkeeping below matches what is on disk.
        async with self.flush_lock:
            if self.broken:
                return
            try:
                await self._flush()
            except CioAepError as err:  # a full disk, a read-only directory...
                self.output_failed(err)

    async def _flush(self) -> None:
        if self.log is None:
            if self.dead_letter is not None:
                self.dead_letter.flush()
            return
        if not self.changed and self.sent_below_wanted <= self.sent_below_durable:
            return
        finished = self.finished_since
        self.finished_since = 0
        self.changed = 0
        dl = self.dead_letter
        snapshot = Snapshot(
            self.done.ranges(), self.sent_below_wanted, dl.flush() if dl is not None else 0
        )
        log = self.log

        def write() -> None:
            if dl is not None:
                dl.sync()  # the lines counted as done are durable before the snapshot says so
            log.append(snapshot)

        await asyncio.to_thread(write)
        self.unresolved -= finished
        self.sent_below_durable = snapshot.sent_below
        async with self.durable:
            self.durable.notify_all()

    # --------------------------------------------------------------------------------- run

    async def ticker(self) -> None:
        while True:
            await asyncio.sleep(self.config.progress_interval)
            self.progress.update(self.stats, self.bytes_done)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.thread = _ReaderThread(
            loop, self.queue, self.sources, self.reader, self.config.url, self.previous
        )
        self.thread.start()
        self.progress.start(self.total_bytes)
        started = time.perf_counter()
        flusher = asyncio.create_task(self.flusher())
        ticker = asyncio.create_task(self.ticker())
        workers = [asyncio.create_task(self.worker()) for _ in range(self.config.workers)]
        cancel_wait = asyncio.create_task(self.cancelled.wait())
        try:
            pending: set[asyncio.Task[Any]] = set(workers)
            while pending and not self.cancelled.is_set():
                # The flusher too: workers may wait on it, so its end must not go unseen.
                watched = pending | {cancel_wait} | ({flusher} if not flusher.done() else set())
                done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
                pending -= done
                for task in (*workers, flusher):
                    if task.done() and not task.cancelled() and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]  # a bug: let it show
        finally:
            self.thread.stopping.set()
            for worker in workers:
                worker.cancel()
            cancel_wait.cancel()
            await asyncio.gather(*workers, cancel_wait, return_exceptions=True)
            self.stats.elapsed = time.perf_counter() - started
            ticker.cancel()
            self.flusher_stop = True
            self.flush_wanted.set()
            await asyncio.gather(ticker, flusher, return_exceptions=True)
            self.changed += 1  # always leave a final snapshot
            await self.flush()
            if self.input_over and self.total_bytes is not None and self.error is None:
                self.bytes_done = self.total_bytes  # estimates from text lengths fall short
            self.progress.update(self.stats, self.bytes_done)
            self.progress.stop()
        self.finish_stats()

    def finish_stats(self) -> None:
        stats = self.stats
        previous_window = self.previous.window if self.previous is not None else 0
        stats.possible_duplicates = (
            min(self.resent_uncertain, previous_window) + self.ambiguous_retries
        )
        # Sent, then abandoned by the interruption: a resumed run sends them again, and the
        # endpoint may have got them already.
        stats.unfinished = self.abandoned


def _where(item: Item) -> str:
    return f"{item.source}:{item.line}" if item.line is not None else item.source


def _event_id(item: Item) -> str:
    event_id = item.event.get("event_id") if isinstance(item.event, dict) else None
    return event_id if isinstance(event_id, str) else "(no event_id)"


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.netloc or url


def _input_error(err: BaseException) -> CioAepError:
    if isinstance(err, CioAepError):
        return err
    return InputError(f"reading the input failed: {type(err).__name__}: {err}")


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # optional: the standard loop works, a little slower
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def run_replay(
    config: ReplayConfig,
    sources: Sequence[str],
    *,
    reader: Reader | None = None,
    transport: Transport | None = None,
    progress: ProgressSink | None = None,
    handle_signals: bool = True,
    notify: Callable[[str], None] | None = None,
) -> tuple[ReplayStats, CioAepError | None]:
    """Replay `sources` to `config.url`; returns the stats and the error that ended the run.

    Ctrl-C (SIGINT) or SIGTERM stop the run cleanly: the events in flight are abandoned (and
    resent by `--resume`), the dead letter and checkpoint are flushed, the stats say
    `"interrupted"`.
    """

    async def main() -> _Run:
        if transport is None:
            from cio_aep.replay.http_transport import HttpTransport

            used: Transport = HttpTransport(
                config.url, concurrency=config.workers, timeout=config.timeout
            )
        else:
            used = transport
        run = _Run(
            config,
            sources,
            used,
            reader or _default_reader,
            progress or NoProgress(),
            notify or (lambda message: None),
        )
        run.open_files()
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        if handle_signals:

            def interrupted() -> None:
                run.halt(None, "interrupted", cancel=True)
                for signum in installed:  # a second Ctrl-C interrupts for real
                    loop.remove_signal_handler(signum)

            for signum in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(signum, interrupted)
                    installed.append(signum)
                except (ValueError, RuntimeError, NotImplementedError):
                    pass  # not the main thread, or no signals here: Ctrl-C stays the default
        try:
            async with used:
                await run.run()
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)
            run.close_files()
        return run

    loop = _new_loop()
    try:
        run = loop.run_until_complete(main())
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
    return run.stats, run.error
