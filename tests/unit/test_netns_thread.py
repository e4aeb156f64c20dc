"""An endpoint's namespace is made, configured and entered by a thread of its own (netns_thread): the veth, the
addresses, the routes and the IPv6 sysctls land inside it, and no thread of the daemon is left in it."""
from __future__ import annotations

import ipaddress
import os
import subprocess
from dataclasses import replace

import pytest

from dockyard.network import bridge
from dockyard.network.driver import Endpoint
from dockyard.network.netns_thread import run_in_netns

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make namespaces and links")


def own_netns() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


def inside(netns: str, *argv: str) -> str:
    return subprocess.run(["nsenter", f"--net={netns}", *argv], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def endpoint():
    tag = f"{os.getpid() % 100000}"
    netns_dir = f"/run/dyq-netns-{tag}"
    ep = Endpoint(netns=f"{netns_dir}/c1", ifname="eth0", host_link=f"dyqh{tag}",
                  address=ipaddress.ip_address("10.211.250.2"), prefix_len=24, mac="02:42:0a:d3:fa:02",
                  gateway=ipaddress.ip_address("10.211.250.1"), create_netns=True, mtu=1500)
    yield ep
    subprocess.run(["ip", "link", "del", ep.host_link], capture_output=True)
    bridge.release_netns(ep.netns)
    os.rmdir(netns_dir)


def test_the_endpoint_is_configured_inside_a_new_bound_namespace(endpoint):
    before = own_netns()
    bridge.run_inside(endpoint, [f"link add {endpoint.ifname} type veth peer name {endpoint.host_link} "
                                 f"netns {os.getpid()}", *bridge.interface_lines(endpoint)],
                      bridge.ipv6_sysctls(endpoint))
    assert own_netns() == before  # the caller's thread never moved
    assert bridge.is_netns_mount(endpoint.netns)
    assert os.stat(endpoint.netns).st_ino != before
    assert "10.211.250.2/24" in inside(endpoint.netns, "ip", "-o", "addr", "show", "dev", "eth0")
    assert "default via 10.211.250.1 dev eth0" in inside(endpoint.netns, "ip", "route")
    assert inside(endpoint.netns, "cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6").strip() == "1"
    assert open("/proc/sys/net/ipv6/conf/all/disable_ipv6").read().strip() == "0"  # the host's is untouched
    assert os.path.exists(f"/sys/class/net/{endpoint.host_link}")  # the peer came out to the host


def test_a_second_entry_finds_the_same_namespace(endpoint):
    bridge.run_inside(endpoint, [])
    seen = run_in_netns(endpoint.netns, lambda: own_netns())
    assert seen == os.stat(endpoint.netns).st_ino
    bridge.run_inside(replace(endpoint, create_netns=False), ["link add dyq7a type veth peer name dyq7b"])
    assert "dyq7a" in inside(endpoint.netns, "ip", "-o", "link")


def test_a_failing_ip_line_is_an_error_in_ips_words(endpoint):
    bridge.run_inside(endpoint, [])
    with pytest.raises(Exception) as err:
        bridge.run_inside(replace(endpoint, create_netns=False), ["link set nosuch0 up"])
    assert "nosuch0" in str(err.value) or "Cannot find device" in str(err.value)


def test_a_missing_namespace_is_an_error():
    with pytest.raises(OSError):
        run_in_netns("/run/dyq-no-such-netns", lambda: None)
