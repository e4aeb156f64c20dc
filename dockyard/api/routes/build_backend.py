"""What the build routes (routes/build.py) ask of the daemon: moby's router/build/backend.go."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..backends import backend_key
from .images_backend import Progress

if TYPE_CHECKING:
    from ...build.builder import BuildOptions
    from ...filters import Filters


class BuilderBackend(Protocol):
    async def build(self, context_dir: Path, opts: BuildOptions, emit: Progress) -> str: ...


class BuildCachePruner(Protocol):
    """POST /build/prune: the classic builder's cache is the images its steps commit (build/prune.py)."""

    def __call__(self, all_: bool = False, filters: Filters | None = None) -> dict: ...


BUILDER = backend_key(BuilderBackend, optional=True)  # absent from a daemon built without the builder
BUILD_CACHE = backend_key(BuildCachePruner, optional=True)
