"""Reading json-file logs (one `{"log","stream","time"}` object per line) for `docker logs`."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections import deque
from typing import AsyncIterator, BinaryIO, Callable, Iterator

from ..blocking import blocking
from ..timefmt import parse_rfc3339


class OpenedLog:
    """A container's log as one reader sees it: the files rotated out by --log-opt max-size (oldest first),
    then the live file. All are opened at once, so a later rotation or removal takes nothing away."""

    def __init__(self, path: str, rotated: list[BinaryIO], current: BinaryIO | None):
        self.path, self.rotated, self.current = path, rotated, current

    def close(self) -> None:
        for f in [*self.rotated, self.current]:
            if f is not None:
                f.close()


def open_log_file(path: str) -> BinaryIO | None:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        return None


def open_log(path: str) -> OpenedLog | None:
    rotated = []
    for i in range(1, 1000):  # <log>.1 is the newest rotated file
        f = open_log_file(f"{path}.{i}")
        if f is None:
            break
        rotated.insert(0, f)
    current = open_log_file(path)
    return OpenedLog(path, rotated, current) if rotated or current is not None else None


@contextlib.contextmanager
def opened_log(path: str) -> Iterator[OpenedLog | None]:
    """Open a container's log when the request arrives, before anything is sent: its lines then stay
    readable through these handles even if the container is removed (and its log deleted) before they are
    read, as docker-py's `run(remove=True)` does (it starts `logs`, waits, removes, then reads)."""
    log = open_log(path)
    try:
        yield log
    finally:
        if log is not None:
            log.close()


def log_size(log: OpenedLog | None) -> int | None:
    """How much the live file holds now (None: no log yet): read_logs(end=) stops there."""
    return os.fstat(log.current.fileno()).st_size if log is not None and log.current is not None else None


# What one thread hop reads and parses of a log: the loop serves other clients between hops (a whole log
# parsed on the loop stalled it for 90 ms in the test suite).
BATCH_BYTES = 256 * 1024


def _read_batch(log: BinaryIO, start: int, end: int | None) -> tuple[int, list, bool]:
    """(In a thread) the complete lines from byte offset `start` (up to `end`), about BATCH_BYTES of them:
    (offset after them, [(offset after each, entry)], whether that was all there is to read now)."""
    log.seek(start)
    offset, batch = start, []
    for line in log:
        if not line.endswith(b"\n") or (end is not None and offset + len(line) > end):
            return offset, batch, True  # a line still being written (the follower picks it up later), or past `end`
        offset += len(line)
        try:
            batch.append((offset, json.loads(line)))
        except ValueError:
            pass
        if offset - start >= BATCH_BYTES:
            return offset, batch, False
    return offset, batch, True


async def _entries(log: BinaryIO | None, start: int = 0, end: int | None = None):
    """(offset_after, entry) for each complete line from byte offset `start` (up to `end`), read off the loop."""
    done = log is None
    while not done:
        start, batch, done = await blocking(_read_batch, log, start, end)
        for item in batch:
            yield item


def _rotated_away(log: OpenedLog) -> bool:
    """Whether the live file was renamed to <log>.1 since it was opened (a new one took its name)."""
    try:
        return os.stat(log.path).st_ino != os.fstat(log.current.fileno()).st_ino
    except FileNotFoundError:
        return False


def _rotated_after(log: OpenedLog, passed: int) -> list[BinaryIO]:
    """The rotated files newer than the one with inode `passed` (which a follower has read to its end), oldest
    first: with small files a slow follower can fall a rotation or more behind. Not the live file, which a
    rotation since it was opened may have renamed too."""
    live = os.fstat(log.current.fileno()).st_ino if log.current is not None else None
    newer = []
    for i in range(1, 1000):  # <log>.1 is the newest
        f = open_log_file(f"{log.path}.{i}")
        if f is None:
            break
        ino = os.fstat(f.fileno()).st_ino
        if ino in (passed, live):
            f.close()
            if ino == passed:
                break
            continue
        newer.insert(0, f)
    return newer


def _wanted(entry: dict, streams: set[str], since: float, until: float | None) -> bool:
    if entry.get("stream", "stdout") not in streams:
        return False
    if since or until:
        t = parse_rfc3339(entry.get("time", ""))
        if since and t < since:
            return False
        if until and t > until:
            return False
    return True


async def read_logs(log: OpenedLog | None, *, stdout: bool, stderr: bool, since: float = 0,
                    until: float | None = None, tail: int | None = None, follow: bool = False,
                    is_running: Callable[[], bool] = lambda: False, end: int | None = None) -> AsyncIterator[dict]:
    """The entries of `log` (see opened_log); following, new ones until the container stops. `end` (see
    log_size) leaves out what the live file got after it was measured."""
    streams = {s for s, on in (("stdout", stdout), ("stderr", stderr)) if on}
    selected: deque = deque(maxlen=tail if tail is not None and tail >= 0 else None)
    offset = 0
    for old in log.rotated if log is not None else []:
        async for _, entry in _entries(old):
            if _wanted(entry, streams, since, until):
                selected.append(entry)
    async for offset, entry in _entries(log.current if log is not None else None, 0, end):
        if _wanted(entry, streams, since, until):
            selected.append(entry)
    if tail == 0:
        selected.clear()
    for entry in selected:
        yield entry
    if not follow or log is None or log.current is None:  # a container that never ran has no log to follow
        return
    while True:
        running = is_running()
        rotated = _rotated_away(log)  # looked at first: all the old file will ever hold is read below
        size = os.fstat(log.current.fileno()).st_size
        if size < offset:  # emptied by a rotation with max-file 1
            offset = 0
        grew = size > offset
        if grew:
            async for offset, entry in _entries(log.current, offset):
                if until and parse_rfc3339(entry.get("time", "")) > until:
                    return
                if _wanted(entry, streams, since, until):
                    yield entry
        if rotated:  # go on with the new live file, after any rotated away before we got here
            passed = os.fstat(log.current.fileno()).st_ino
            log.current.close()
            log.current, offset = open_log_file(log.path), 0
            for missed in _rotated_after(log, passed):
                try:
                    async for _, entry in _entries(missed):
                        if until and parse_rfc3339(entry.get("time", "")) > until:
                            return
                        if _wanted(entry, streams, since, until):
                            yield entry
                finally:
                    missed.close()
            if log.current is None:  # removed meanwhile
                return
            continue
        if grew:
            continue
        if not running:
            return
        await asyncio.sleep(0.05)
