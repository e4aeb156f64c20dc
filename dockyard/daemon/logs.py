"""Reading json-file logs (one `{"log","stream","time"}` object per line) for `docker logs`."""
from __future__ import annotations

import asyncio
import json
import os
from collections import deque
from typing import AsyncIterator, Callable

from ..timefmt import parse_rfc3339


def _entries(path: str, start: int = 0):
    """(offset_after, entry) for each complete line from byte offset `start`."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return
    with f:
        f.seek(start)
        offset = start
        for line in f:
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


async def read_logs(path: str, *, stdout: bool, stderr: bool, since: float = 0, until: float | None = None,
                    tail: int | None = None, follow: bool = False,
                    is_running: Callable[[], bool] = lambda: False) -> AsyncIterator[dict]:
    streams = {s for s, on in (("stdout", stdout), ("stderr", stderr)) if on}
    selected: deque = deque(maxlen=tail if tail is not None and tail >= 0 else None)
    offset = 0
    for offset, entry in _entries(path):
        if _wanted(entry, streams, since, until):
            selected.append(entry)
    if tail == 0:
        selected.clear()
    for entry in selected:
        yield entry
    if not follow:
        return
    while True:
        running = is_running()
        size = os.path.getsize(path) if os.path.exists(path) else 0
        if size > offset:
            for offset, entry in _entries(path, offset):
                if until and parse_rfc3339(entry.get("time", "")) > until:
                    return
                if _wanted(entry, streams, since, until):
                    yield entry
            continue
        if not running:
            return
        await asyncio.sleep(0.05)
