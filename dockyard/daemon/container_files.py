"""A container's filesystem seen from outside: `docker cp` (stat, get, put), `export` and `diff`, and the
rootfs mounted for them. A stopped container's rootfs is mounted only while one of them reads it; the
container service asks `unmount_if_stopped` after an exit, under the container's lock from the store."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path

from ..blocking import bulk
from ..errors import NotFound
from ..image.layers import LayerStore
from . import container_fs, mounts
from .container_record import Container
from .container_store import ContainerStore
from .events import EventBus
from .images import ImageService

log = logging.getLogger("dockyard.containers")


class ContainerFiles:
    def __init__(self, tmp_dir: Path, store: ContainerStore, layers: LayerStore, images: ImageService,
                 events: EventBus):
        self.tmp_dir, self.store, self.layers, self.images, self.events = tmp_dir, store, layers, images, events
        self._users: dict[str, int] = {}  # cp/export holding a stopped container's rootfs mounted

    async def root(self, c: Container) -> str:
        """The container's rootfs, mounted (the builder reads and writes step containers' through it)."""
        image = self.images.get(c.image_id)
        return str(await asyncio.to_thread(self.layers.mount_rw, c.id, image.top_chain))

    async def changes(self, ref: str) -> list[dict]:
        c = self.store.get(ref)
        return await bulk(self.layers.rw_changes, c.id, self.images.get(c.image_id).top_chain)

    async def export(self, ref: str):
        from ..image.layertar import write_dir_tar

        c = self.store.get(ref)
        path = container_fs.temp_tar(self.tmp_dir)
        try:
            async with self.mounted(c) as root:
                with open(path, "wb") as f:
                    await bulk(write_dir_tar, root, f, mode="plain")
        except BaseException:
            os.unlink(path)
            raise
        self.events.emit("container", "export", c.id, {"image": c.image_ref, "name": c.name})
        async for chunk in container_fs.file_chunks(path):
            yield chunk

    @contextlib.asynccontextmanager
    async def _view(self, c: Container, ref: str):
        """What cp sees: the rootfs with the container's volumes, binds and /etc files over it."""
        async with self.mounted(c) as root:
            # a volume-subpath mount shows that directory of the volume, as in the container
            yield container_fs.ContainerView(root, mounts.with_subpaths(c.mount_points) + etc_mounts(c), ref)

    async def path_stat(self, ref: str, path: str) -> dict:
        c = self.store.get(ref)
        async with self._view(c, ref) as view:
            return await asyncio.to_thread(container_fs.path_stat, view, path)

    async def get_archive(self, ref: str, path: str):
        c = self.store.get(ref)
        tar_path = container_fs.temp_tar(self.tmp_dir)
        try:
            async with self._view(c, ref) as view:
                stat = await asyncio.to_thread(container_fs.path_stat, view, path)
                await bulk(container_fs.write_path_tar, view, path, tar_path)
        except BaseException:
            os.unlink(tar_path)
            raise
        return stat, container_fs.file_chunks(tar_path)

    async def put_archive(self, ref: str, path: str, tar_path: str, no_overwrite_dir: bool = False,
                          copy_uid_gid: bool = False) -> None:
        c = self.store.get(ref)
        async with self._view(c, ref) as view:
            await bulk(container_fs.extract_into, view, path, tar_path,
                       bool(c.host_config.get("ReadonlyRootfs")))

    @contextlib.asynccontextmanager
    async def mounted(self, c: Container):
        """The container's rootfs for cp and export: a stopped container's is mounted for the while."""
        async with self.store.lock(c.id):
            root = await self.root(c)
            self._users[c.id] = self._users.get(c.id, 0) + 1
        try:
            yield root
        finally:
            await asyncio.shield(self._done_with_root(c.id))

    async def _done_with_root(self, cid: str) -> None:
        async with self.store.lock(cid):
            left = self._users.pop(cid, 1) - 1
            if left > 0:
                self._users[cid] = left
            else:
                await self.unmount_if_stopped(cid)

    async def unmount_if_stopped(self, cid: str) -> bool:
        """Unmount the rootfs of a container that is not running and that no cp or export is reading (the
        caller holds the container's lock). False if the container is gone."""
        try:
            c = self.store.get(cid)
        except NotFound:
            return False
        if not c.state.Running and not self._users.get(cid):
            try:
                await asyncio.to_thread(self.layers.unmount_rw, cid)
            except OSError as err:
                log.warning("could not unmount the rootfs of %s: %s", cid[:12], err)
        return True


def etc_mounts(c: Container) -> list[dict]:
    """The hostname, hosts and resolv.conf files bind-mounted into every container (moby's NetworkMounts:
    writable unless the rootfs is read-only), except where the user mounted something of their own."""
    taken = {mp["Destination"] for mp in c.mount_points}
    files = (("/etc/hostname", c.hostname_path), ("/etc/hosts", c.hosts_path), ("/etc/resolv.conf", c.resolv_conf_path))
    return [{"Type": "bind", "Source": source, "Destination": dest, "RW": not c.host_config.get("ReadonlyRootfs")}
            for dest, source in files if source and dest not in taken and os.path.exists(source)]
