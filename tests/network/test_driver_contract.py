"""One contract for every NetworkDriver (bridge, host, null, macvlan, ipvlan), run on real devices.

What every driver promises the network service: option parsing touches nothing on the host; create is
idempotent and delete undoes it (twice is fine); join gives the namespace an interface with the address,
MAC and default route asked for, and leaves nothing behind when it fails; leave takes the interface away;
the host keeps only the devices host_links() names while an endpoint lives. Drivers without addresses
(host, null) join without touching the namespace. Needs root; addresses are in 10.212.0.0/16 and fd00::/8
on devices this test makes, and one namespace per endpoint.
"""
from __future__ import annotations

import ipaddress
import os
import secrets
import subprocess
import tempfile

import pytest

from dockyard.errors import InvalidParameter, NotFound, SystemError_
from dockyard.network import bridge
from dockyard.network.driver import Endpoint, NetConfig, driver_names, get_driver
from dockyard.network.ipam import Subnet

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network devices and namespaces)")


def _kernel_has(kind: str) -> bool:
    probe = f"dyk{secrets.token_hex(3)}"
    subprocess.run(["ip", "link", "add", probe, "type", "veth", "peer", "name", probe + "p"], check=True)
    try:
        return subprocess.run(["ip", "link", "add", "link", probe, "name", probe + "s", "type", kind],
                              capture_output=True).returncode == 0
    finally:
        bridge.delete_link(probe)


def _host_links() -> set[str]:
    """This test's devices on the host (all named dyc...; other daemons on the machine make their own)."""
    return {n for n in os.listdir("/sys/class/net") if n.startswith("dyc")}


def _inside(netns: str, *args: str) -> str:
    return subprocess.run(["nsenter", f"--net={netns}", "ip", *args], capture_output=True, text=True).stdout


class World:
    """A driver with a network of its own: a fresh subnet, and a parent device for sublink drivers."""

    def __init__(self, name: str):
        self.driver = get_driver(name, iptables=False)
        self.cleanup: list = []
        octet = secrets.randbelow(200) + 20
        subnet = Subnet(ipaddress.IPv4Network(f"10.212.{octet}.0/24"), ipaddress.IPv4Address(f"10.212.{octet}.1"))
        self.net = NetConfig(id=secrets.token_hex(32), name=f"contract-{name}", subnet=subnet)
        if name in ("macvlan", "ipvlan"):
            if not _kernel_has(name):
                pytest.skip(f"this kernel has no {name} devices")
            parent = f"dyc{secrets.token_hex(4)}"
            subprocess.run(["ip", "link", "add", parent, "up", "type", "veth", "peer", "name", parent + "p"],
                           check=True)
            subprocess.run(["ip", "link", "set", parent + "p", "up"], check=True)
            self.cleanup.append(lambda: bridge.delete_link(parent))
            self.net.options = {"parent": parent}
        elif name == "bridge":
            self.net.options = {"com.docker.network.bridge.name": f"dyc{secrets.token_hex(4)}"}

    def endpoint(self, host: int, **kw) -> Endpoint:
        ns = tempfile.mktemp(prefix="dycns", dir="/run")
        self.cleanup.append(lambda: bridge.release_netns(ns))
        s = self.net.subnet
        return Endpoint(netns=ns, ifname="eth0", host_link=f"dyc{secrets.token_hex(6)}"[:15],
                        address=s.network.network_address + host, prefix_len=s.network.prefixlen,
                        mac=f"02:42:0a:d4:00:{host:02x}", gateway=s.gateway, create_netns=True, **kw)


@pytest.fixture(params=driver_names())
def world(request):
    w = World(request.param)
    yield w
    try:
        w.driver.delete(w.net)
    finally:
        for undo in reversed(w.cleanup):
            undo()


def test_unknown_driver_is_dockers_plugin_error():
    with pytest.raises(NotFound, match='plugin "weave" not found'):
        get_driver("weave")


def test_parse_options_touches_nothing_and_names_the_device(world):
    before = _host_links()
    world.driver.parse_options(world.net)
    assert _host_links() == before
    if world.driver.addressed:
        assert world.net.device  # the bridge's name, or the parent


def test_create_is_idempotent_and_delete_undoes_it(world):
    before = _host_links()
    world.driver.parse_options(world.net)
    world.driver.create(world.net)
    world.driver.create(world.net)  # the daemon re-runs create for every network at start
    if world.driver.name == "bridge":
        assert bridge.link_exists(world.net.device)
    world.driver.delete(world.net)
    world.driver.delete(world.net)
    assert _host_links() <= before  # (a subset: an earlier test's namespace may still be dying)


def test_join_gives_the_namespace_its_interface_and_leave_takes_it(world):
    world.driver.parse_options(world.net)
    world.driver.create(world.net)
    before = _host_links()
    ep = world.endpoint(10)
    world.driver.join(world.net, ep)
    added = _host_links() - before
    assert added == set(world.driver.host_links(ep))
    if not world.driver.addressed:
        assert not os.path.exists(ep.netns) or "eth0" not in _inside(ep.netns, "-o", "link")
        return
    addr = _inside(ep.netns, "-o", "-4", "addr", "show", "dev", "eth0")
    assert f"{ep.address}/{ep.prefix_len}" in addr
    if world.driver.endpoint_mac(world.net, ep):
        assert f"link/ether {ep.mac}" in _inside(ep.netns, "link", "show", "eth0")
    assert f"default via {ep.gateway} dev eth0" in _inside(ep.netns, "route", "show") or \
        world.driver.name == "ipvlan"
    assert "UP" in _inside(ep.netns, "link", "show", "lo")
    world.driver.leave(world.net, ep)
    assert "eth0" not in _inside(ep.netns, "-o", "link")
    assert _host_links() <= before


def test_a_second_endpoint_joins_an_existing_namespace(world):
    if not world.driver.addressed:
        pytest.skip("no interfaces to add")
    world.driver.parse_options(world.net)
    world.driver.create(world.net)
    first = world.endpoint(10)
    world.driver.join(world.net, first)
    second = Endpoint(netns=first.netns, ifname="eth1", host_link=f"dyc{secrets.token_hex(6)}"[:15],
                      address=first.address + 1, prefix_len=first.prefix_len, mac="02:42:0a:d4:00:0b")
    world.driver.join(world.net, second)
    links = _inside(first.netns, "-o", "link")
    assert "eth0" in links and "eth1" in links
    world.driver.leave(world.net, second)
    assert "eth1" not in _inside(first.netns, "-o", "link")
    world.driver.leave(world.net, first)


def test_a_failed_join_leaves_nothing(world):
    if not world.driver.addressed:
        pytest.skip("join makes nothing")
    world.driver.parse_options(world.net)
    world.driver.create(world.net)
    first = world.endpoint(10)
    world.driver.join(world.net, first)
    before, inside_before = _host_links(), _inside(first.netns, "-o", "link")
    clash = Endpoint(netns=first.netns, ifname="eth0", host_link=f"dyc{secrets.token_hex(6)}"[:15],
                     address=first.address + 1, prefix_len=first.prefix_len)  # eth0 is taken
    with pytest.raises((SystemError_, InvalidParameter)):
        world.driver.join(world.net, clash)
    assert _host_links() <= before
    assert len(_inside(first.netns, "-o", "link").splitlines()) == len(inside_before.splitlines())
    world.driver.leave(world.net, first)


def test_dual_stack_endpoint_and_ipv6_off_without_it(world):
    if not world.driver.addressed:
        pytest.skip("no addresses")
    world.net.subnet6 = Subnet(ipaddress.IPv6Network("fd00:dd:c0::/64"), ipaddress.IPv6Address("fd00:dd:c0::1"))
    world.driver.parse_options(world.net)
    world.driver.create(world.net)
    v4only = world.endpoint(10)
    world.driver.join(world.net, v4only)
    off = subprocess.run(["nsenter", f"--net={v4only.netns}", "cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6"],
                         capture_output=True, text=True).stdout.strip()
    assert off == "1"
    dual = world.endpoint(11, address6=ipaddress.IPv6Address("fd00:dd:c0::b"), prefix_len6=64)
    world.driver.join(world.net, dual)
    assert "fd00:dd:c0::b/64" in _inside(dual.netns, "-o", "-6", "addr", "show", "dev", "eth0")
    world.driver.leave(world.net, dual)
    world.driver.leave(world.net, v4only)
