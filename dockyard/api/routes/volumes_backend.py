"""What the volume routes (routes/volumes.py) ask of the daemon: moby's router/volume/backend.go."""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..backends import backend_key

if TYPE_CHECKING:
    from ...filters import Filters


class VolumeBackend(Protocol):
    def list(self, filters: Filters) -> dict: ...

    def create(self, body: dict) -> dict: ...

    def prune(self, filters: Filters) -> dict: ...

    def inspect(self, name: str) -> dict: ...

    def remove(self, name: str, force: bool = False) -> None: ...


VOLUMES = backend_key(VolumeBackend)
