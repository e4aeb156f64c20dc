"""What the system routes (routes/system.py) ask of the daemon: moby's router/system/backend.go."""
from __future__ import annotations

from typing import AsyncIterator, Protocol

from ..backends import backend_key


class SystemBackend(Protocol):
    def version(self) -> dict: ...

    def info(self) -> dict: ...

    def disk_usage(self, types: set[str] | None = None) -> dict: ...


class EventSource(Protocol):
    def stream(self, since: float | None, until: float | None) -> AsyncIterator[dict]: ...


SYSTEM = backend_key(SystemBackend)
EVENTS = backend_key(EventSource)
