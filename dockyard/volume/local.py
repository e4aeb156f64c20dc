"""The `local` volume driver: a directory per volume under <data-root>/volumes/<name>/_data, mounted from a
device while containers use it when created with `-o type=... -o device=...` (moby's volume/local)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from ..errors import SystemError_
from ..store.snapshots.mount import is_mountpoint
from . import options as mount_options


class LocalDriver:
    name = "local"
    scope = "local"

    def __init__(self, root: Path, options_of: Callable[[str], dict]):
        self.root = root
        self.options_of = options_of  # the catalogue keeps each volume's -o options
        root.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> str:
        return str(self.root / name / "_data")

    def create(self, name: str, options: dict) -> None:
        mount_options.validate(name, options)
        Path(self.path(name)).mkdir(parents=True, exist_ok=True)

    def needs_mount(self, name: str) -> bool:
        """A volume with a device or type option: its _data is a mount while a running container uses it."""
        return mount_options.needs_mount(self.options_of(name))

    def mount(self, name: str, mount_id: str) -> str:
        """Mount the volume's device on its _data (moby's localVolume.Mount), if it has one and is not mounted."""
        path = self.path(name)
        opts = self.options_of(name)
        if mount_options.needs_mount(opts):
            try:
                mount_options.mount_volume(opts, path)
            except SystemError_ as err:
                raise SystemError_(f"error while mounting volume '{path}': {err}") from None
        return path

    def unmount(self, name: str, mount_id: str) -> None:
        if self.needs_mount(name):
            mount_options.unmount_volume(self.path(name))

    def remove(self, name: str) -> None:
        path = self.path(name)
        mount_options.unmount_volume(path)
        if is_mountpoint(path):  # never delete what a device or a bound host directory holds
            raise SystemError_(f"remove {name}: volume path '{path}' is still mounted")
        shutil.rmtree(self.root / name, ignore_errors=True)
