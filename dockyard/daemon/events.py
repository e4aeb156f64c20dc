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
        self._attribute_sources: dict[str, Callable[[str], dict]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None  # the subscribers' loop

    def add_listener(self, listener: Callable[[dict], None]) -> None:
        """Call `listener(event)` for every event, synchronously (services reacting to each other's changes)."""
        self._listeners.append(listener)

    def add_attribute_source(self, type_: str, source: Callable[[str], dict]) -> None:
        """`source(actor_id)` gives labels every event of this type carries in its attributes (moby copies a
        container's labels into its events), whoever emits the event."""
        self._attribute_sources[type_] = source

    def _attributes(self, type_: str, actor_id: str, given: dict | None) -> dict:
        given = {k: v for k, v in (given or {}).items() if v is not None}
        source = self._attribute_sources.get(type_)
        try:
            labels = source(actor_id) if source else {}
        except Exception:  # the lookup must not fail the change that emitted the event
            log.exception("event attributes of %s %s", type_, actor_id)
            labels = {}
        # as moby: the labels over the event's own attributes, then its image and name over both
        kept = {k: given[k] for k in ("image", "name") if k in given}
        return {**given, **{k: str(v) for k, v in labels.items()}, **kept}

    def emit(self, type_: str, action: str, actor_id: str, attributes: dict | None = None) -> dict:
        now = time.time_ns()
        attrs = self._attributes(type_, actor_id, attributes)
        event = {}
        if type_ in ("container", "image"):  # the deprecated top-level fields old clients still read
            event["status"], event["id"] = action, actor_id
            if "image" in attrs:
                event["from"] = attrs["image"]
        # keys in the order of moby's events.Message, as `docker events --format json` prints them
        event.update({"Type": type_, "Action": action, "Actor": {"ID": actor_id, "Attributes": attrs},
                      "scope": "local", "time": now // 1_000_000_000, "timeNano": now})
        self._history.append(event)
        if self._subscribers:
            # services also emit from blocking() pool threads; asyncio queues are the loop's alone
            if _running_loop() is self._loop:
                self._deliver(event)
            else:
                try:
                    self._loop.call_soon_threadsafe(self._deliver, event)
                except RuntimeError:  # the loop is closed (shutting down): nobody to deliver to
                    pass
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a listener's bug must not fail the change that emitted the event
                log.exception("event listener failed on %s %s", type_, action)
        return event

    def _deliver(self, event: dict) -> None:
        for q in list(self._subscribers):
            q.put_nowait(event)

    async def stream(self, since: float | None, until: float | None) -> AsyncIterator[dict]:
        """Past events since `since`, then live ones until `until` (if given)."""
        q: asyncio.Queue = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
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


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
