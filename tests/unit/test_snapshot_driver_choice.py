"""choose_driver: the storage driver a daemon gets from --storage-driver, a data root's prior layers, or a probe."""
import pytest

from dockyard.errors import InvalidParameter
from dockyard.store import snapshots
from dockyard.store.snapshots import OverlayDriver, VfsDriver, choose_driver


@pytest.fixture
def overlay_works(monkeypatch):
    """Set whether the overlay probe mount succeeds, without mounting anything."""
    def set_to(works: bool):
        monkeypatch.setattr(snapshots, "overlay_supported", lambda root: works)
    return set_to


def test_overlay_is_chosen_when_the_probe_mount_works(tmp_path, overlay_works):
    overlay_works(True)
    assert isinstance(choose_driver(tmp_path), OverlayDriver)


def test_vfs_is_the_automatic_fallback_without_overlay(tmp_path, overlay_works):
    overlay_works(False)
    driver = choose_driver(tmp_path)
    assert isinstance(driver, VfsDriver) and driver.name == "vfs"


def test_an_explicit_vfs_is_honoured_even_with_overlay(tmp_path, overlay_works):
    overlay_works(True)
    assert isinstance(choose_driver(tmp_path, "vfs"), VfsDriver)


@pytest.mark.parametrize("name", ["overlay2", "overlay"])
def test_an_explicit_overlay_without_kernel_support_is_an_error(tmp_path, overlay_works, name):
    overlay_works(False)
    with pytest.raises(InvalidParameter, match=f"driver not supported: {name}"):
        choose_driver(tmp_path, name)


def test_an_unknown_driver_name_is_an_error(tmp_path, overlay_works):
    overlay_works(True)
    with pytest.raises(InvalidParameter, match="driver not supported: btrfs"):
        choose_driver(tmp_path, "btrfs")


def test_a_data_root_keeps_the_driver_its_layers_are_in(tmp_path, overlay_works):
    overlay_works(True)
    (tmp_path / "vfs" / "0123abcd").mkdir(parents=True)  # a layer stored by an earlier `-s vfs` daemon
    assert isinstance(choose_driver(tmp_path), VfsDriver)


def test_an_empty_driver_dir_is_not_a_prior_choice(tmp_path, overlay_works):
    overlay_works(True)
    (tmp_path / "vfs").mkdir()
    (tmp_path / "overlay" / "l").mkdir(parents=True)  # what a fresh overlay driver creates
    assert isinstance(choose_driver(tmp_path), OverlayDriver)
