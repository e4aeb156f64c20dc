"""Reading json-file logs (one `{"log","stream","time"}` object per line) for `docker logs`."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections import deque
from typing import AsyncIterator, BinaryIO, Callable, Iterator

from ..timefmt import parse_rfc3339


def open_log(path: str) -> BinaryIO | None:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def opened_log(path: str) -> Iterator[BinaryIO | None]:
    """Open a container's log when the request arrives, before anything is sent: its lines then stay
    readable through this handle even if the container is removed (and its log deleted) before they are
    read, as docker-py's `run(remove=True)` does (it starts `logs`, waits, removes, then reads)."""
    log = open_log(path)
    try:
        yield log
    finally:
        if log is not None:
            log.close()


def _entries(log: BinaryIO | None, start: int = 0):
    """(offset_after, entry) for each complete line from byte offset `start`."""
    if log is None:
        return
    log.seek(start)
    offset = start
    for line in log:
        if not line.endswith(b"\n"):
            break  # a line still being written; the follower picks it up later
        offset += len(line)
        try:
            yield offset, json.loads(line)
        except ValueError:
            continue


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


async def read_logs(log: BinaryIO | None, *, stdout: bool, stderr: bool, since: float = 0,
                    until: float | None = None, tail: int | None = None, follow: bool = False,
                    is_running: Callable[[], bool] = lambda: False) -> AsyncIterator[dict]:
    """The entries of `log` (see opened_log); following, new ones until the container stops."""
    streams = {s for s, on in (("stdout", stdout), ("stderr", stderr)) if on}
    selected: deque = deque(maxlen=tail if tail is not None and tail >= 0 else None)
    offset = 0
    for offset, entry in _entries(log):
        if _wanted(entry, streams, since, until):
            selected.append(entry)
    if tail == 0:
        selected.clear()
    for entry in selected:
        yield entry
    if not follow or log is None:  # a container that never ran has no log to follow either
        return
    while True:
        running = is_running()
        if os.fstat(log.fileno()).st_size > offset:
            for offset, entry in _entries(log, offset):
                if until and parse_rfc3339(entry.get("time", "")) > until:
                    return
                if _wanted(entry, streams, since, until):
                    yield entry
            continue
        if not running:
            return
        await asyncio.sleep(0.05)
