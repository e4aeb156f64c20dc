"""The daemon's event bus: `docker events` and the /events stream."""
from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import AsyncIterator, Callable

log = logging.getLogger("dockyard.events")


class EventBus:
    def __init__(self, keep: int = 2048):
        self._history: collections.deque[dict] = collections.deque(maxlen=keep)
        self._subscribers: set[asyncio.Queue] = set()
        self._listeners: list[Callable[[dict], None]] = []

    def add_listener(self, listener: Callable[[dict], None]) -> None:
        """Call `listener(event)` for every event, synchronously (services reacting to each other's changes)."""
        self._listeners.append(listener)

    def emit(self, type_: str, action: str, actor_id: str, attributes: dict | None = None) -> dict:
        now = time.time_ns()
        attrs = {k: v for k, v in (attributes or {}).items() if v is not None}
        event = {"Type": type_, "Action": action, "Actor": {"ID": actor_id, "Attributes": attrs},
                 "scope": "local", "time": now // 1_000_000_000, "timeNano": now}
        if type_ in ("container", "image"):  # the deprecated top-level fields old clients still read
            event["status"], event["id"] = action, actor_id
            if "image" in attrs:
                event["from"] = attrs["image"]
        self._history.append(event)
        for q in list(self._subscribers):
            q.put_nowait(event)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a listener's bug must not fail the change that emitted the event
                log.exception("event listener failed on %s %s", type_, action)
        return event

    async def stream(self, since: float | None, until: float | None) -> AsyncIterator[dict]:
        """Past events since `since`, then live ones until `until` (if given)."""
        q: asyncio.Queue = asyncio.Queue()
        self._subscribers.add(q)
        try:
            if since is not None:
                for ev in list(self._history):
                    if ev["timeNano"] >= since * 1e9 and (until is None or ev["timeNano"] <= until * 1e9):
                        yield ev
            while True:
                timeout = None if until is None else until - time.time()
                if timeout is not None and timeout <= 0:
                    return
                try:
                    ev = await asyncio.wait_for(q.get(), timeout)
                except asyncio.TimeoutError:
                    return
                if until is not None and ev["timeNano"] > until * 1e9:
                    return
                yield ev
        finally:
            self._subscribers.discard(q)
