"""Snapshot drivers: where layer contents live on disk and how a container's root is assembled.

`overlay` stacks read-only layer dirs under a per-container upper dir (copy-on-write, like overlay2);
`vfs` keeps a full copy per layer and per container (slow, works anywhere). The daemon picks overlay
when a probe mount succeeds.
"""
from __future__ import annotations

from pathlib import Path

from .overlay import OverlayDriver, overlay_supported
from .vfs import VfsDriver


def choose_driver(root: Path, name: str | None = None):
    if name in (None, "", "overlay2", "overlay") and overlay_supported(root):
        return OverlayDriver(root / "overlay")
    if name in ("overlay", "overlay2"):
        raise RuntimeError(f"storage driver {name} is not supported on {root}")
    return VfsDriver(root / "vfs")
