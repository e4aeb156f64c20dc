"""The Snapshotter interface: where layer contents live on disk, described as mount specs.

As containerd's snapshotters, a snapshotter keeps snapshots by key (a layer's cache ID, a container's RW
layer ID, its `<id>-init` layer) and never mounts them itself: `mounts()` returns `Mount` specs
(store/snapshots/mount.py) and the layer store mounts them with `mount_all`. The layer store keeps the chain
(SQLite `layers.parent`), so a snapshotter is told a snapshot's parents when that matters (mounting) rather
than walking them itself on every layer it creates. Implementations: `overlay.py` (overlay2-like, copy on
write), `vfs.py` (a full copy per snapshot). One contract suite, tests/store/test_snapshotter_contract.py,
runs against both.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .mount import Mount

if TYPE_CHECKING:
    from ..trash import Trash


class Snapshotter(Protocol):
    name: str        # Docker's storage driver name ("overlay2", "vfs"): `docker info`, inspect GraphDriver
    apply_mode: str  # how a layer tar's whiteouts are written into a snapshot (image/unpack.apply_layer)
    trash: "Trash | None"  # where remove() puts a snapshot, mounted or not, to be unmounted and deleted later

    def prepare(self, key: str, parent: str | None) -> Path:
        """A new writable snapshot on top of `parent` (a committed snapshot, or None); returns the dir
        holding its own changes, into which a layer tar is applied (vfs starts it as a copy of the parent)."""
        ...

    def commit(self, key: str) -> None:
        """The prepared snapshot becomes a read-only layer others may be prepared on."""
        ...

    def mounts(self, key: str, parents: list[str]) -> list[Mount]:
        """How to mount snapshot `key` over its `parents` (bottom first) to see the merged tree."""
        ...

    def mountpoint(self, key: str) -> Path:
        """Where the layer store mounts a container's root (inspect's MergedDir)."""
        ...

    def upper(self, key: str) -> Path:
        """The dir of the snapshot's own contents (the upper dir; for vfs the whole copy)."""
        ...

    def usage(self, key: str) -> int:
        """Bytes the snapshot's own contents take."""
        ...

    def remove(self, key: str) -> None:
        """Delete the snapshot's dirs: the caller has unmounted it, unless the snapshotter has a trash."""
        ...

    def keys(self) -> set[str]:
        """Every snapshot on disk (the start-up sweep compares them with what the metadata knows)."""
        ...

    def cleanup(self) -> list[str]:
        """Remove the snapshotter's own leftovers of a crash (overlay: dangling l/ links); their names."""
        ...
