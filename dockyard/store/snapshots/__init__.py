"""Snapshot drivers (the Snapshotter interface, snapshotter.py): where layer contents live on disk, and the
mount specs that assemble a container's root from them (mount.py mounts them).

`overlay` stacks read-only layer dirs under a per-container upper dir (copy-on-write, like overlay2);
`vfs` keeps a full copy per layer and per container (slow, works anywhere). Without a `--storage-driver`
the daemon keeps the driver a data root already has layers in (like dockerd's "prior storage driver"),
else picks overlay when a probe mount succeeds and vfs when it does not.
"""
from __future__ import annotations

from pathlib import Path

from ...errors import InvalidParameter
from .overlay import OverlayDriver, overlay_supported
from .snapshotter import Snapshotter
from ..trash import Trash
from .vfs import VfsDriver

OVERLAY_NAMES = ("overlay2", "overlay")
DRIVER_DIRS = {"overlay2": "overlay", "vfs": "vfs"}


def choose_driver(root: Path, name: str | None = None, trash: Trash | None = None) -> Snapshotter:
    """`trash`: where removed snapshots go to be deleted in the background (None: deleted in place)."""
    name = name or prior_driver(root) or ("overlay2" if overlay_supported(root) else "vfs")
    if name in OVERLAY_NAMES:
        if not overlay_supported(root):
            raise InvalidParameter(f"error initializing graphdriver: driver not supported: {name} "
                                   f"(overlay mounts fail on {root})")
        return OverlayDriver(root / DRIVER_DIRS["overlay2"], trash)
    if name == "vfs":
        return VfsDriver(root / DRIVER_DIRS["vfs"], trash)
    raise InvalidParameter(f"error initializing graphdriver: driver not supported: {name}")


def prior_driver(root: Path) -> str | None:
    """The one driver whose directory under `root` already holds layers, if exactly one does."""
    used = [name for name, d in DRIVER_DIRS.items() if _has_entries(root / d)]
    return used[0] if len(used) == 1 else None


def _has_entries(path: Path) -> bool:
    return path.is_dir() and any(p.name not in ("l", "empty") for p in path.iterdir())
