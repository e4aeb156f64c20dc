"""The snapshotters a test can use here, by Docker's driver name (overlay skipped where it does not mount)."""
import pytest

from dockyard.store.snapshots import OverlayDriver, VfsDriver, overlay_supported
from dockyard.store.trash import Trash

NAMES = ["overlay2", "vfs"]


def snapshotter_for(name: str, tmp_path):
    """With a trash, as the daemon makes them: removed snapshots are deleted in the background."""
    trash = Trash(tmp_path / "trash")
    if name == "overlay2":
        if not overlay_supported(tmp_path / "probe"):
            pytest.skip("overlayfs does not mount here")
        return OverlayDriver(tmp_path / "overlay", trash)
    return VfsDriver(tmp_path / "vfs", trash)
