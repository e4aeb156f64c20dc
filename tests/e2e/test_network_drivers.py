"""macvlan and ipvlan networks through the real docker CLI, on parent interfaces the tests make.

The parent is one end of a veth pair whose other end sits in a network namespace of the test's own (the
kernel here may lack the `dummy` device Docker's docs use): containers' frames reach only that namespace,
never a real interface. Subnets are in 10.212.0.0/16, which nothing else on the machine routes.
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import tempfile

import pytest

from dockyard.network import bridge

from .test_network_ipv6 import ula_subnet

pytestmark = pytest.mark.timeout(180)


def _ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    argv = ["ip", *args] if netns is None else ["nsenter", f"--net={netns}", "ip", *args]
    return subprocess.run(argv, capture_output=True, text=True, check=check)


@pytest.fixture
def parent():
    """A parent interface `dypar<hex>` on the host, its veth peer up inside a namespace of ours."""
    name = f"dypar{secrets.token_hex(3)}"
    ns = tempfile.mktemp(prefix="dyparns", dir="/run")
    open(ns, "w").close()
    subprocess.run(["unshare", f"--net={ns}", "true"], check=True)
    _ip("link", "add", name, "type", "veth", "peer", "name", name + "p", "netns", ns)
    _ip("link", "set", name + "p", "up", netns=ns)
    _ip("link", "set", name, "up")
    yield name
    bridge.delete_link(name)
    bridge.release_netns(ns)


def free_subnet() -> str:
    used = bridge.host_networks()
    import ipaddress
    for third in range(1, 255):
        net = ipaddress.IPv4Network(f"10.212.{(os.getpid() + third) % 254 + 1}.0/24")
        if not any(net.overlaps(u) for u in used):
            return str(net)
    raise RuntimeError("no free /24 in 10.212.0.0/16")


def kernel_has(kind: str, slave: bool = True) -> bool:
    """Whether this kernel makes `kind` devices (ipvlan and dummy are often left out); `slave`: on a parent."""
    probe = f"dyprobe{secrets.token_hex(2)}"
    if not slave:
        ok = _ip("link", "add", probe, "type", kind, check=False).returncode == 0
        bridge.delete_link(probe)
        return ok
    _ip("link", "add", probe, "type", "veth", "peer", "name", probe + "p")
    try:
        return _ip("link", "add", "link", probe, "name", probe + "s", "type", kind, check=False).returncode == 0
    finally:
        bridge.delete_link(probe)


def inspect(daemon, *refs: str) -> list[dict]:
    return json.loads(daemon.docker("inspect", *refs).stdout)


def _two_containers_talk(daemon, net: str, subnet: str, mac: bool) -> None:
    prefix = subnet.rsplit(".", 1)[0]
    a, b = f"mva-{secrets.token_hex(3)}", f"mvb-{secrets.token_hex(3)}"
    args = ["--mac-address", "02:12:34:56:78:9a"] if mac else []
    daemon.docker("run", "-d", "--name", a, "--network", net, "--ip", f"{prefix}.10", *args, "busybox",
                  "sleep", "300")
    daemon.docker("run", "-d", "--name", b, "--network", net, "busybox", "sleep", "300")
    try:
        sa, sb = (c["NetworkSettings"]["Networks"][net] for c in inspect(daemon, a, b))
        assert sa["IPAddress"] == f"{prefix}.10"
        assert sb["IPAddress"].startswith(prefix + ".") and sb["IPAddress"] != sa["IPAddress"]
        assert sa["Gateway"] == f"{prefix}.1"
        inside = daemon.docker("exec", a, "ip", "-o", "addr", "show", "eth0").stdout
        assert f"{prefix}.10/24" in inside
        if mac:
            assert sa["MacAddress"] == "02:12:34:56:78:9a"
            assert daemon.docker("exec", a, "cat", "/sys/class/net/eth0/address").stdout.strip() == sa["MacAddress"]
        daemon.docker("exec", b, "ping", "-c", "1", "-W", "5", sa["IPAddress"])
        daemon.docker("exec", a, "ping", "-c", "1", "-W", "5", sb["IPAddress"])
        # the embedded DNS answers inside the container (127.0.0.11, as dockerd's): names and aliases
        assert "nameserver 127.0.0.11" in daemon.docker("exec", b, "cat", "/etc/resolv.conf").stdout
        assert f"Address: {sa['IPAddress']}" in daemon.docker("exec", b, "nslookup", a).stdout
        daemon.docker("exec", b, "ping", "-c", "1", "-W", "5", a)
        users = inspect(daemon, net)[0]["Containers"]
        assert {u["Name"] for u in users.values()} == {a, b}
        # no host-side device per endpoint (a bridge network would have a veth `dy<id>` for each)
        assert not [link for link in os.listdir("/sys/class/net") for cid in users if link.startswith("dy" + cid[:8])]
    finally:
        daemon.docker("rm", "-f", a, b)


def test_macvlan_network_containers_reach_each_other(daemon, parent):
    net, subnet = f"mv-{secrets.token_hex(3)}", free_subnet()
    gateway = subnet.rsplit(".", 1)[0] + ".1"
    daemon.docker("network", "create", "-d", "macvlan", "--subnet", subnet, "--gateway", gateway,
                  "-o", f"parent={parent}", "-o", "macvlan_mode=bridge", net)
    try:
        n = inspect(daemon, net)[0]
        assert n["Driver"] == "macvlan"
        assert n["Options"] == {"parent": parent, "macvlan_mode": "bridge"}
        assert n["IPAM"]["Config"] == [{"Subnet": subnet, "Gateway": gateway}]
        assert daemon.docker("network", "ls", "--filter", "driver=macvlan", "--format", "{{.Name}}").stdout.split() \
            == [net]
        _two_containers_talk(daemon, net, subnet, mac=True)
    finally:
        daemon.docker("network", "rm", net)
    assert bridge.link_exists(parent)  # the user's parent stays


def test_macvlan_connect_and_disconnect_a_running_container(daemon, parent):
    net, subnet = f"mv-{secrets.token_hex(3)}", free_subnet()
    daemon.docker("network", "create", "-d", "macvlan", "--subnet", subnet, "-o", f"parent={parent}", net)
    name = f"mvc-{secrets.token_hex(3)}"
    daemon.docker("run", "-d", "--name", name, "busybox", "sleep", "300")
    try:
        daemon.docker("network", "connect", net, name)
        ip = inspect(daemon, name)[0]["NetworkSettings"]["Networks"][net]["IPAddress"]
        assert ip.startswith(subnet.rsplit(".", 1)[0] + ".")
        assert ip in daemon.docker("exec", name, "ip", "-o", "addr", "show", "eth1").stdout
        daemon.docker("network", "disconnect", net, name)
        assert daemon.docker("exec", name, "ip", "link", "show", "eth1", check=False).returncode != 0
        assert net not in inspect(daemon, name)[0]["NetworkSettings"]["Networks"]
    finally:
        daemon.docker("rm", "-f", name)
        daemon.docker("network", "rm", net)


def test_docker_info_lists_the_network_drivers(daemon):
    out = daemon.docker("info", "--format", "{{json .Plugins.Network}}").stdout
    assert json.loads(out) == ["bridge", "host", "ipvlan", "macvlan", "null"]


@pytest.mark.parametrize("args, message", [
    (["-d", "nosuchdriver"], 'plugin "nosuchdriver" not found'),
    (["-d", "macvlan", "-o", "parent=dynosuch"],
     "invalid subinterface vlan name dynosuch, example formatting is eth0.10"),
    (["-d", "macvlan", "-o", "parent=dynosuch.10"], "-o parent interface was not found on the host: dynosuch"),
    (["-d", "macvlan", "-o", "parent=lo"], "loopback interface is not a valid macvlan parent link"),
    (["-d", "macvlan", "-o", "parent=x\nlink del lo"],  # never reaches `ip -batch` as a second command
     "invalid subinterface vlan name x\nlink del lo, example formatting is eth0.10"),
    (["-o", "com.docker.network.bridge.name=a b"], "invalid bridge name 'a b'"),
    (["-d", "macvlan", "-o", "macvlan_mode=bogus"],
     "requested macvlan mode 'bogus' is not valid, 'bridge' mode is the macvlan driver default"),
    (["-d", "ipvlan", "-o", "ipvlan_mode=l4"],
     "requested ipvlan mode 'l4' is not valid, 'l2' mode is the ipvlan driver default"),
    (["-d", "ipvlan", "-o", "ipvlan_flag=loud"],
     "requested ipvlan flag 'loud' is not valid, 'bridge' is the ipvlan driver default"),
])
def test_driver_errors_are_dockers_and_leave_nothing(daemon, args, message):
    name = f"bad-{secrets.token_hex(3)}"
    p = daemon.docker("network", "create", *args, name, check=False)
    assert p.returncode == 1
    assert f"Error response from daemon: {message}" in p.stderr
    assert name not in daemon.docker("network", "ls", "--format", "{{.Name}}").stdout.split()


@pytest.mark.parametrize("mode", ["l2", "l3"])
def test_ipvlan_network_containers_reach_each_other(daemon, parent, mode):
    if not kernel_has("ipvlan"):
        pytest.skip("this kernel has no ipvlan devices (CONFIG_IPVLAN is not set)")
    net, subnet = f"iv-{secrets.token_hex(3)}", free_subnet()
    daemon.docker("network", "create", "-d", "ipvlan", "--subnet", subnet, "-o", f"parent={parent}",
                  "-o", f"ipvlan_mode={mode}", net)
    try:
        assert inspect(daemon, net)[0]["Driver"] == "ipvlan"
        _two_containers_talk(daemon, net, subnet, mac=False)
    finally:
        daemon.docker("network", "rm", net)


def test_macvlan_dns_survives_a_daemon_restart(fresh_daemon, parent):
    d = fresh_daemon
    net, subnet = f"mv-{secrets.token_hex(3)}", free_subnet()
    d.docker("network", "create", "-d", "macvlan", "--subnet", subnet, "-o", f"parent={parent}", net)
    d.docker("run", "-d", "--name", "mvdns1", "--network", net, "--network-alias", "web", "busybox", "sleep", "300")
    d.docker("run", "-d", "--name", "mvdns2", "--network", net, "busybox", "sleep", "300")
    ip = inspect(d, "mvdns1")[0]["NetworkSettings"]["Networks"][net]["IPAddress"]
    assert f"Address: {ip}" in d.docker("exec", "mvdns2", "nslookup", "web").stdout
    d.stop()
    d.start()
    assert f"Address: {ip}" in d.docker("exec", "mvdns2", "nslookup", "mvdns1").stdout
    d.docker("rm", "-f", "mvdns1", "mvdns2")
    d.docker("network", "rm", net)


def test_macvlan_without_a_parent_is_internal_on_a_dummy_of_its_own(daemon):
    net, subnet = f"mvd-{secrets.token_hex(3)}", free_subnet()
    p = daemon.docker("network", "create", "-d", "macvlan", "--subnet", subnet, net, check=False)
    if not kernel_has("dummy", slave=False):  # Docker makes a dummy `dm-<id>`; this kernel cannot
        assert p.returncode == 1 and "failed to create the dummy parent dm-" in p.stderr
        assert net not in daemon.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
        assert not [link for link in os.listdir("/sys/class/net") if link.startswith("dm-")]
        return
    nid = p.stdout.strip()
    try:
        n = inspect(daemon, net)[0]
        assert n["Internal"] is True and n["Options"] == {}
        assert bridge.link_exists(f"dm-{nid[:12]}")
        _two_containers_talk(daemon, net, subnet, mac=False)
    finally:
        daemon.docker("network", "rm", net)
    assert not bridge.link_exists(f"dm-{nid[:12]}")


def test_docker_py_macvlan_network(daemon, parent):
    import docker

    client = docker.DockerClient(base_url=daemon.host, version="1.50")
    subnet = free_subnet()
    prefix = subnet.rsplit(".", 1)[0]
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet, gateway=f"{prefix}.1")])
    net = client.networks.create(f"mvpy-{secrets.token_hex(3)}", driver="macvlan", options={"parent": parent},
                                 ipam=ipam)
    try:
        assert net.attrs["Driver"] == "macvlan" and net.attrs["Options"] == {"parent": parent}
        c = client.containers.run("busybox", ["sleep", "300"], detach=True, network=net.name)
        try:
            c.reload()
            ip = c.attrs["NetworkSettings"]["Networks"][net.name]["IPAddress"]
            assert ip.startswith(prefix + ".")
            assert ip in c.exec_run(["ip", "-o", "addr", "show", "eth0"]).output.decode()
            net.reload()
            assert list(net.attrs["Containers"]) == [c.id]
        finally:
            c.remove(force=True)
    finally:
        net.remove()
        client.close()


def test_dual_stack_macvlan_network(daemon, parent):
    net, subnet = f"mv6-{secrets.token_hex(3)}", free_subnet()
    subnet6 = ula_subnet()
    prefix6 = subnet6.split("::")[0]
    daemon.docker("network", "create", "-d", "macvlan", "--ipv6", "--subnet", subnet, "--subnet", subnet6,
                  "-o", f"parent={parent}", net)
    a, b = f"mv6a-{secrets.token_hex(3)}", f"mv6b-{secrets.token_hex(3)}"
    try:
        daemon.docker("run", "-d", "--name", a, "--network", net, "--ip6", f"{prefix6}::a", "busybox", "sleep", "300")
        daemon.docker("run", "-d", "--name", b, "--network", net, "busybox", "sleep", "300")
        assert inspect(daemon, a)[0]["NetworkSettings"]["Networks"][net]["GlobalIPv6Address"] == f"{prefix6}::a"
        daemon.docker("exec", b, "ping", "-6", "-c", "1", "-W", "5", f"{prefix6}::a")
        assert f"{prefix6}::a" in daemon.docker("exec", b, "nslookup", "-type=AAAA", a).stdout
    finally:
        daemon.docker("rm", "-f", a, b)
        daemon.docker("network", "rm", net)
