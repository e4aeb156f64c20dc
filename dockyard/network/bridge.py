"""Linux bridges, veth pairs and persistent network namespaces, through iproute2's `ip` (and util-linux).

Synchronous and stateless: the daemon calls these from a worker thread. Each endpoint costs two `ip -batch`
runs (one inside the container's namespace, one on the host) so starting a container stays cheap.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import ipaddress
import os
import subprocess
from pathlib import Path

from ..errors import SystemError_

MNT_DETACH = 2
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _run(argv: list[str], script: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run(argv, input=script, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise SystemError_(f"{' '.join(argv[:3])}: {(p.stderr or p.stdout).strip()}")
    return p


def ip_batch(lines: list[str], netns: str | None = None, create_netns: bool = False, force: bool = False) -> None:
    """Run `ip` commands in one process: on the host, inside the namespace bound at `netns`, or inside a
    new namespace that unshare(1) creates and binds there (so it outlives every process in it)."""
    if not lines:
        return
    argv = ["ip", *(["-force"] if force else []), "-batch", "-"]
    if create_netns:
        argv = ["unshare", f"--net={netns}", *argv]
    elif netns:
        argv = ["nsenter", f"--net={netns}", *argv]
    _run(argv, "\n".join(lines) + "\n", check=not force)


# ---------------------------------------------------------------- bridges
def link_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


def ensure_bridge(name: str, gateway: str, prefix_len: int, mtu: int = 1500) -> None:
    """The bridge up with the gateway address on it; created when missing (docker0's role)."""
    cidr = f"{gateway}/{prefix_len}"
    lines = []
    if not link_exists(name):
        lines.append(f"link add name {name} mtu {mtu} type bridge")
    if cidr not in link_addresses(name):
        lines.append(f"addr add {cidr} dev {name}")
    lines.append(f"link set {name} up")
    ip_batch(lines)


def delete_link(name: str) -> None:
    if link_exists(name):
        _run(["ip", "link", "del", name], check=False)


def link_addresses(name: str) -> list[str]:
    if not link_exists(name):
        return []
    out = _run(["ip", "-4", "-o", "addr", "show", "dev", name], check=False).stdout
    return [line.split()[3] for line in out.splitlines() if len(line.split()) > 3]


def host_networks() -> list[ipaddress.IPv4Network]:
    """Subnets already routed on this host (its own addresses and routes): new networks must avoid them."""
    nets = []
    for argv in (["ip", "-4", "-o", "addr", "show"], ["ip", "-4", "route", "show"]):
        for line in _run(argv, check=False).stdout.splitlines():
            fields = line.split()
            word = fields[3] if argv[2] == "-o" and len(fields) > 3 else (fields[0] if fields else "")
            if word in ("default", ""):
                continue
            try:
                nets.append(ipaddress.IPv4Network(word, strict=False))
            except ValueError:
                continue
    return [n for n in nets if not n.is_loopback]


# ---------------------------------------------------------------- namespaces and endpoints
def add_endpoint(*, netns: str, create_netns: bool, ifname: str, host_veth: str, bridge: str, address: str,
                 prefix_len: int, mac: str, gateway: str | None, mtu: int = 1500) -> None:
    """A veth pair: `ifname` inside the namespace with the address (and the default route via `gateway`),
    `host_veth` on the host, enslaved to the bridge. Creates and binds the namespace first if asked."""
    if create_netns:
        Path(netns).parent.mkdir(parents=True, exist_ok=True)
        Path(netns).touch()
    inside = [f"link add {ifname} mtu {mtu} address {mac} type veth peer name {host_veth} mtu {mtu} "
              f"netns {os.getpid()}",
              f"addr add {address}/{prefix_len} dev {ifname}"]
    if create_netns:
        inside.append("link set lo up")
    inside.append(f"link set {ifname} up")
    if gateway:
        inside.append(f"route add default via {gateway} dev {ifname}")
    try:
        ip_batch(inside, netns, create_netns=create_netns)
        ip_batch([f"link set {host_veth} master {bridge} up"])
    except SystemError_:
        delete_link(host_veth)
        raise


def remove_links(names: list[str]) -> None:
    """Delete host-side veths (the peer inside the namespace goes with each)."""
    present = [n for n in names if link_exists(n)]
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
