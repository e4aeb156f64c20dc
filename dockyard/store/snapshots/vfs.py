"""vfs driver: every layer and container root is a full copy. Slow, but needs nothing from the kernel."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def _copy_tree(src: Path, dst: Path) -> None:
    subprocess.run(["cp", "-a", "--reflink=auto", f"{src}/.", str(dst)], check=True)


class VfsDriver:
    name = "vfs"
    apply_mode = "vfs"  # whiteouts delete from the copied parent

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def layer_dir(self, cache_id: str) -> Path:
        return self.root / cache_id

    def create_layer(self, cache_id: str, parent_cache_id: str | None) -> Path:
        d = self.layer_dir(cache_id)
        d.mkdir(parents=True)
        if parent_cache_id:
            _copy_tree(self.layer_dir(parent_cache_id), d)
        return d

    def remove_layer(self, cache_id: str) -> None:
        shutil.rmtree(self.layer_dir(cache_id), ignore_errors=True)

    def create_rw(self, rw_id: str, chain_cache_ids: list[str]) -> None:
        d = self.layer_dir(rw_id)
        d.mkdir(parents=True, exist_ok=True)
        if chain_cache_ids:
            _copy_tree(self.layer_dir(chain_cache_ids[-1]), d)

    def mount_rw(self, rw_id: str, chain_cache_ids: list[str]) -> Path:
        return self.layer_dir(rw_id)

    def unmount_rw(self, rw_id: str) -> None:
        pass

    def remove_rw(self, rw_id: str) -> None:
        self.remove_layer(rw_id)

    def rw_upper(self, rw_id: str) -> Path:
        return self.layer_dir(rw_id)

    def rw_root(self, rw_id: str) -> Path:
        return self.layer_dir(rw_id)

    def known_ids(self) -> set[str]:
        return {p.name for p in self.root.iterdir()}

    def remove_orphan(self, dir_id: str) -> None:
        """Remove a layer or container dir nothing refers to (left by a crash); vfs mounts nothing."""
        self.remove_layer(dir_id)

    def remove_dangling_links(self) -> list[str]:
        return []
