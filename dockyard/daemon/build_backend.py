"""The daemon's side of build/backend.py's `BuildBackend`: the builder's few calls, answered by the image,
layer, container and registry services (the builder never sees them)."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import BinaryIO

from ..build.backend import Output, Progress
from ..errors import NotFound
from .commit import commit


class DaemonBuildBackend:
    def __init__(self, config, images, layers, containers, events, registry=None):
        # commit() reads these attribute names (config, images, layers, containers, events)
        self.config, self.images, self.layers, self.containers, self.events = config, images, layers, containers, events
        self.registry = registry
        self.tmp_dir: Path = config.data_root / "tmp"

    # images
    def get_image(self, image_id: str):
        return self.images.get(image_id)

    def resolve_image(self, name: str) -> str:
        return self.images.resolve(name)[0]

    def image_children(self, image_id: str) -> list[str]:
        if image_id:
            return self.images.children_of(image_id)
        return [i.id for i in self.images.all_images() if not i.parent]

    def add_image(self, config: bytes, parent: str, parsed: dict | None = None) -> str:
        return self.images.add_image(config, parent=parent, parsed=parsed)

    def tag_image(self, image_id: str, ref: str) -> None:
        self.images.tag(image_id, ref)

    def register_layer(self, tar: BinaryIO, parent_chain: str | None) -> str:
        return self.layers.register(tar, parent_chain).diff_id

    async def pull(self, name: str, auth: dict | None, progress: Progress) -> None:
        if self.registry is None:
            raise NotFound(f"No such image: {name}")
        await self.registry.pull(name, auth=auth, progress=progress)

    # step containers
    async def create_container(self, config: dict) -> str:
        return (await self.containers.create(config, build_step=True))["Id"]

    async def container_root(self, container_id: str) -> str:
        return await self.containers.files.root(self.containers.store.get(container_id))

    async def run_container(self, container_id: str, output: Output) -> int:
        done = asyncio.get_running_loop().create_future()

        async def connect(monitor):
            done.set_result(await monitor.attach(stdin=False, stdout=True, stderr=True))

        self.containers.monitors.add_pending_attach(container_id, connect)
        waiter = asyncio.create_task(self.containers.wait(container_id, "next-exit"))
        await self.containers.start(container_id)
        attachment = await done
        while (item := await attachment.read()) is not None:
            await output(item[0], item[1])
        await attachment.close()
        return (await waiter)["StatusCode"]

    async def commit(self, container_id: str, config: dict, author: str, created_by: str,
                     source_date_epoch: int | None) -> str:
        # the step's exact config (so cache keys stay stable), no pause: the step's container has exited
        return await commit(self, container_id, pause=False, config_override=config, author=author,
                            created_by=created_by, source_date_epoch=source_date_epoch)

    async def remove_container(self, container_id: str) -> None:
        await self.containers.remove(container_id, force=True, volumes=True)
