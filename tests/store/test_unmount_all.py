"""unmount_all undoes stacked mounts by unmounting until the kernel says "not mounted"."""
from __future__ import annotations

import os

import pytest

from dockyard.store.snapshots.mount import is_mountpoint, mount, unmount_all

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def test_stacked_mounts_all_go_and_a_plain_dir_is_left_alone(tmp_path):
    target = tmp_path / "t"
    target.mkdir()
    mount("tmpfs", str(target), "tmpfs", "size=1m")
    (target / "lower").write_text("x")
    mount("tmpfs", str(target), "tmpfs", "size=1m")  # stacked on the first
    assert is_mountpoint(str(target))
    assert unmount_all(str(target)) is True
    assert not is_mountpoint(str(target)) and os.listdir(target) == []
    assert unmount_all(str(target)) is True  # nothing mounted: nothing to do
    assert unmount_all(str(tmp_path / "missing")) is True


def test_a_mount_point_whose_path_has_a_space_is_seen(tmp_path):
    target = tmp_path / "data root" / "t"  # mountinfo writes the space as \040
    target.mkdir(parents=True)
    mount("tmpfs", str(target), "tmpfs", "size=1m")
    try:
        assert is_mountpoint(str(target)) and not is_mountpoint(str(target.parent))
    finally:
        unmount_all(str(target))
    assert not is_mountpoint(str(target))
