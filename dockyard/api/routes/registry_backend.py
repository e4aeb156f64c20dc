"""What the registry routes (routes/registry.py) ask of the daemon (auth, search, push, distribution)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..backends import backend_key
from .images_backend import Progress

if TYPE_CHECKING:
    from ...filters import Filters


class RegistryBackend(Protocol):
    async def login(self, auth_config: dict) -> dict: ...

    async def search(self, term: str, limit: int | None = None, filters: Filters | None = None,
                     auth=None) -> list[dict]: ...

    async def push(self, name: str, tag: str | None = None, *, auth=None, progress: Progress) -> None: ...

    async def distribution_inspect(self, name: str, auth=None) -> dict: ...


REGISTRY = backend_key(RegistryBackend, optional=True)  # absent from a daemon built without registry access
