"""User journeys across networking that Docker 28 gets right: name resolution after `network connect`, NET I/O
in `docker stats`, and random host ports handed out in order.

Traffic only goes to 127.0.0.1 and to addresses on the bridges the test daemons create (the harness gives every
daemon `--dns 127.0.0.1`, so no name lookup leaves the machine).
"""
from __future__ import annotations

import json
import secrets
import socket
import time
import urllib.request

import pytest

from dockyard.network.ports import ephemeral_range

pytestmark = pytest.mark.timeout(180)


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def inspect(daemon, ref: str) -> dict:
    return json.loads(daemon.docker("inspect", ref).stdout)[0]


def nameservers(daemon, cid: str) -> list[str]:
    text = daemon.docker("exec", cid, "cat", "/etc/resolv.conf").stdout
    return [line.split()[1] for line in text.splitlines() if line.startswith("nameserver ")]


def fetch(port: int, timeout: float = 10) -> str:
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3) as r:
                return r.read().decode().strip()
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def httpd(text: str) -> list[str]:
    return ["sh", "-c", f"mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www"]


def test_connect_switches_a_default_bridge_container_to_the_embedded_dns(daemon):
    net = unique("dnsjoin")
    daemon.docker("network", "create", net)
    n1 = unique("n1")
    gateway = json.loads(daemon.docker("network", "inspect", net).stdout)[0]["IPAM"]["Config"][0]["Gateway"]
    daemon.docker("run", "-d", "--name", n1, "--network", net, "busybox", "sleep", "120")
    cid = daemon.docker("run", "-d", "busybox", "sleep", "120").stdout.strip()
    try:
        before = nameservers(daemon, cid)
        assert gateway not in before
        assert "bad address" in daemon.docker("exec", cid, "ping", "-c1", "-W2", n1, check=False).stderr

        daemon.docker("network", "connect", net, cid)
        assert nameservers(daemon, cid) == [gateway]
        assert "ndots:0" in daemon.docker("exec", cid, "cat", "/etc/resolv.conf").stdout
        ip = inspect(daemon, cid)["NetworkSettings"]["Networks"][net]["IPAddress"]
        assert f"{ip}\t{cid[:12]}" in daemon.docker("exec", cid, "cat", "/etc/hosts").stdout
        assert daemon.docker("exec", cid, "ping", "-c1", "-W2", n1).returncode == 0

        # leaving the only network with a DNS server gives back the servers it had on the default bridge
        daemon.docker("network", "disconnect", net, cid)
        assert nameservers(daemon, cid) == before
        assert ip not in daemon.docker("exec", cid, "cat", "/etc/hosts").stdout
        assert "bad address" in daemon.docker("exec", cid, "ping", "-c1", "-W2", n1, check=False).stderr
    finally:
        daemon.docker("rm", "-f", cid, n1)
        daemon.docker("network", "rm", net)


def test_a_container_on_two_user_networks_keeps_a_reachable_resolver(daemon):
    first, second = unique("dnsa"), unique("dnsb")
    for net in (first, second):
        daemon.docker("network", "create", net)
    peer = unique("peer")
    daemon.docker("run", "-d", "--name", peer, "--network", second, "busybox", "sleep", "120")
    cid = daemon.docker("run", "-d", "--network", first, "busybox", "sleep", "120").stdout.strip()
    try:
        daemon.docker("network", "connect", second, cid)
        assert daemon.docker("exec", cid, "ping", "-c1", "-W2", peer).returncode == 0
        # the server it asked is gone with `first`: it switches to the one of `second`
        daemon.docker("network", "disconnect", first, cid)
        gw = inspect(daemon, cid)["NetworkSettings"]["Networks"][second]["Gateway"]
        assert nameservers(daemon, cid) == [gw]
        assert daemon.docker("exec", cid, "ping", "-c1", "-W2", peer).returncode == 0
    finally:
        daemon.docker("rm", "-f", cid, peer)
        daemon.docker("network", "rm", first, second)


def net_counters(daemon, cid: str) -> dict:
    status, body = daemon.api("GET", f"/containers/{cid}/stats?stream=false&one-shot=true")
    assert status == 200
    return body.get("networks") or {}


def test_stats_count_network_traffic(daemon):
    cid = daemon.docker("run", "-d", "busybox", "sleep", "120").stdout.strip()
    none = daemon.docker("run", "-d", "--network", "none", "busybox", "sleep", "120").stdout.strip()
    try:
        gateway = inspect(daemon, cid)["NetworkSettings"]["Gateway"]
        before = net_counters(daemon, cid)["eth0"]
        daemon.docker("exec", cid, "ping", "-c3", "-i0.2", "-W2", gateway)
        after = net_counters(daemon, cid)["eth0"]
        assert set(after) == {"rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
                              "tx_bytes", "tx_packets", "tx_errors", "tx_dropped"}
        assert after["tx_packets"] >= before["tx_packets"] + 3 and after["rx_packets"] >= before["rx_packets"] + 3
        assert after["tx_bytes"] >= before["tx_bytes"] + 3 * 84  # three echo requests of 84 bytes (IP + ICMP)
        netio = daemon.docker("stats", "--no-stream", "--format", "{{.NetIO}}", cid).stdout.strip()
        assert netio != "0B / 0B" and " / " in netio
        assert net_counters(daemon, none) == {}
        status, body = daemon.api("GET", f"/containers/{none}/stats?stream=false&one-shot=true")
        assert "networks" not in body  # docker omits it for --network none
    finally:
        daemon.docker("rm", "-f", cid, none)


def first_free_port(begin: int) -> int:
    """The lowest port from `begin` a listener could take now (what the daemon should hand out first)."""
    for port in range(begin, 65536):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the daemon binds: TIME_WAIT is no use
            try:
                s.bind(("0.0.0.0", port))
                return port
            except OSError:
                continue
    raise AssertionError("no free port")


def published(daemon, cid: str, key: str = "80/tcp") -> int:
    return int(inspect(daemon, cid)["NetworkSettings"]["Ports"][key][0]["HostPort"])


def test_random_host_ports_come_in_order_from_the_ephemeral_range_start(fresh_daemon):
    d = fresh_daemon
    begin, _ = ephemeral_range()
    expected = first_free_port(begin)
    first = d.docker("run", "-d", "-P", "--expose", "80", "busybox", *httpd("first")).stdout.strip()
    second = d.docker("run", "-d", "-P", "--expose", "80", "busybox", *httpd("second")).stdout.strip()
    loop = d.docker("run", "-d", "-p", "127.0.0.1::80", "busybox", *httpd("loop")).stdout.strip()
    try:
        p1, p2 = published(d, first), published(d, second)
        assert p1 == expected
        assert p1 < p2 <= p1 + 20  # the next free one after the last port given
        assert fetch(p1) == "first" and fetch(p2) == "second"
        p3 = published(d, loop)  # 127.0.0.1 keeps its own place in the range, as in dockerd
        assert begin <= p3 and fetch(p3) == "loop"
        d.docker("rm", "-f", first)
        third = d.docker("run", "-d", "-P", "--expose", "80", "busybox", *httpd("third")).stdout.strip()
        assert published(d, third) > p2  # a freed port is not handed out again right away
        d.docker("rm", "-f", third)
    finally:
        d.docker("rm", "-f", first, second, loop)
