"""Durable progress of a replay, so that a run killed at any moment resumes where it stood.

Positions: every event read gets a position, its rank over all inputs in order (invalid lines
included). An event is *done* when it was accepted, or written to the dead-letter file.

File format (JSON lines, append-only, fsync'd):
- line 1, the header: `{"cio_aep_checkpoint": 1, "inputs": <fingerprint>, "window": W,
  "dead_letter": "<path or null>"}`;
- then snapshots: `{"done": [[start, end], ...], "sent_below": R, "dead_letter_size": S}`:
  the done positions as half-open ranges (compact: holes are only the events in flight, so a
  snapshot stays small whatever the file size), the reservation R (no position >= R had been
  sent when this snapshot was written, nor will be before the next one is durable), and the
  dead-letter file's size once every line counted as done had been synced.
The last complete snapshot wins: a line torn by `kill -9` is ignored. When the file grows past
`COMPACT_BYTES` it is rewritten (header + last snapshot) to a temporary file and renamed over.

Guarantee: at most W events are ever sent without being durably done (the engine waits
otherwise), so a resumed run sends again at most W events that an earlier run had delivered.
The signing key is never written here.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cio_aep.errors import CioAepError, UsageError

FORMAT_VERSION = 1
HEAD_BYTES = 65536
COMPACT_BYTES = 1 << 20
# Done positions past the first hole are kept one by one; a real run has few (the events done
# while an earlier one was still retrying). More than this means a damaged checkpoint.
MAX_SPARSE = 10_000_000
MAX_CHECKPOINT_BYTES = 64 << 20  # compaction keeps real ones near COMPACT_BYTES


def fingerprint_inputs(paths: Sequence[str]) -> list[dict[str, Any]]:
    """What identifies the inputs: absolute path, size and a hash of the first 64 KiB of each."""
    prints: list[dict[str, Any]] = []
    for name in paths:
        path = Path(name)
        try:
            with path.open("rb") as handle:
                head = handle.read(HEAD_BYTES)
                size = os.fstat(handle.fileno()).st_size
        except OSError as err:
            raise UsageError(f"{name}: cannot read for the checkpoint: {err.strerror}") from None
        prints.append(
            {
                "path": str(path.resolve()),
                "size": size,
                "head_sha256": hashlib.sha256(head).hexdigest(),
            }
        )
    return prints


class DoneSet:
    """Done positions: everything below `low`, plus a sparse set above it."""

    __slots__ = ("_above", "low")

    def __init__(self, low: int = 0, above: Iterable[int] = ()) -> None:
        self.low = low
        self._above: set[int] = set()
        for position in above:
            self.add(position)

    def add(self, position: int) -> None:
        """Mark `position` done (idempotent)."""
        if position < self.low:
            return
        if position == self.low:
            self.low += 1
            above = self._above
            while self.low in above:
                above.remove(self.low)
                self.low += 1
        else:
            self._above.add(position)

    def __contains__(self, position: int) -> bool:
        return position < self.low or position in self._above

    def __len__(self) -> int:
        return self.low + len(self._above)

    def ranges(self) -> list[list[int]]:
        """Half-open `[start, end)` ranges of every done position."""
        result: list[list[int]] = [[0, self.low]] if self.low else []
        for position in sorted(self._above):
            if result and result[-1][1] == position:
                result[-1][1] = position + 1
            else:
                result.append([position, position + 1])
        return result

    @classmethod
    def from_ranges(cls, ranges: Iterable[Sequence[int]]) -> DoneSet:
        """The set of `ranges()`; a range starting at 0 sets `low` without a loop."""
        done = cls()
        for start, end in sorted((int(r[0]), int(r[1])) for r in ranges):
            if start < 0 or end < start:
                raise ValueError("not a range of positions")
            if start <= done.low:
                done.low = max(done.low, end)
            else:
                if len(done._above) + (end - start) > MAX_SPARSE:
                    raise ValueError("too many positions above the first hole")
                done._above.update(range(start, end))
        return done

    def holes_below(self, limit: int) -> Iterator[int]:
        """Positions below `limit` that are not done."""
        for position in range(self.low, limit):
            if position not in self._above:
                yield position


@dataclass
class CheckpointState:
    """What a checkpoint file says: where the last run stood."""

    done: DoneSet
    sent_below: int
    dead_letter_size: int
    window: int
    dead_letter: str | None


def _in_use(path: Path) -> UsageError:
    return UsageError(
        f"{path}: the checkpoint is in use by another replay",
        hint="wait for that run to end, or give another --checkpoint file",
    )


def _try_lock(fd: int) -> bool:
    """Exclusive non-blocking lock; False when another process holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as err:
        if err.errno in (errno.EAGAIN, errno.EACCES):
            return False
        # A file system without locks (ENOLCK, EOPNOTSUPP): run unlocked, as before.
    return True


def lock_checkpoint(path: Path, *, create: bool) -> IO[bytes] | None:
    """Open `path` for appending, locked (flock) for the whole run: one replay per checkpoint.

    None when it does not exist and `create` is False (`load_checkpoint` says why). The lock
    follows the file through compaction (`CheckpointLog._rewrite` locks the new file before it
    is renamed over), so a run that opened the old file retries on the new one.
    """
    flags = os.O_WRONLY | os.O_APPEND | (os.O_CREAT if create else 0)
    while True:
        try:
            fd = os.open(path, flags, 0o666)
        except (FileNotFoundError, IsADirectoryError):
            if create:
                raise
            return None
        except OSError as err:
            raise UsageError(f"{path}: cannot write the checkpoint: {err.strerror}") from None
        if not _try_lock(fd):
            os.close(fd)
            raise _in_use(path)
        try:
            now = os.stat(path)
        except OSError:
            now = None
        mine = os.fstat(fd)
        if now is not None and (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino):
            return os.fdopen(fd, "ab")
        os.close(fd)  # compacted (renamed over) meanwhile: lock the file that is there now


def checkpoint_in_use(path: Path) -> bool:
    """True when another replay holds `path` locked (False when it cannot tell)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError as err:
            return err.errno in (errno.EAGAIN, errno.EACCES)
        return False
    finally:
        os.close(fd)  # releases the shared lock, if taken


class CheckpointLog:
    """Appends snapshots to the checkpoint file, each fsync'd; compacts the file when it grows.

    The file stays locked (flock) until `close()`: a second replay on it is refused. Writes
    that fail raise CioAepError naming the file.
    """

    def __init__(
        self,
        path: Path,
        header: dict[str, Any],
        *,
        fresh: bool,
        locked: IO[bytes] | None = None,
    ) -> None:
        self.path = path
        self._header = header
        self._last = b""
        try:
            if locked is None:
                locked = lock_checkpoint(path, create=True)
                assert locked is not None
            self._file: IO[bytes] = locked
            if fresh:
                self._file = self._rewrite(b"")
        except OSError as err:
            if locked is not None:
                locked.close()
            raise UsageError(f"{path}: cannot write the checkpoint: {err.strerror}") from None
        except BaseException:
            if locked is not None:
                locked.close()
            raise
        self._size = self._file.seek(0, os.SEEK_END)

    def _rewrite(self, snapshot: bytes) -> IO[bytes]:
        """Header + `snapshot` to a temporary file, locked, renamed over; returns it open."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        handle = os.fdopen(fd, "ab")
        try:
            if not _try_lock(fd):  # only another run of this checkpoint can hold it
                raise _in_use(self.path)
            handle.truncate(0)
            handle.write(json.dumps(self._header, separators=(",", ":")).encode() + b"\n")
            handle.write(snapshot)
            handle.flush()
            os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            handle.close()
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _sync_dir(self.path.parent)
        old, self._file = self._file, handle
        old.close()  # its lock goes; the new file's is held
        return handle

    def append(self, snapshot: Snapshot) -> None:
        """Write one snapshot durably (blocking: call it from a worker thread).

        Raises CioAepError naming the file when it cannot be written (a full disk...).
        """
        try:
            self._append(snapshot)
        except OSError as err:
            raise CioAepError(
                f"{self.path}: cannot write the checkpoint: {err.strerror or err}"
            ) from None

    def _append(self, snapshot: Snapshot) -> None:
        line = (
            json.dumps(
                {
                    "done": snapshot.done,
                    "sent_below": snapshot.sent_below,
                    "dead_letter_size": snapshot.dl_size,
                },
                separators=(",", ":"),
            ).encode()
            + b"\n"
        )
        self._last = line
        if self._size + len(line) > COMPACT_BYTES:
            self._rewrite(line)
            self._size = self._file.seek(0, os.SEEK_END)
            return
        self._file.write(line)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._size += len(line)

    def close(self) -> None:
        """Close the file (every snapshot already synced) and release the lock."""
        with contextlib.suppress(OSError):  # a failed write was reported already
            self._file.close()


@dataclass(frozen=True)
class Snapshot:
    """Progress captured on the event loop (`DoneSet.ranges()`), written by a worker thread."""

    done: list[list[int]]
    sent_below: int
    dl_size: int


def _sync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory; the rename is still atomic
    finally:
        os.close(fd)


def make_header(
    inputs: list[dict[str, Any]], *, window: int, dead_letter: Path | None
) -> dict[str, Any]:
    """The first line of a checkpoint file."""
    return {
        "cio_aep_checkpoint": FORMAT_VERSION,
        "inputs": inputs,
        "window": window,
        "dead_letter": str(dead_letter.resolve()) if dead_letter is not None else None,
    }


def is_checkpoint(path: Path) -> bool:
    """True when `path` starts with a cio-aep replay checkpoint header (False if unreadable)."""
    try:
        with path.open("rb") as handle:
            header = json.loads(handle.readline(1 << 20))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(header, dict) and "cio_aep_checkpoint" in header


def load_checkpoint(path: Path, inputs: list[dict[str, Any]]) -> CheckpointState:
    """Read `path` for `--resume`; a clear UsageError when it is not ours or not these inputs."""
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise UsageError(f"{path}: not a regular file, expected a checkpoint file")
            if info.st_size > MAX_CHECKPOINT_BYTES:
                raise UsageError(f"{path}: too large to be a cio-aep replay checkpoint")
            raw = handle.read(MAX_CHECKPOINT_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(
            f"{path}: no checkpoint to resume from",
            hint="run without --resume to start; the checkpoint is written as the run goes",
        ) from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, expected a checkpoint file") from None
    except OSError as err:
        raise UsageError(f"{path}: cannot read the checkpoint: {err.strerror}") from None
    lines = raw.split(b"\n")
    try:
        header = json.loads(lines[0])
    except (ValueError, RecursionError):  # not JSON, too deep, or a 5,000-digit number
        header = None
    if not isinstance(header, dict) or header.get("cio_aep_checkpoint") != FORMAT_VERSION:
        raise UsageError(f"{path}: not a cio-aep replay checkpoint")
    if header.get("inputs") != inputs:
        raise UsageError(
            f"{path}: this checkpoint was written for other input files (or they changed since)",
            hint="resume with the same files in the same order, or start over without --resume",
        )
    snapshot: dict[str, Any] | None = None
    for line in reversed(lines[1:]):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            continue  # the tail torn by a kill: the snapshot before it is complete
        # The last complete line is the snapshot: anything else there is damage, not a tail
        # torn by a kill (a torn line is never complete JSON).
        if not isinstance(value, dict) or not isinstance(value.get("done"), list):
            raise UsageError(f"{path}: the checkpoint is damaged")
        snapshot = value
        break
    dead_letter = header.get("dead_letter")
    if not isinstance(dead_letter, str):
        dead_letter = None
    try:
        window = int(header.get("window") or 0)
        if window < 0:
            raise ValueError("negative window")
        if snapshot is None:
            return CheckpointState(DoneSet(), 0, 0, window, dead_letter)
        done = DoneSet.from_ranges(snapshot["done"])
        return CheckpointState(
            done,
            int(snapshot.get("sent_below", 0)),
            int(snapshot.get("dead_letter_size", 0)),
            window,
            dead_letter,
        )
    except (TypeError, ValueError, IndexError, KeyError, AttributeError, OverflowError):
        raise UsageError(f"{path}: the checkpoint is damaged") from None
