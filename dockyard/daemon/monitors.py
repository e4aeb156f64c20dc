"""The monitor of each running container (it owns the container's stdio: attach, logs and resize go through
it) and the attaches waiting for a container to start. The container service fills it as containers start
and exit; attach routes and the builder read it, so they need nothing else of the service."""
from __future__ import annotations

from typing import Awaitable, Callable

from ..runtime.monitor_client import Monitor

# Runs with the monitor when the container starts, before its process does (so no output is missed).
Connect = Callable[[Monitor], Awaitable[None]]


class MonitorTable:
    def __init__(self):
        self._monitors: dict[str, Monitor] = {}
        self._pending: dict[str, list[Connect]] = {}

    def get(self, cid: str) -> Monitor | None:
        return self._monitors.get(cid)

    def set(self, cid: str, monitor: Monitor) -> None:
        self._monitors[cid] = monitor

    def pop(self, cid: str) -> Monitor | None:
        return self._monitors.pop(cid, None)

    def all(self) -> list[Monitor]:
        return list(self._monitors.values())

    def add_pending_attach(self, cid: str, connect: Connect) -> None:
        self._pending.setdefault(cid, []).append(connect)

    def drop_pending_attach(self, cid: str, connect: Connect) -> None:
        pending = self._pending.get(cid, [])
        if connect in pending:
            pending.remove(connect)
        if not pending:  # no entry kept for a container nobody waits on (it may never start)
            self._pending.pop(cid, None)

    def take_pending(self, cid: str) -> list[Connect]:
        """The attaches waiting for this container's start, handed over once."""
        return self._pending.pop(cid, [])
