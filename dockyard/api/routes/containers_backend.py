"""What the container routes (routes/containers.py) ask of the daemon: moby's router/container/backend.go."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable, Protocol

from ..backends import backend_key

if TYPE_CHECKING:
    from ...daemon.container_record import Container
    from ...filters import Filters


class ContainerLookup(Protocol):
    def get(self, ref: str) -> Container:
        """The container a full ID, name or unique ID prefix names; NotFound / InvalidParameter otherwise."""


class MonitorLookup(Protocol):
    """The monitors of running containers, which attach and resize talk to."""

    def get(self, cid: str) -> Any | None: ...

    def add_pending_attach(self, cid: str, connect: Callable[[Any], Awaitable[None]]) -> None: ...

    def drop_pending_attach(self, cid: str, connect: Callable[[Any], Awaitable[None]]) -> None: ...


class ContainerFilesBackend(Protocol):
    """moby's copyBackend and the changes/export of its stateBackend."""

    async def changes(self, ref: str) -> list[dict]: ...

    def export(self, ref: str) -> AsyncIterator[bytes]: ...

    async def path_stat(self, ref: str, path: str) -> dict: ...

    async def get_archive(self, ref: str, path: str) -> tuple[dict, AsyncIterator[bytes]]: ...

    async def put_archive(self, ref: str, path: str, tar_path: str, no_overwrite_dir: bool = False,
                          copy_uid_gid: bool = False) -> None: ...


class EventSink(Protocol):
    def emit(self, type_: str, action: str, actor_id: str, attributes: dict | None = None) -> dict: ...


class ContainerBackend(Protocol):
    store: ContainerLookup
    monitors: MonitorLookup
    files: ContainerFilesBackend
    events: EventSink

    async def create(self, body: dict, name: str | None = None, platform: str | None = None) -> dict: ...

    def list(self, all_: bool = False, limit: int | None = None, size: bool = False,
             filters: Filters | None = None) -> list[dict]: ...

    def inspect(self, ref: str, size: bool = False) -> dict: ...

    async def start(self, ref: str) -> None: ...

    async def stop(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None: ...

    async def restart(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None: ...

    async def kill(self, ref: str, signal: str | None = None) -> None: ...

    async def pause(self, ref: str) -> None: ...

    async def unpause(self, ref: str) -> None: ...

    async def wait(self, ref: str, condition: str = "not-running") -> dict: ...

    async def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None: ...

    async def rename(self, ref: str, new_name: str) -> None: ...

    async def top(self, ref: str, ps_args: str = "-ef") -> dict: ...

    async def prune(self, filters: Filters) -> dict: ...

    async def update(self, ref: str, body: dict) -> dict: ...


class LinkBackend(Protocol):
    """`docker rm --link`: the legacy links live with the networks."""

    async def remove_link(self, name: str) -> None: ...


class CommitBackend(Protocol):
    async def commit(self, container_ref: str, *, repo: str = "", tag: str = "", comment: str = "",
                     author: str = "", pause: bool = True, changes=(), config_override: dict | None = None) -> str: ...


CONTAINERS = backend_key(ContainerBackend)
LINKS = backend_key(LinkBackend)
COMMIT = backend_key(CommitBackend)
