"""Rows written behind the caller: one thread writes them in batches, so a save on the event loop never waits
for SQLite (a commit, or the write lock a pool thread holds for a long transaction: both stalled the loop
for 60-110 ms under a hundred clients).

Keyed by row: the newest write of a key wins, and a batch is one transaction (a hundred clients' saves become
a few commits). A request waits for what it wrote before its response is sent (`track_request` and
`request_written`, the API's middleware), so what a client was told is on disk, as with a synchronous write.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import sqlite3
import threading
from typing import Callable, Hashable

from .metadata import Metadata

log = logging.getLogger("dockyard.store")

# The writes the current request asked for: [(writer, sequence number)], set by track_request().
_request_writes: contextvars.ContextVar[list | None] = contextvars.ContextVar("request_writes", default=None)


def track_request() -> contextvars.Token:
    return _request_writes.set([])


def reset_tracking(token: contextvars.Token) -> None:
    _request_writes.reset(token)


async def request_written(token: contextvars.Token) -> None:
    """Wait until every write the request asked for is committed (raises what a failed one raised)."""
    last: dict[WriteBehind, int] = {}
    for writer, seq in _request_writes.get() or []:
        last[writer] = max(seq, last.get(writer, 0))
    _request_writes.reset(token)
    for writer, seq in last.items():
        await writer.written(seq)


class WriteBehind:
    """`put(key, row)` (row None: delete) returns at once; `write(cursor, {key: row})` runs in the writer
    thread, in one transaction per batch."""

    def __init__(self, md: Metadata, write: Callable[[sqlite3.Cursor, dict], None], name: str):
        self._md, self._write = md, write
        self._cond = threading.Condition()
        self._pending: dict[Hashable, object] = {}
        self._asked = self._done = 0  # sequence numbers: the last put, the last committed
        self._failed: list[tuple[int, int, BaseException]] = []  # (first, last seq, error) of failed batches
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future]] = []
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, key: Hashable, row: object | None) -> None:
        with self._cond:
            self._pending[key] = row
            self._asked += 1
            seq = self._asked
            self._cond.notify_all()
        asked = _request_writes.get()
        if asked is not None:
            asked.append((self, seq))

    async def written(self, seq: int) -> None:
        """Wait (on the loop, without blocking it) until the write `seq` is done."""
        with self._cond:
            if self._done >= seq:
                return self._raise_if_failed(seq)
            future = asyncio.get_running_loop().create_future()
            self._waiters.append((seq, asyncio.get_running_loop(), future))
        await future

    def close(self) -> None:
        """Write what is pending and end the writer thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()

    def _raise_if_failed(self, seq: int) -> None:
        for first, last, err in self._failed:
            if first <= seq <= last:
                raise err

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closing)
                if not self._pending:
                    return
                batch, self._pending, last = self._pending, {}, self._asked
            error = None
            try:
                with self._md.tx() as cur:
                    self._write(cur, batch)
            except Exception as err:  # noqa: BLE001 - the waiters of this batch raise it
                log.exception("writing %d rows failed", len(batch))
                error = err
            with self._cond:
                first = self._done + 1
                self._done = last
                if error is not None:
                    self._failed = [*self._failed[-15:], (first, last, error)]  # (a few: errors are rare)
                ready = [w for w in self._waiters if w[0] <= last]
                self._waiters = [w for w in self._waiters if w[0] > last]
                self._cond.notify_all()
            for _, loop, future in ready:
                loop.call_soon_threadsafe(_settle, future, error)


def _settle(future: asyncio.Future, error: BaseException | None) -> None:
    if future.done():  # its waiter was cancelled
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
