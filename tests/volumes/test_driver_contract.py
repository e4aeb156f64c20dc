"""One contract for every VolumeDriver, run against `local` and a real plugin over Docker's volume plugin
protocol: create, mount for a container (a host directory it can bind), data kept across mounts, unmount,
remove (the data goes)."""
from __future__ import annotations

import os
import secrets

import pytest

from dockyard.volume.local import LocalDriver
from dockyard.volume.plugin import PluginDriver

from .plugin_server import VolumePlugin


@pytest.fixture(params=["local", "plugin"])
def driver(request, tmp_path):
    if request.param == "local":
        yield LocalDriver(tmp_path / "volumes", lambda name: {})
        return
    plugin = VolumePlugin("dytest" + secrets.token_hex(4), str(tmp_path / "plugin"))
    try:
        yield PluginDriver.lookup(plugin.name)
    finally:
        plugin.close()


def test_a_volume_lives_from_create_to_remove(driver):
    driver.create("v1", {})
    path = driver.mount("v1", "c1")
    assert os.path.isdir(path)
    with open(os.path.join(path, "f"), "w") as f:
        f.write("kept")
    driver.unmount("v1", "c1")
    again = driver.mount("v1", "c2")
    with open(os.path.join(again, "f")) as f:
        assert f.read() == "kept"
    assert driver.path("v1") == again
    driver.unmount("v1", "c2")
    driver.remove("v1")
    assert not os.path.exists(again)


def test_two_containers_mount_the_same_volume(driver):
    driver.create("shared", {})
    assert driver.mount("shared", "a") == driver.mount("shared", "b")
    driver.unmount("shared", "a")
    driver.unmount("shared", "b")
    driver.remove("shared")


def test_every_driver_says_its_scope(driver):
    assert driver.scope == "local" and driver.name
