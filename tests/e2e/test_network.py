"""Container networking through the real docker CLI: published ports reached from the host's loopback,
user-defined networks with name resolution, none/host/container modes, network commands, connect and
disconnect, port conflicts, nothing leaked, and ports that survive a daemon restart.

Traffic only ever goes to 127.0.0.1 and to addresses on bridges the test daemons create; the harness
gives every daemon `--dns 127.0.0.1`, so no name lookup can leave the machine either.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from dockyard.network import iptables

from .daemon_harness import wait_for

pytestmark = pytest.mark.timeout(180)


def httpd(text: str) -> list[str]:
    return ["sh", "-c", f"mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www"]


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(port: int, timeout: float = 10) -> str:
    """GET / on 127.0.0.1:port, retrying while the server in the container starts."""
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3) as r:
                return r.read().decode().strip()
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def proxy_pids(cid: str) -> list[int]:
    """Live (non-zombie) proxy processes serving a container."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(a.endswith(b"proxy.py") for a in cmd) and cid.encode() in cmd:
            found.append(int(pid))
    return found


def host_links() -> str:
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout


def assert_no_leaks(daemon, cid: str) -> None:
    """After a container stopped or went: no veth, no namespace mount or file, no proxy. (The daemon deletes
    veths in the background, the kernel taking ~25 ms each: give them a moment.)"""
    deadline = time.time() + 5
    while f"dy{cid[:8]}" in host_links() and time.time() < deadline:
        time.sleep(0.05)
    assert f"dy{cid[:8]}" not in host_links()
    with open("/proc/mounts") as f:
        assert f"{daemon.exec_root}/netns/{cid}" not in f.read()
    assert not [p for p in os.listdir(daemon.exec_root / "netns") if p.startswith(cid)]
    assert proxy_pids(cid) == []


def inspect(daemon, ref: str) -> dict:
    return json.loads(daemon.docker("inspect", ref).stdout)[0]


def bridge_index(daemon) -> int:
    return int(daemon.bridge[len("dyt"):])


# ---------------------------------------------------------------- published ports
def test_published_port_reaches_httpd_from_the_host(daemon):
    port = free_port()
    cid = daemon.docker("run", "-d", "-p", f"127.0.0.1:{port}:80", "busybox", *httpd("hello-dockyard")).stdout.strip()
    try:
        assert fetch(port) == "hello-dockyard"
        assert daemon.docker("port", cid).stdout.strip() == f"80/tcp -> 127.0.0.1:{port}"
        assert daemon.docker("port", cid, "80").stdout.strip() == f"127.0.0.1:{port}"
        ps = daemon.docker("ps", "--filter", f"id={cid}", "--format", "{{.Ports}}").stdout.strip()
        assert ps == f"127.0.0.1:{port}->80/tcp"
        info = inspect(daemon, cid)
        ns = info["NetworkSettings"]
        assert ns["Ports"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
        bridge = ns["Networks"]["bridge"]
        assert bridge["IPAddress"].startswith(f"10.209.{bridge_index(daemon)}.")
        assert bridge["Gateway"] == f"10.209.{bridge_index(daemon)}.1" and bridge["IPPrefixLen"] == 24
        assert ns["IPAddress"] == bridge["IPAddress"] and ns["SandboxKey"] == f"{daemon.exec_root}/netns/{cid}"
        assert len(proxy_pids(cid)) == 1
        # inside: eth0 with that address, the default route via the bridge, /etc/hosts naming itself
        out = daemon.docker("exec", cid, "sh", "-c", "ip -o -4 addr show eth0; ip route; cat /etc/hosts").stdout
        assert f"inet {bridge['IPAddress']}/24" in out
        assert f"default via 10.209.{bridge_index(daemon)}.1 dev eth0" in out
        assert f"{bridge['IPAddress']}\t{cid[:12]}" in out
    finally:
        daemon.docker("rm", "-f", cid)
    assert_no_leaks(daemon, cid)
    with socket.socket() as s:  # the host port is free again (SO_REUSEADDR: our closed connections linger)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(1)


def test_publish_all_and_docker_port(daemon):
    cid = daemon.docker("run", "-d", "-P", "--expose", "80", "--expose", "81/udp", "busybox",
                        *httpd("published-all")).stdout.strip()
    try:
        lines = daemon.docker("port", cid).stdout.strip().splitlines()
        assert len(lines) == 2 and lines[0].startswith("80/tcp -> 0.0.0.0:") and lines[1].startswith("81/udp -> ")
        host_port = int(daemon.docker("port", cid, "80/tcp").stdout.strip().rsplit(":", 1)[1])
        assert 1024 < host_port < 65536
        assert fetch(host_port) == "published-all"  # 0.0.0.0 includes the loopback
        p = daemon.docker("port", cid, "82", check=False)
        assert p.returncode == 1 and f"No public port '82' published for {cid}" in p.stderr
        ports = inspect(daemon, cid)["NetworkSettings"]["Ports"]
        assert set(ports) == {"80/tcp", "81/udp"} and ports["80/tcp"][0]["HostIp"] == "0.0.0.0"
    finally:
        daemon.docker("rm", "-f", cid)
    assert_no_leaks(daemon, cid)


def test_exposed_but_unpublished_port_shows_in_ps(daemon):
    cid = daemon.docker("run", "-d", "--expose", "90", "--expose", "91", "busybox", "sleep", "30").stdout.strip()
    try:
        assert daemon.docker("ps", "--filter", f"id={cid}", "--format", "{{.Ports}}").stdout.strip() == "90-91/tcp"
        assert inspect(daemon, cid)["NetworkSettings"]["Ports"] == {"90/tcp": None, "91/tcp": None}
    finally:
        daemon.docker("rm", "-f", cid)


def test_port_in_use_fails_the_start_with_dockers_error(daemon):
    port = free_port()
    first = daemon.docker("run", "-d", "-p", f"127.0.0.1:{port}:80", "busybox", *httpd("first")).stdout.strip()
    name = unique("conflict")
    try:
        fetch(port)
        p = daemon.docker("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:80", "busybox", "sleep", "30",
                          check=False)
        assert p.returncode == 125
        assert f"Bind for 127.0.0.1:{port} failed: port is already allocated" in p.stderr
        state = inspect(daemon, name)["State"]
        assert not state["Running"] and state["Status"] == "created"
        assert_no_leaks(daemon, inspect(daemon, name)["Id"])
        assert fetch(port) == "first"  # the first container is unharmed
        # a port held by some other process on the host: the same answer
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            busy = s.getsockname()[1]
            p = daemon.docker("run", "--rm", "-p", f"127.0.0.1:{busy}:80", "busybox", "true", check=False)
            assert p.returncode == 125 and f"Bind for 127.0.0.1:{busy} failed: port is already allocated" in p.stderr
    finally:
        daemon.docker("rm", "-f", first, name, check=False)
    assert_no_leaks(daemon, first)


UDP_ECHO = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9000))
s.settimeout(20)
for _ in range(5):
    data, addr = s.recvfrom(100)
    s.sendto(data, addr)
"""


def test_udp_port_is_relayed(daemon):
    port = free_port()
    cid = daemon.docker("run", "-d", "-p", f"127.0.0.1:{port}:9000/udp", "busybox", "sleep", "60").stdout.strip()
    # busybox has no UDP server: a Python echo server runs in the container's network namespace instead
    key = inspect(daemon, cid)["NetworkSettings"]["SandboxKey"]
    echo = subprocess.Popen(["nsenter", f"--net={key}", sys.executable, "-c", UDP_ECHO])
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.5)
            for _ in range(20):  # until the server listens
                s.sendto(b"ping-udp", ("127.0.0.1", port))
                try:
                    data, _ = s.recvfrom(100)
                    break
                except socket.timeout:
                    continue
            else:
                pytest.fail("no UDP echo through the proxy")
        assert data == b"ping-udp"
    finally:
        echo.kill()
        echo.wait()
        daemon.docker("rm", "-f", cid)
    assert_no_leaks(daemon, cid)


# ---------------------------------------------------------------- modes
def test_network_none_has_only_loopback(daemon):
    out = daemon.docker("run", "--rm", "--network", "none", "busybox", "ip", "-o", "link").stdout
    assert [line.split(":")[1].strip() for line in out.strip().splitlines()] == ["lo"]


def test_network_host_sees_the_hosts_interfaces(daemon):
    out = daemon.docker("run", "--rm", "--network", "host", "busybox", "sh", "-c", "ip -o link; hostname").stdout
    assert f": {daemon.bridge}:" in out  # the daemon's own bridge is a host interface
    assert out.strip().splitlines()[-1] == socket.gethostname()


def test_container_mode_shares_another_containers_namespace(daemon):
    srv = daemon.docker("run", "-d", "busybox", *httpd("shared-netns")).stdout.strip()
    try:
        out = daemon.docker("run", "--rm", "--network", f"container:{srv}", "busybox", "sh", "-c",
                            "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://127.0.0.1/ && break; sleep 0.2; done")
        assert out.stdout.strip() == "shared-netns"
        p = daemon.docker("run", "--rm", "--network", f"container:{srv}", "-p", "80", "busybox", "true", check=False)
        assert p.returncode == 125 and "conflicting options: port publishing and the container type network mode" \
            in p.stderr
    finally:
        daemon.docker("rm", "-f", srv)
    assert_no_leaks(daemon, srv)


# ---------------------------------------------------------------- user-defined networks and DNS
def test_containers_on_a_user_network_resolve_each_other(daemon):
    net, srv = unique("appnet"), unique("srv")
    daemon.docker("network", "create", net)
    sid = daemon.docker("run", "-d", "--name", srv, "--network", net, "--network-alias", "www", "busybox",
                        *httpd("by-name")).stdout.strip()
    try:
        script = (f"for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://{srv}/ && break; sleep 0.2; done; "
                  f"wget -qO- http://www/; wget -qO- http://{sid[:12]}/; wget -qO- http://{srv}.{net}/; "
                  "ping -c1 -W2 www >/dev/null && echo ping-ok; cat /etc/resolv.conf")
        out = daemon.docker("run", "--rm", "--network", net, "busybox", "sh", "-c", script).stdout.splitlines()
        assert out[:5] == ["by-name", "by-name", "by-name", "by-name", "ping-ok"]
        gateway = json.loads(daemon.docker("network", "inspect", net).stdout)[0]["IPAM"]["Config"][0]["Gateway"]
        assert f"nameserver {gateway}" in out and "options ndots:0" in out
        # unknown names: NXDOMAIN from the embedded server at once
        # (an answer, not a timeout: "NXDOMAIN" is what the server said)
        p = daemon.docker("run", "--rm", "--network", net, "busybox", "nslookup", "no-such-name", check=False)
        assert p.returncode != 0 and "NXDOMAIN" in p.stdout + p.stderr
        info = inspect(daemon, sid)["NetworkSettings"]["Networks"][net]
        assert info["Aliases"] == ["www"] and info["DNSNames"] == [srv, "www", sid[:12]]
        daemon.docker("rename", srv, srv + "-new")  # the new name answers, the old one no longer
        out = daemon.docker("run", "--rm", "--network", net, "busybox", "sh", "-c",
                            f"wget -qO- http://{srv}-new/; nslookup {srv} >/dev/null 2>&1 || echo old-gone").stdout
        assert out.split() == ["by-name", "old-gone"]
    finally:
        daemon.docker("rm", "-f", sid)
        daemon.docker("network", "rm", net)
    assert_no_leaks(daemon, sid)


def test_default_bridge_does_not_resolve_container_names(daemon):
    srv = unique("plain")
    sid = daemon.docker("run", "-d", "--name", srv, "busybox", "sleep", "60").stdout.strip()
    try:
        ip = inspect(daemon, sid)["NetworkSettings"]["IPAddress"]
        out = daemon.docker("run", "--rm", "busybox", "sh", "-c",
                            f"ping -c1 -W2 {ip} >/dev/null && echo ip-ok; ping -c1 -W1 {srv} 2>&1; "
                            "cat /etc/resolv.conf").stdout
        assert "ip-ok" in out  # reachable by address over the bridge
        assert f"bad address '{srv}'" in out  # but not by name
        assert "nameserver 127.0.0.1" in out  # the daemon's --dns, not an embedded server
        assert inspect(daemon, sid)["NetworkSettings"]["Networks"]["bridge"]["DNSNames"] is None
    finally:
        daemon.docker("rm", "-f", sid)


def test_network_ls_inspect_rm_prune(daemon):
    n = bridge_index(daemon)
    used, idle, labelled = unique("used"), unique("idle"), unique("lab")
    subnet = f"10.212.{n}.0/24"
    nid = daemon.docker("network", "create", "--subnet", subnet, "--gateway", f"10.212.{n}.254", used).stdout.strip()
    daemon.docker("network", "create", idle)
    daemon.docker("network", "create", "--label", "purpose=test", labelled)
    cid = daemon.docker("run", "-d", "--network", used, "busybox", "sleep", "60").stdout.strip()
    try:
        ls = daemon.docker("network", "ls").stdout.splitlines()
        assert ls[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
        names = [line.split()[1] for line in ls[1:]]
        assert {"bridge", "host", "none", used, idle, labelled} <= set(names)
        assert f"{nid[:12]}   {used}" in "\n".join(ls)
        custom = daemon.docker("network", "ls", "-q", "--no-trunc", "--filter", "type=custom").stdout.split()
        assert nid in custom and len(custom[0]) == 64
        builtin = daemon.docker("network", "ls", "--filter", "type=builtin", "--format", "{{.Name}}").stdout.split()
        assert sorted(builtin) == ["bridge", "host", "none"]
        assert daemon.docker("network", "ls", "--filter", "label=purpose=test",
                             "--format", "{{.Name}}").stdout.split() == [labelled]
        dangling = daemon.docker("network", "ls", "--filter", "dangling=true", "--format", "{{.Name}}").stdout.split()
        assert idle in dangling and used not in dangling and "bridge" not in dangling

        info = json.loads(daemon.docker("network", "inspect", used).stdout)[0]
        assert (info["Id"], info["Name"], info["Driver"], info["Scope"]) == (nid, used, "bridge", "local")
        assert info["IPAM"]["Config"] == [{"Subnet": subnet, "Gateway": f"10.212.{n}.254"}]
        entry = info["Containers"][cid]
        assert entry["IPv4Address"] == f"10.212.{n}.1/24"  # lowest free: .254 is the gateway
        assert entry["MacAddress"] == "02:42:0a:d4:%02x:01" % n
        bridge_name = f"br-{nid[:12]}"
        assert f": {bridge_name}:" in host_links() and iptables.rules_for(bridge_name)

        p = daemon.docker("network", "rm", used, check=False)
        assert p.returncode == 1 and f"error while removing network: network {used} has active endpoints" in p.stderr
        p = daemon.docker("network", "rm", "bridge", check=False)
        assert p.returncode == 1 and "bridge is a pre-defined network and cannot be removed" in p.stderr
        p = daemon.docker("network", "create", idle, check=False)
        assert p.returncode == 1 and f"network with name {idle} already exists" in p.stderr
        p = daemon.docker("network", "inspect", "no-such-net", check=False)
        assert p.returncode == 1 and "network no-such-net not found" in p.stderr
        p = daemon.docker("run", "--rm", "--network", "no-such-net", "busybox", "true", check=False)
        assert p.returncode == 125 and "network no-such-net not found" in p.stderr
        assert "Unable to find image" not in p.stderr

        pruned = daemon.docker("network", "prune", "-f", "--filter", "label=purpose=test").stdout
        assert pruned.splitlines()[:2] == ["Deleted Networks:", labelled]
        pruned = daemon.docker("network", "prune", "-f").stdout
        assert idle in pruned and used not in pruned
        daemon.docker("rm", "-f", cid)
        assert daemon.docker("network", "rm", used).stdout.strip() == used
        assert f": {bridge_name}:" not in host_links() and iptables.rules_for(bridge_name) == []
    finally:
        daemon.docker("rm", "-f", cid, check=False)
        daemon.docker("network", "rm", used, idle, labelled, check=False)
    names = daemon.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert not {used, idle, labelled} & set(names)


def test_connect_and_disconnect_a_running_container(daemon):
    net = unique("joinnet")
    daemon.docker("network", "create", net)
    cid = daemon.docker("run", "-d", "busybox", *httpd("joined")).stdout.strip()
    try:
        daemon.docker("network", "connect", "--alias", "joined-alias", net, cid)
        out = daemon.docker("exec", cid, "ip", "-o", "-4", "addr").stdout
        assert "eth0" in out and "eth1" in out
        ip = inspect(daemon, cid)["NetworkSettings"]["Networks"][net]["IPAddress"]
        assert f"inet {ip}/24" in out and f"{ip}\t{cid[:12]}" in daemon.docker("exec", cid, "cat", "/etc/hosts").stdout
        got = daemon.docker("run", "--rm", "--network", net, "busybox", "wget", "-qO-", "http://joined-alias/").stdout
        assert got.strip() == "joined"
        assert cid in json.loads(daemon.docker("network", "inspect", net).stdout)[0]["Containers"]
        p = daemon.docker("network", "connect", net, cid, check=False)
        assert p.returncode == 1 and "already exists in network" in p.stderr

        daemon.docker("network", "disconnect", net, cid)
        assert "eth1" not in daemon.docker("exec", cid, "ip", "-o", "link").stdout
        assert net not in inspect(daemon, cid)["NetworkSettings"]["Networks"]
        p = daemon.docker("run", "--rm", "--network", net, "busybox", "nslookup", "joined-alias", check=False)
        assert p.returncode != 0 and "NXDOMAIN" in p.stdout + p.stderr
        assert f"dy{cid[:8]}" in host_links()  # its default-bridge veth is still there
        assert json.loads(daemon.docker("network", "inspect", net).stdout)[0]["Containers"] == {}
    finally:
        daemon.docker("rm", "-f", cid)
        daemon.docker("network", "rm", net)
    assert_no_leaks(daemon, cid)


def test_connect_a_stopped_container_takes_effect_at_start(daemon):
    net = unique("latenet")
    daemon.docker("network", "create", net)
    cid = daemon.docker("create", "busybox", "sleep", "60").stdout.strip()
    try:
        daemon.docker("network", "connect", net, cid)
        daemon.docker("start", cid)
        links = daemon.docker("exec", cid, "ip", "-o", "link").stdout
        assert "eth0" in links and "eth1" in links
        daemon.docker("stop", "-t", "0", cid)
        assert_no_leaks(daemon, cid)
        nets = inspect(daemon, cid)["NetworkSettings"]["Networks"]
        assert set(nets) == {"bridge", net} and nets[net]["IPAddress"] == ""  # config kept, address freed
    finally:
        daemon.docker("rm", "-f", cid)
        daemon.docker("network", "rm", net)


def test_static_ip_and_addresses_freed_and_reused(daemon):
    n = bridge_index(daemon)
    net = unique("ipnet")
    daemon.docker("network", "create", "--subnet", f"10.213.{n}.0/24", net)
    try:
        out = daemon.docker("run", "--rm", "--network", net, "--ip", f"10.213.{n}.50", "busybox",
                            "ip", "-o", "-4", "addr", "show", "eth0").stdout
        assert f"inet 10.213.{n}.50/24" in out
        first = daemon.docker("run", "-d", "--network", net, "busybox", "sleep", "60").stdout.strip()
        ip = inspect(daemon, first)["NetworkSettings"]["Networks"][net]["IPAddress"]
        assert ip == f"10.213.{n}.2"
        p = daemon.docker("run", "--rm", "--network", net, "--ip", ip, "busybox", "true", check=False)
        assert p.returncode == 125 and "Address already in use" in p.stderr
        daemon.docker("rm", "-f", first)
        second = daemon.docker("run", "-d", "--network", net, "busybox", "sleep", "60").stdout.strip()
        assert inspect(daemon, second)["NetworkSettings"]["Networks"][net]["IPAddress"] == ip  # reused
        daemon.docker("rm", "-f", second)
        p = daemon.docker("run", "--rm", "--ip", "10.210.0.77", "busybox", "true", check=False)
        assert p.returncode == 125 and "user specified IP address is supported only when connecting to networks " \
            "with user configured subnets" in p.stderr
    finally:
        daemon.docker("network", "rm", net)


def test_add_host_and_ps_filters_on_ports_and_networks(daemon):
    port, net = free_port(), unique("filtnet")
    daemon.docker("network", "create", net)
    cid = daemon.docker("run", "-d", "--network", net, "-p", f"127.0.0.1:{port}:80", "--add-host", "gw:host-gateway",
                        "--add-host", "db:10.1.2.3", "busybox", "sleep", "60").stdout.strip()
    try:
        hosts = daemon.docker("exec", cid, "cat", "/etc/hosts").stdout
        assert f"{daemon.bip.split('/')[0]}\tgw" in hosts and "10.1.2.3\tdb" in hosts

        def ids(flt):
            return daemon.docker("ps", "-q", "--no-trunc", "--filter", flt).stdout.split()

        assert cid in ids(f"publish={port}") and cid in ids(f"publish={port}/tcp")
        assert cid not in ids(f"publish={port}/udp")
        assert cid in ids(f"network={net}") and cid not in ids("network=bridge")
    finally:
        daemon.docker("rm", "-f", cid)
        daemon.docker("network", "rm", net)


def test_dockyard_cli_network_commands_match_docker(daemon):
    net, port = unique("dynet"), free_port()
    nid = daemon.dockyard("network", "create", "--label", "by=dockyard", net).stdout.strip()
    cid = ""
    try:
        assert len(nid) == 64
        for args in (["network", "ls"], ["network", "ls", "-q", "--filter", "label=by=dockyard"],
                     ["network", "ls", "--format", "{{.Name}} {{.Driver}}", "--filter", f"name={net}"]):
            assert daemon.dockyard(*args).stdout == daemon.docker(*args).stdout
        assert json.loads(daemon.dockyard("network", "inspect", net).stdout) == \
            json.loads(daemon.docker("network", "inspect", net).stdout)
        cid = daemon.dockyard("run", "-d", "--network", net, "--network-alias", "dyalias", "-p",
                              f"127.0.0.1:{port}:80", "-P", "--expose", "81", "busybox",
                              *httpd("via-dockyard")).stdout.strip()
        assert fetch(port) == "via-dockyard"
        assert daemon.dockyard("port", cid).stdout == daemon.docker("port", cid).stdout
        assert daemon.dockyard("port", cid, "80").stdout == f"127.0.0.1:{port}\n"
        ps = ["ps", "--filter", f"id={cid}", "--format", "{{.Ports}}"]
        assert daemon.dockyard(*ps).stdout == daemon.docker(*ps).stdout
        p = daemon.dockyard("run", "--rm", "-p", f"127.0.0.1:{port}:80", "busybox", "true", check=False)
        assert p.returncode == 125 and "port is already allocated" in p.stderr
        p = daemon.dockyard("run", "--rm", "-p", "1:2:3:4", "busybox", "true", check=False)
        assert p.returncode == 125
        out = daemon.dockyard("run", "--rm", "--network", net, "busybox", "wget", "-qO-", "http://dyalias/").stdout
        assert out.strip() == "via-dockyard"
        p = daemon.dockyard("network", "rm", net, check=False)
        assert p.returncode == 1 and "has active endpoints" in p.stderr
        other = daemon.dockyard("run", "-d", "busybox", "sleep", "60").stdout.strip()
        daemon.dockyard("network", "connect", "--alias", "late", net, other)
        assert "eth1" in daemon.docker("exec", other, "ip", "-o", "link").stdout
        daemon.dockyard("network", "disconnect", net, other)
        assert "eth1" not in daemon.docker("exec", other, "ip", "-o", "link").stdout
        daemon.dockyard("rm", "-f", other, cid)
        assert daemon.dockyard("network", "prune", "-f", "--filter", "label=by=dockyard").stdout == \
            f"Deleted Networks:\n{net}\n\n"
        assert_no_leaks(daemon, cid)
    finally:
        daemon.docker("rm", "-f", cid, check=False)
        daemon.docker("network", "rm", net, check=False)


def test_failed_start_leaves_no_network_behind(daemon):
    name = unique("nocmd")
    p = daemon.docker("run", "--name", name, "-p", "127.0.0.1::80", "busybox", "no-such-command", check=False)
    assert p.returncode == 127
    try:
        cid = inspect(daemon, name)["Id"]
        assert_no_leaks(daemon, cid)
        assert inspect(daemon, name)["NetworkSettings"]["Ports"] == {}
    finally:
        daemon.docker("rm", "-f", name)


# ---------------------------------------------------------------- daemon restart
def test_published_port_and_dns_survive_a_daemon_restart(fresh_daemon):
    d = fresh_daemon
    port = free_port()
    net = unique("keepnet")
    d.docker("network", "create", net)
    cid = d.docker("run", "-d", "--name", "keeper", "--network", net, "-p", f"127.0.0.1:{port}:80", "busybox",
                   *httpd("survives")).stdout.strip()
    # this one exits while the daemon is away: its network must be cleaned up when the daemon returns
    short = d.docker("run", "-d", "-p", "127.0.0.1::80", "busybox", "sleep", "600").stdout.strip()
    short_pid = inspect(d, short)["State"]["Pid"]
    assert fetch(port) == "survives"
    proxy = proxy_pids(cid)
    assert len(proxy) == 1 and len(proxy_pids(short)) == 1
    d.stop()
    assert fetch(port) == "survives"  # the proxy and the container do not need the daemon
    os.kill(short_pid, signal.SIGKILL)
    wait_for(lambda: not os.path.exists(f"/proc/{short_pid}"))  # exited (and reaped) while the daemon is away
    d.start()
    try:
        assert fetch(port) == "survives"
        assert proxy_pids(cid) == proxy
        assert d.docker("port", cid).stdout.strip() == f"80/tcp -> 127.0.0.1:{port}"
        assert_no_leaks(d, short)
        assert inspect(d, short)["State"]["Status"] == "exited"
        out = d.docker("run", "--rm", "--network", net, "busybox", "wget", "-qO-", "http://keeper/").stdout
        assert out.strip() == "survives"  # the embedded DNS is back too
        d.docker("rm", "-f", cid)
        assert_no_leaks(d, cid)  # a proxy that is no longer the daemon's child is still stopped
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
    finally:
        d.docker("rm", "-f", cid, short, check=False)
        d.docker("network", "rm", net, check=False)


def test_a_start_whose_network_fails_ends_the_monitor_readied_meanwhile(daemon):
    # the monitor is spawned while the network is attached; when the attach fails it is never told to start
    # and must not wait there for its deadline (nor keep the container's state)
    from .test_monitor_orphans import monitors_under, wait_until

    n = bridge_index(daemon)
    net = unique("failnet")
    daemon.docker("network", "create", "--subnet", f"10.214.{n}.0/24", net)
    first = daemon.docker("run", "-d", "--network", net, "--ip", f"10.214.{n}.9", "busybox", "sleep", "60").stdout.strip()
    try:
        cid = daemon.docker("create", "--network", net, "--ip", f"10.214.{n}.9", "busybox", "true").stdout.strip()
        p = daemon.docker("start", cid, check=False)
        assert p.returncode == 1 and "Address already in use" in p.stderr
        wait_until(lambda: not monitors_under(daemon.exec_root / "c" / cid), 30, "the unused monitor to end")
        assert inspect(daemon, cid)["State"]["Status"] == "created"
        assert_no_leaks(daemon, cid)
        daemon.docker("rm", "-f", first)
        assert daemon.docker("start", "-a", cid).returncode == 0  # its address is free now: it starts
        daemon.docker("rm", cid)
    finally:
        daemon.docker("rm", "-f", first, check=False)
        daemon.docker("network", "rm", net)
