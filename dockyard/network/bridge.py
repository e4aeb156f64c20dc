"""Linux bridges, veth pairs and persistent network namespaces, through iproute2's `ip` (and util-linux).

Synchronous and stateless: the daemon calls these from a worker thread. Each endpoint costs one `ip -batch`
run inside the container's namespace and two ioctls on the host (enslave to the bridge, up), so starting a
container stays cheap.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import ipaddress
import os
import socket
import struct
import subprocess
from pathlib import Path

from ..errors import SystemError_
from .netns_thread import run_in_netns

MNT_DETACH = 2
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _run(argv: list[str], script: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run(argv, input=script, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise SystemError_(f"{' '.join(argv[:3])}: {(p.stderr or p.stdout).strip()}")
    return p


def ip_batch(lines: list[str], force: bool = False) -> None:
    """Run `ip` commands on the host in one process (inside a namespace: run_inside)."""
    if not lines:
        return
    _run(["ip", *(["-force"] if force else []), "-batch", "-"], "\n".join(lines) + "\n", check=not force)


# ---------------------------------------------------------------- bridges
def valid_ifname(name: str) -> bool:
    """A name the kernel takes for a device (and that cannot smuggle a second line into an `ip -batch`)."""
    return 0 < len(name) <= 15 and name not in (".", "..") and \
        all(c.isascii() and c.isprintable() and c not in " /:" for c in name)


def link_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


def ensure_bridge(name: str, gateway: str, prefix_len: int, mtu: int = 1500, gateway6: str | None = None,
                  prefix_len6: int = 64) -> None:
    """The bridge up with the gateway address(es) on it; created when missing (docker0's role)."""
    lines = []
    if not link_exists(name):
        lines.append(f"link add name {name} mtu {mtu} type bridge")
    have = link_addresses(name)
    if f"{gateway}/{prefix_len}" not in have:
        lines.append(f"addr add {gateway}/{prefix_len} dev {name}")
    if gateway6 and f"{gateway6}/{prefix_len6}" not in have:
        lines.append(f"addr add {gateway6}/{prefix_len6} dev {name} nodad")
    lines.append(f"link set {name} up")
    ip_batch(lines)


def delete_link(name: str) -> None:
    if link_exists(name):
        _run(["ip", "link", "del", name], check=False)


def link_addresses(name: str) -> list[str]:
    if not link_exists(name):
        return []
    out = _run(["ip", "-o", "addr", "show", "dev", name], check=False).stdout
    return [line.split()[3] for line in out.splitlines() if len(line.split()) > 3]


def host_networks(version: int = 4) -> list:
    """Subnets already routed on this host (its own addresses and routes): new networks must avoid them."""
    nets = []
    flag = f"-{version}"
    for argv in (["ip", flag, "-o", "addr", "show"], ["ip", flag, "route", "show"]):
        for line in _run(argv, check=False).stdout.splitlines():
            fields = line.split()
            word = fields[3] if argv[2] == "-o" and len(fields) > 3 else (fields[0] if fields else "")
            if word in ("default", ""):
                continue
            try:
                net = ipaddress.ip_network(word, strict=False)
            except ValueError:
                continue
            if net.version == version:
                nets.append(net)
    return [n for n in nets if not n.is_loopback and not (version == 6 and n.is_link_local)]


# ---------------------------------------------------------------- namespaces and endpoints
IPV6_OFF = "net.ipv6.conf.all.disable_ipv6"


def interface_lines(ep) -> list[str]:
    """`ip` lines run inside the namespace once `ep.ifname` is there: MAC, addresses, up, default routes.

    IPv6 addresses skip duplicate address detection (nodad), as dockerd's do: the address is ours alone and
    the container must not wait a second before it can use it."""
    lines = [f"link set {ep.ifname} address {ep.mac}"] if ep.mac else []
    if ep.address is not None:
        lines.append(f"addr add {ep.address}/{ep.prefix_len} dev {ep.ifname}")
    if ep.address6 is not None:
        lines.append(f"addr add {ep.address6}/{ep.prefix_len6} dev {ep.ifname} nodad")
    if ep.create_netns:
        lines.append("link set lo up")
    lines.append(f"link set {ep.ifname} up")
    if ep.gateway is not None:
        lines.append(f"route add default via {ep.gateway} dev {ep.ifname}")
    if ep.gateway6 is not None:
        lines.append(f"route add ::/0 via {ep.gateway6} dev {ep.ifname}")
    return lines


def ipv6_sysctls(ep) -> dict[str, str]:
    """A namespace without any IPv6 network has IPv6 off (dockerd's `disable_ipv6=1`); an endpoint with an
    IPv6 address turns it back on."""
    if ep.address6 is not None:
        return {IPV6_OFF: "0", "net.ipv6.conf.default.disable_ipv6": "0"}
    if ep.create_netns:
        return {IPV6_OFF: "1", "net.ipv6.conf.default.disable_ipv6": "1"}
    return {}


def run_inside(ep, lines: list[str], sysctls: dict[str, str] | None = None) -> None:
    """Run `ip` lines inside the endpoint's namespace (creating it first when asked), after writing the
    namespace's sysctls. A thread inside the namespace writes them and starts `ip` (netns_thread): one process
    per endpoint, not unshare(1) or nsenter(1), a shell and `ip`."""
    if ep.create_netns:
        Path(ep.netns).parent.mkdir(parents=True, exist_ok=True)
        Path(ep.netns).touch()

    def configure() -> None:
        for key, value in (sysctls or {}).items():
            with open(f"/proc/sys/{key.replace('.', '/')}", "w") as f:  # the namespace's own, from inside
                f.write(value)
        if lines:
            _run(["ip", "-batch", "-"], "\n".join(lines) + "\n")

    try:
        run_in_netns(ep.netns, configure, create=ep.create_netns)
    except OSError as err:
        raise SystemError_(f"network namespace {ep.netns}: {err.strerror or err}") from None


def add_veth_endpoint(ep, bridge: str) -> None:
    """A veth pair: `ep.ifname` inside the namespace, its peer `ep.host_link` on the host, enslaved to the
    bridge. Creates and binds the namespace first if asked."""
    inside = [f"link add {ep.ifname} mtu {ep.mtu} type veth peer name {ep.host_link} mtu {ep.mtu} "
              f"netns {os.getpid()}", *interface_lines(ep)]
    try:
        run_inside(ep, inside, ipv6_sysctls(ep))
        enslave_and_up(ep.host_link, bridge)
    except SystemError_:
        delete_link(ep.host_link)
        raise


SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCBRADDIF, IFF_UP = 0x8913, 0x8914, 0x89A2, 0x1
IFREQ = struct.Struct("16sH22x")  # struct ifreq: the name, then (here) ifr_flags in its 24-byte union
IFREQ_INDEX = struct.Struct("16si20x")  # the same, with ifr_ifindex


def enslave_and_up(link: str, bridge: str) -> None:
    """`ip link set LINK master BRIDGE up` as brctl does it, with two ioctls instead of a process (a fork and
    exec of `ip` costs milliseconds on every container start)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            fcntl.ioctl(s, SIOCBRADDIF, IFREQ_INDEX.pack(bridge.encode(), socket.if_nametoindex(link)))
            flags = IFREQ.unpack(fcntl.ioctl(s, SIOCGIFFLAGS, IFREQ.pack(link.encode(), 0)))[1]
            fcntl.ioctl(s, SIOCSIFFLAGS, IFREQ.pack(link.encode(), flags | IFF_UP))
    except OSError:  # say it in ip's words
        ip_batch([f"link set {link} master {bridge} up"])


def move_into(ep, link: str) -> None:
    """A device made on the host (a macvlan/ipvlan slave named `link`) moved into the endpoint's namespace,
    renamed to `ep.ifname` and configured there."""
    if ep.create_netns:
        run_inside(ep, [], ipv6_sysctls(ep))
    try:
        ip_batch([f"link set {link} netns {ep.netns}"])
    except SystemError_:
        delete_link(link)
        raise
    try:
        run_inside(_existing(ep), [f"link set {link} name {ep.ifname}"])
    except SystemError_:  # the name is taken: the interface there is not ours to delete
        delete_inside(ep.netns, link)
        raise
    try:
        run_inside(_existing(ep), interface_lines(ep), ipv6_sysctls(_existing(ep)))
    except SystemError_:
        delete_inside(ep.netns, ep.ifname)
        raise


def _existing(ep):
    from dataclasses import replace
    return replace(ep, create_netns=False)


def delete_inside(netns: str, ifname: str) -> None:
    """An interface deleted inside a namespace (a network disconnected from a running container)."""
    if os.path.exists(netns):
        _run(["nsenter", f"--net={netns}", "ip", "link", "del", ifname], check=False)


def remove_links(names: list[str]) -> None:
    """Delete host-side veths (the peer inside the namespace goes with each)."""
    present = [n for n in names if n and link_exists(n)]
    ip_batch([f"link del {n}" for n in present], force=True)


def netns_interfaces(netns: str) -> list[str]:
    out = _run(["nsenter", f"--net={netns}", "ip", "-o", "link", "show"], check=False).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line]


def release_netns(path: str) -> None:
    """Unmount and delete a namespace's bind mount; the kernel frees it when nothing else holds it."""
    if _libc.umount2(path.encode(), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOENT):
            raise SystemError_(f"unmount {path}: {os.strerror(err)}")
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def is_netns_mount(path: str) -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)
