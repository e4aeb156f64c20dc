"""What the builder needs from the engine, and nothing more (moby's builder.Backend): the daemon passes an object
that satisfies `BuildBackend`, so build/ never imports the daemon."""
from __future__ import annotations

from pathlib import Path
from typing import Awaitable, BinaryIO, Callable, Protocol

# A step container's output: (stream 1 or 2, bytes).
Output = Callable[[int, bytes], Awaitable[None]]
# Pull progress messages, as the registry client emits them.
Progress = Callable[[dict], Awaitable[None]]


class BuildImage(Protocol):
    id: str
    parent: str
    config: dict        # the image's whole config (history, rootfs, config)
    top_chain: str | None


class BuildBackend(Protocol):
    tmp_dir: Path       # staging space on the data root's filesystem

    # images
    def get_image(self, image_id: str) -> BuildImage: ...
    def resolve_image(self, name: str) -> str: ...                   # its ID; NotFound when absent
    def image_children(self, image_id: str) -> list[str]: ...        # "" lists the images with no parent
    def add_image(self, config: bytes, parent: str, parsed: dict | None = None) -> str: ...  # parsed: all but history
    def tag_image(self, image_id: str, ref: str) -> None: ...
    def register_layer(self, tar: BinaryIO, parent_chain: str | None) -> str: ...  # the layer's diff ID
    async def pull(self, name: str, auth: dict | None, progress: Progress) -> None: ...  # NotFound if it cannot

    # step containers
    async def create_container(self, config: dict) -> str: ...
    async def container_root(self, container_id: str) -> str: ...  # its mounted root filesystem
    async def run_container(self, container_id: str, output: Output) -> int: ...  # start, stream, exit code
    async def commit(self, container_id: str, config: dict, author: str, created_by: str,
                     source_date_epoch: int | None) -> str: ...
    async def remove_container(self, container_id: str) -> None: ...
