"""SQLite store of the events `serve` accepted, de-duplicated on `event_id`.

One connection, shared under a lock: the server's event loop writes, and a test or the demo may
read from another thread. Reads go through the same connection, so they see every accepted event
even before it is committed.

Durability: a file store runs in WAL mode with synchronous=NORMAL, and an event is committed
before its 200 is sent (group commit: every insert made in one turn of the event loop shares one
commit). A committed WAL write survives the process being killed (not a power cut), so an
acknowledged event is never lost when `serve` is killed or restarted. The in-memory store commits
in batches: nothing of it outlives the process anyway.

The keys stored are also kept in a Python set (about 100 bytes an event), so that a duplicate
delivery, the usual retry case, costs no SQL on the hot path. A file store's key enters that set
only once its row is committed (until then it waits in a second set): when an insert or a commit
fails (say "database or disk is full"), the open transaction is rolled back, every delivery
waiting on it is answered 500, and the keys and duplicate counts of that transaction are
forgotten, so the sender's retry is stored for real rather than counted as a duplicate.

Text SQLite cannot take: JSON may escape a lone surrogate (`"\\ud800"`), which is accepted (AEP's
answer to it is unknown; we stay tolerant) but has no UTF-8 form. Such a value (an `event_id`,
`object_type`, `metric` or re-serialised batch message) is stored as a BLOB of its
"surrogatepass" bytes and read back as the same str. A BLOB never equals a TEXT value, so the
UNIQUE key keeps telling it from any valid text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    event_id TEXT,
    object_type TEXT,
    metric TEXT,
    received_ms INTEGER NOT NULL,
    body TEXT NOT NULL,
    duplicates INTEGER NOT NULL DEFAULT 0,
    signature_ok INTEGER
)
"""
_INSERT = (
    "INSERT OR IGNORE INTO events"
    " (key, event_id, object_type, metric, received_ms, body, signature_ok)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_BUMP = "UPDATE events SET duplicates = duplicates + ? WHERE key = ?"
_MEMORY_BATCH = 1000  # in-memory store: commit every this many writes

DEFAULT_PAGE = 10_000  # events listed by GET /_cio-aep/events without ?limit

_Param = str | int | None | bytes


def _bindable(value: _Param) -> _Param:
    """`value` as SQLite can bind it: a str with a lone surrogate becomes surrogatepass bytes."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogatepass")
    return value


def _text(value: Any) -> Any:
    """A value read back: BLOBs written by `_bindable` become the str they were."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogatepass")
    return value


class StoreError(Exception):
    """The store could not be opened or written (the CLI turns it into a usage error)."""


class EventStore:
    """Accepted events: `add` one, read them back with `events`, `count`, `duplicates`."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = None if path is None or str(path) == ":memory:" else Path(path)
        try:
            self._conn = sqlite3.connect(
                ":memory:" if self.path is None else str(self.path),
                check_same_thread=False,
                isolation_level="DEFERRED",
            )
            if self.path is not None:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)
            self._conn.commit()
        except sqlite3.Error as err:
            raise StoreError(f"cannot open the event store {path}: {err}") from None
        self._lock = threading.Lock()
        # Keys already stored, so that a duplicate costs a set lookup, not two SQL statements;
        # its count is written with the next commit (or before any read).
        self._keys: set[str] = {
            _text(row[0]) for row in self._conn.execute("SELECT key FROM events")
        }
        # A file store's keys inserted since the last commit (moved to `_keys` by the commit,
        # dropped by a failed one). The in-memory store answers before committing (nothing of
        # it outlives the process), so its keys go to `_keys` at once.
        self._new: set[str] = set()
        self._new_keys = self._new if self.path is not None else self._keys
        self._bumps: dict[str, int] = {}
        self._uncommitted = 0
        self._pending: asyncio.Future[None] | None = None
        self._closed = False

    # -- writing (event loop thread) ------------------------------------------------------

    def add(
        self,
        key: str,
        event_id: str | None,
        object_type: str | None,
        metric: str | None,
        received_ms: int,
        body: str,
        signature_ok: bool | None = None,
    ) -> bool:
        """Store one event; False (and its duplicate count bumped) when `key` is already in."""
        sig = None if signature_ok is None else int(signature_ok)
        with self._lock:
            if key in self._keys or key in self._new:
                self._bumps[key] = self._bumps.get(key, 0) + 1
                new = False
            else:
                params = (key, event_id, object_type, metric, received_ms, body, sig)
                try:
                    try:
                        self._conn.execute(_INSERT, params)
                    except UnicodeEncodeError:  # a lone surrogate: rare, so not checked up front
                        self._conn.execute(_INSERT, tuple(map(_bindable, params)))
                except sqlite3.Error as err:
                    raise self._failed_locked(err) from None
                self._new_keys.add(key)
                new = True
            self._uncommitted += 1
            if self.path is None and self._uncommitted >= _MEMORY_BATCH:
                try:
                    self._commit_locked()
                except sqlite3.Error as err:
                    raise self._failed_locked(err) from None
        return new

    def _failed_locked(self, err: sqlite3.Error) -> StoreError:
        """A write failed: undo the open transaction and forget what it held; the error to raise.

        The rows and duplicate counts not yet committed are rolled back (SQLite may have done so
        already, or undone only the failing statement: an explicit rollback leaves no doubt), so
        their keys leave the known set and their deliveries, all waiting on the pending commit,
        get the error: a retry then stores the event again. The in-memory store keeps its keys:
        its deliveries were answered before any commit, and reads still see their rows.
        """
        error = StoreError(f"cannot write the event store: {err}")
        if self.path is None:
            return error
        with contextlib.suppress(sqlite3.Error):
            self._conn.rollback()
        self._new.clear()
        self._bumps.clear()
        self._uncommitted = 0
        future, self._pending = self._pending, None
        if future is not None and not future.done():
            future.set_exception(error)
        return error

    def durable(self) -> asyncio.Future[None] | None:
        """A future done once every event added so far is committed (None: nothing to wait for).

        Call from the event loop; all callers in one loop turn share one commit.
        """
        if self.path is None or self._uncommitted == 0:
            return None
        if self._pending is None:
            loop = asyncio.get_running_loop()
            self._pending = loop.create_future()
            loop.call_soon(self._group_commit)
        return self._pending

    def _group_commit(self) -> None:
        future, self._pending = self._pending, None
        try:
            self.commit()
        except StoreError as err:
            if future is not None and not future.done():
                future.set_exception(err)
            return
        if future is not None and not future.done():
            future.set_result(None)

    def _flush_bumps_locked(self) -> None:
        if self._bumps:
            self._conn.executemany(_BUMP, [(n, _bindable(k)) for k, n in self._bumps.items()])
            self._bumps.clear()

    def _commit_locked(self) -> None:
        self._flush_bumps_locked()
        self._conn.commit()
        self._uncommitted = 0
        if self._new:
            self._keys |= self._new
            self._new.clear()

    def commit(self) -> None:
        """Commit what was added (also done on close); StoreError when that fails."""
        with self._lock:
            if not self._closed and self._uncommitted:
                try:
                    self._commit_locked()
                except sqlite3.Error as err:
                    raise self._failed_locked(err) from None

    def close(self) -> None:
        """Commit and close; later calls do nothing."""
        with self._lock:
            if self._closed:
                return
            try:
                if self._uncommitted:
                    self._commit_locked()
            finally:
                self._closed = True
                self._conn.close()

    # -- reading (any thread) -------------------------------------------------------------

    def count(self) -> int:
        """Distinct events stored (those of the commit under way included)."""
        with self._lock:
            return len(self._keys) + len(self._new)

    def duplicates(self) -> int:
        """Deliveries that repeated an `event_id` already stored."""
        with self._lock:
            self._flush_bumps_locked()
            row = self._conn.execute("SELECT coalesce(sum(duplicates), 0) FROM events").fetchone()
        return int(row[0])

    def events(self, *, limit: int | None = None, after: int = 0) -> list[dict[str, Any]]:
        """Stored events in arrival order, `seq` > `after`, at most `limit` of them.

        Each: seq, event_id, object_type, metric, received_ms, duplicates, signature_ok,
        and `event`, the body as received (parsed).
        """
        sql = (
            "SELECT seq, event_id, object_type, metric, received_ms, duplicates, signature_ok,"
            " body FROM events WHERE seq > ? ORDER BY seq LIMIT ?"
        )
        with self._lock:
            self._flush_bumps_locked()
            rows = self._conn.execute(sql, (after, -1 if limit is None else limit)).fetchall()
        out: list[dict[str, Any]] = []
        for seq, event_id, object_type, metric, received_ms, dups, sig, body in rows:
            out.append(
                {
                    "seq": seq,
                    "event_id": _text(event_id),
                    "object_type": _text(object_type),
                    "metric": _text(metric),
                    "received_ms": received_ms,
                    "duplicates": dups,
                    "signature_ok": None if sig is None else bool(sig),
                    "event": json.loads(_text(body)),
                }
            )
        return out

    def event_ids(self) -> set[str]:
        """Every stored `event_id` (events stored without one are left out)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT event_id FROM events WHERE event_id IS NOT NULL"
            ).fetchall()
        return {_text(row[0]) for row in rows}

    def raw_dump(self) -> str:
        """Every stored value as text (tests grep it for secrets)."""
        with self._lock:
            self._flush_bumps_locked()
            rows = self._conn.execute("SELECT * FROM events").fetchall()
        return "\n".join(repr(row) for row in rows)
