"""What the exec routes (routes/exec.py) ask of the daemon: moby's router/container execBackend."""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..backends import backend_key
from .containers_backend import ContainerLookup

if TYPE_CHECKING:
    from ...daemon.attach import AttachSink
    from ...daemon.exec import ExecRecord


class ExecBackend(Protocol):
    store: ContainerLookup

    def get(self, exec_id: str) -> ExecRecord: ...

    def create(self, container_ref: str, body: dict) -> dict: ...

    async def start(self, exec_id: str, hijacked: AttachSink | None = None, raw_stream: bool | None = None) -> None: ...

    async def resize(self, exec_id: str, height: int, width: int) -> None: ...

    def inspect(self, exec_id: str) -> dict: ...


EXECS = backend_key(ExecBackend)
