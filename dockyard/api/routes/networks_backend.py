"""What the network routes (routes/networks.py) ask of the daemon: moby's router/network/backend.go."""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..backends import backend_key

if TYPE_CHECKING:
    from ...filters import Filters


class NetworkBackend(Protocol):
    def list(self, filters: Filters) -> list[dict]: ...

    async def create(self, body: dict) -> dict: ...

    async def prune(self, filters: Filters) -> dict: ...

    def inspect(self, ref: str) -> dict: ...

    async def remove(self, ref: str) -> None: ...

    async def connect(self, ref: str, body: dict) -> None: ...

    async def disconnect(self, ref: str, body: dict) -> None: ...


NETWORKS = backend_key(NetworkBackend)
