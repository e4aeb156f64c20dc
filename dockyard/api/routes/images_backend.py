"""What the image routes (routes/images.py) ask of the daemon: moby's router/image/backend.go."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, BinaryIO, Callable, Protocol, Sequence

from ..backends import backend_key

if TYPE_CHECKING:
    from ...filters import Filters

Progress = Callable[[dict], Awaitable[None]]
Rows = list[dict]  # spelled here: inside a class with a `list` method, `list` names the method


class ImageBackend(Protocol):
    def list(self, all_: bool = False, filters: Filters | None = None, digests: bool = False) -> Rows: ...

    def inspect(self, name: str) -> dict: ...

    def history(self, name: str) -> Rows: ...

    def tag(self, source: str, target: str) -> None: ...

    def remove(self, name: str, force: bool = False, prune: bool = True) -> Rows: ...

    def prune(self, all_: bool = False, filters: Filters | None = None) -> dict: ...


class ImageArchiveBackend(Protocol):
    """docker import, load and save."""

    def import_rootfs(self, tar: BinaryIO, repo: str = "", tag: str = "", message: str = "",
                      changes: Sequence[str] = (), source: str = "-", platform: str = "") -> str: ...

    def load(self, tar_path: Path) -> list[str]: ...

    def save(self, names: list[str], out: BinaryIO) -> None: ...


class PullBackend(Protocol):
    async def pull(self, ref: str, *, platform: str | None = None, all_tags: bool = False, auth=None,
                   progress: Progress) -> None: ...


IMAGES = backend_key(ImageBackend)
ARCHIVES = backend_key(ImageArchiveBackend)
PULL = backend_key(PullBackend, optional=True)  # absent from a daemon built without registry access
