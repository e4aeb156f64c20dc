"""Dual-stack user networks (`docker network create --ipv6`), --ip6, AAAA answers of the embedded DNS, and
IPv6 turned off in containers on IPv4-only networks, through the real docker CLI.

IPv6 subnets are unique local (fd00::/8) on the test daemon's own bridges; dockyard never forwards IPv6
off a bridge, so nothing leaves the machine.
"""
from __future__ import annotations

import ipaddress
import json
import secrets

import pytest

from dockyard.network import iptables

pytestmark = pytest.mark.timeout(180)


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def ula_subnet() -> str:
    """A random fd42:xxxx:xxxx::/64, its groups written as docker prints them (no leading zeros)."""
    return f"fd42:{_group()}:{_group()}::/64"


def _group() -> str:
    return format(0x1000 + secrets.randbelow(0xf000), "x")  # four hex digits, the first never 0


def test_dual_stack_network_addresses_inspect_and_dns(daemon):
    net, subnet = unique("v6"), ula_subnet()
    prefix = subnet.split("::")[0]
    daemon.docker("network", "create", "--ipv6", "--subnet", subnet, net)
    a, b = unique("v6a"), unique("v6b")
    try:
        n = json.loads(daemon.docker("network", "inspect", net).stdout)[0]
        assert n["EnableIPv6"] is True
        configs = n["IPAM"]["Config"]
        assert {"Subnet": subnet, "Gateway": f"{prefix}::1"} in configs
        assert any(ipaddress.ip_network(c["Subnet"]).version == 4 for c in configs)  # dual stack
        daemon.docker("run", "-d", "--name", a, "--network", net, "--ip6", f"{prefix}::10", "busybox", "sleep", "300")
        daemon.docker("run", "-d", "--name", b, "--network", net, "busybox", "sleep", "300")
        s = json.loads(daemon.docker("inspect", a).stdout)[0]["NetworkSettings"]["Networks"][net]
        assert (s["GlobalIPv6Address"], s["GlobalIPv6PrefixLen"], s["IPv6Gateway"]) == \
            (f"{prefix}::10", 64, f"{prefix}::1")
        assert s["IPAMConfig"] == {"IPv6Address": f"{prefix}::10"}
        assert f"{prefix}::10/64" in daemon.docker("exec", a, "ip", "-o", "-6", "addr", "show", "eth0").stdout
        daemon.docker("exec", b, "ping", "-6", "-c", "1", "-W", "5", f"{prefix}::10")
        answer = daemon.docker("exec", b, "nslookup", "-type=AAAA", a).stdout
        assert f"{prefix}::10" in answer
        ptr = daemon.docker("exec", b, "nslookup", f"{prefix}::10").stdout  # reverse, through ip6.arpa
        assert f"{a}.{net}" in ptr
        users = json.loads(daemon.docker("network", "inspect", net).stdout)[0]["Containers"]
        assert sorted(u["IPv6Address"] for u in users.values())[0].startswith(prefix)
        assert iptables.rules_for(n["Options"].get("com.docker.network.bridge.name") or f"br-{n['Id'][:12]}",
                                  "ip6tables") or not iptables.available()
    finally:
        daemon.docker("rm", "-f", a, b)
        daemon.docker("network", "rm", net)


def test_ipv6_without_a_subnet_gets_a_ula_64(daemon):
    net = unique("v6auto")
    daemon.docker("network", "create", "--ipv6", net)
    try:
        configs = json.loads(daemon.docker("network", "inspect", net).stdout)[0]["IPAM"]["Config"]
        v6 = [ipaddress.ip_network(c["Subnet"]) for c in configs if ":" in c["Subnet"]]
        assert len(v6) == 1 and v6[0].prefixlen == 64 and v6[0].subnet_of(ipaddress.ip_network("fd00::/8"))
    finally:
        daemon.docker("network", "rm", net)


def test_ipv4_only_networks_turn_ipv6_off_in_the_container(daemon):
    net = unique("v4")
    daemon.docker("network", "create", net)
    try:
        for mode in ("bridge", net):
            out = daemon.docker("run", "--rm", "--network", mode, "busybox", "cat",
                                "/proc/sys/net/ipv6/conf/all/disable_ipv6").stdout
            assert out.strip() == "1"
    finally:
        daemon.docker("network", "rm", net)


def test_ipv6_refusals(daemon):
    p = daemon.docker("network", "create", "--ipv6", "--subnet", "2001:db8::/64", unique("v6pub"), check=False)
    assert p.returncode == 1 and "unique local (fd00::/8)" in p.stderr
    net = unique("v4only")
    daemon.docker("network", "create", "--subnet", "10.212.77.0/24", net)
    try:
        p = daemon.docker("run", "--rm", "--network", net, "--ip6", "fd42::5", "busybox", "true", check=False)
        assert p.returncode == 125
        assert "user specified IP address is supported only when connecting to networks with user configured " \
               "subnets" in p.stderr
    finally:
        daemon.docker("network", "rm", net)
