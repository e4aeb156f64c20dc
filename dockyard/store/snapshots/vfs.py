"""vfs snapshotter: every snapshot is a full copy of its parent plus its changes. Slow, but needs nothing from
the kernel but a bind mount; its mount spec is a bind of the snapshot's dir."""
from __future__ import annotations

import subprocess
from pathlib import Path

from ..fsutil import dir_size
from ..trash import Trash, remove_tree
from .mount import Mount


def _copy_tree(src: Path, dst: Path) -> None:
    subprocess.run(["cp", "-a", "--reflink=auto", f"{src}/.", str(dst)], check=True)


class VfsDriver:
    name = "vfs"
    apply_mode = "vfs"  # whiteouts delete from the copied parent

    def __init__(self, root: Path, trash: Trash | None = None):
        self.root = root
        self.trash = trash
        root.mkdir(parents=True, exist_ok=True)

    def upper(self, key: str) -> Path:
        return self.root / key

    layer_dir = upper  # inspect's GraphDriver data names the layer dirs

    def prepare(self, key: str, parent: str | None) -> Path:
        d = self.upper(key)
        d.mkdir(parents=True, exist_ok=True)
        if parent:
            _copy_tree(self.upper(parent), d)
        return d

    def commit(self, key: str) -> None:
        pass  # a vfs layer is a plain directory: nothing to seal

    def mounts(self, key: str, parents: list[str]) -> list[Mount]:
        return [Mount("bind", str(self.upper(key)), ("rbind", "rw"))]

    def mountpoint(self, key: str) -> Path:
        return self.upper(key)  # bound onto itself: the container's root is its copy

    def usage(self, key: str) -> int:
        return dir_size(self.upper(key))

    def remove(self, key: str) -> None:
        remove_tree(self.upper(key), self.trash)

    def keys(self) -> set[str]:
        return {p.name for p in self.root.iterdir()}

    def cleanup(self) -> list[str]:
        return []
