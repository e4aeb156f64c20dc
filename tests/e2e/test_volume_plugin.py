"""A volume plugin (Docker's volume plugin protocol, a small one the test runs on /run/docker/plugins)
through the real docker CLI: volumes created on it, mounted into containers (the plugin hears Mount and
Unmount with the container's ID), data kept across containers, removed through it; Docker's errors for a
missing plugin and for a plugin's own failure."""
from __future__ import annotations

import json
import os
import secrets

import pytest

from tests.volumes.plugin_server import VolumePlugin


@pytest.fixture
def plugin(tmp_path):
    p = VolumePlugin("dyplug" + secrets.token_hex(4), str(tmp_path / "plugin-data"), fail_create="full")
    yield p
    p.close()


def test_plugin_volumes_through_the_docker_cli(daemon, plugin):
    daemon.docker("volume", "create", "-d", plugin.name, "-o", "size=1g", "pv1")
    vol = json.loads(daemon.docker("volume", "inspect", "pv1").stdout)[0]
    assert (vol["Driver"], vol["Mountpoint"], vol["Options"]) == (plugin.name, plugin.data_dir("pv1"), {"size": "1g"})
    assert plugin.volumes["pv1"]["opts"] == {"size": "1g"}
    listed = daemon.docker("volume", "ls", "--filter", f"driver={plugin.name}", "--format", "{{.Driver}} {{.Name}}")
    assert listed.stdout.split("\n")[0] == f"{plugin.name} pv1"

    cid = daemon.docker("run", "-d", "-v", "pv1:/data", "busybox", "sh", "-c", "echo hi > /data/f").stdout.strip()
    daemon.docker("wait", cid)
    with open(os.path.join(plugin.data_dir("pv1"), "f")) as f:
        assert f.read() == "hi\n"
    mounts = [(m, b["ID"]) for m, b in plugin.calls if m in ("VolumeDriver.Mount", "VolumeDriver.Unmount")]
    assert mounts == [("VolumeDriver.Mount", cid), ("VolumeDriver.Unmount", cid)]
    source = json.loads(daemon.docker("inspect", "-f", "{{json .Mounts}}", cid).stdout)[0]
    assert (source["Driver"], source["Source"], source["Name"]) == (plugin.name, plugin.data_dir("pv1"), "pv1")
    daemon.docker("rm", cid)

    assert daemon.docker("run", "--rm", "-v", "pv1:/data", "busybox", "cat", "/data/f").stdout == "hi\n"
    daemon.docker("volume", "rm", "pv1")
    assert "Remove" in plugin.methods("pv1") and not os.path.exists(plugin.data_dir("pv1"))
    assert "pv1" not in daemon.docker("volume", "ls", "-q").stdout.split()


def test_volume_driver_flag_creates_the_volume_on_the_plugin(daemon, plugin):
    daemon.docker("run", "--rm", "--volume-driver", plugin.name, "-v", "pv2:/x", "busybox", "touch", "/x/made")
    assert os.path.exists(os.path.join(plugin.data_dir("pv2"), "made"))
    assert json.loads(daemon.docker("volume", "inspect", "pv2").stdout)[0]["Driver"] == plugin.name
    daemon.docker("volume", "rm", "pv2")


def test_a_missing_plugin_and_a_failing_plugin_in_dockers_words(daemon, plugin):
    p = daemon.docker("volume", "create", "-d", "dy-no-such-plugin", "x1", check=False)
    assert p.returncode == 1
    assert ('create x1: error looking up volume plugin dy-no-such-plugin: plugin "dy-no-such-plugin" not found'
            in p.stderr)
    p = daemon.docker("volume", "create", "-d", plugin.name, "full", check=False)
    assert p.returncode == 1 and "create full: VolumeDriver.Create: no space left in the test plugin" in p.stderr
    assert "full" not in daemon.docker("volume", "ls", "-q").stdout.split()  # nothing half-made
