"""A container's host-side veth joins its bridge and comes up through ioctls, as `ip link set ... master ... up`."""
from __future__ import annotations

import os
import subprocess

import pytest

from dockyard.network import bridge

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make links")


@pytest.fixture
def links():
    tag = f"{os.getpid() % 100000}"
    br, veth = f"dyqb{tag}", f"dyqv{tag}"
    subprocess.run(["ip", "link", "add", br, "type", "bridge"], check=True)
    subprocess.run(["ip", "link", "add", veth, "type", "veth", "peer", "name", veth + "p"], check=True)
    yield br, veth
    for name in (veth, br):
        subprocess.run(["ip", "link", "del", name], capture_output=True)


def test_the_veth_is_enslaved_to_the_bridge_and_up(links):
    br, veth = links
    assert not os.path.exists(f"/sys/class/net/{veth}/master")
    bridge.enslave_and_up(veth, br)
    assert os.path.basename(os.readlink(f"/sys/class/net/{veth}/master")) == br
    flags = int(open(f"/sys/class/net/{veth}/flags").read(), 16)
    assert flags & 0x1  # IFF_UP


def test_a_missing_bridge_fails_in_ips_words(links):
    _, veth = links
    with pytest.raises(Exception) as err:
        bridge.enslave_and_up(veth, "dyq-nosuch")
    assert "dyq-nosuch" in str(err.value) or "Cannot find device" in str(err.value)
