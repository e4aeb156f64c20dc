"""Published ports: which host sockets a container needs, bound by the daemon, and the `Ports` map.

The daemon binds every host socket itself (so a port in use fails the start with dockerd's message before
anything runs) and hands the bound sockets to the container's proxy process (proxy.py).
"""
from __future__ import annotations

import errno
import socket
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from ..errors import SystemError_
from .portspec import parse_port_key


class PortAllocated(SystemError_):
    pass


@dataclass
class Binding:
    proto: str
    container_port: int
    host_ip: str
    host_port: int
    sock: socket.socket | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.proto}"

    def shape(self) -> dict:
        return {"HostIp": self.host_ip, "HostPort": str(self.host_port)}


def requested(exposed: dict | None, port_bindings: dict | None, publish_all: bool) -> list[tuple[str, str, str]]:
    """(port key, host ip, host port or range or "") for every socket to bind; `-P` publishes the exposed
    ports that have no explicit binding on random ports."""
    out = []
    bindings = port_bindings or {}
    for key, items in bindings.items():
        for b in items or [{}]:
            out.append((_norm_key(key), (b or {}).get("HostIp") or "", str((b or {}).get("HostPort") or "")))
    if publish_all:
        explicit = {_norm_key(k) for k in bindings}
        for key in exposed or {}:
            if _norm_key(key) not in explicit:
                out.append((_norm_key(key), "", ""))
    return out


def _norm_key(key: str) -> str:
    port, proto = parse_port_key(key)
    return f"{port}/{proto}"


EPHEMERAL_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"
FALLBACK_RANGE = (49153, 65535)  # dockerd's when the kernel's range cannot be read


def ephemeral_range(path: str = EPHEMERAL_RANGE_FILE) -> tuple[int, int]:
    """The kernel's ephemeral port range (32768-60999 by default), where dockerd picks random host ports."""
    try:
        begin, end = (int(x) for x in open(path).read().split())
    except (OSError, ValueError):
        return FALLBACK_RANGE
    return (begin, end) if 0 < begin <= end <= 65535 else FALLBACK_RANGE


class PortAllocator:
    """Host ports for `-P` and `-p ::80`, handed out as dockerd's portallocator does: in order from the start
    of the ephemeral range, each request going on after the last port given for that address and protocol,
    wrapping around at the end. Ports that do not bind (in use) are skipped by the caller."""

    def __init__(self, port_range: tuple[int, int] | None = None):
        self._range = port_range
        self._last: dict[tuple[str, str], int] = {}

    @property
    def range(self) -> tuple[int, int]:
        if self._range is None:  # read once, as dockerd does at start
            self._range = ephemeral_range()
        return self._range

    def candidates(self, proto: str, host_ip: str) -> Iterator[int]:
        """Every port of the range once, starting after the last one given."""
        begin, end = self.range
        size = end - begin + 1
        last = self._last.get((proto, host_ip), end)
        for step in range(1, size + 1):
            yield begin + (last - begin + step) % size

    def given(self, proto: str, host_ip: str, port: int) -> None:
        self._last[(proto, host_ip)] = port


ALLOCATOR = PortAllocator()


def _host_port_candidates(raw: str, proto: str, host_ip: str) -> Iterable[int]:
    if not raw or raw == "0":
        return ALLOCATOR.candidates(proto, host_ip)
    start, _, end = raw.partition("-")
    return range(int(start), int(end or start) + 1)


def _bind(proto: str, ip: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    try:
        if proto == "tcp":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Go's net.Listen: ignore TIME_WAIT
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((ip, port))
        if proto == "tcp":
            s.listen(128)
    except BaseException:
        s.close()
        raise
    return s


def bind_all(wanted: list[tuple[str, str, str]]) -> list[Binding]:
    """Bind every requested host socket, or none: the first one in use raises dockerd's error."""
    done: list[Binding] = []
    try:
        for key, ip, raw_port in wanted:
            port, proto = parse_port_key(key)
            if proto == "sctp":
                raise SystemError_("sctp port publishing is not supported")
            host_ip = ip or "0.0.0.0"
            sock = None
            for candidate in _host_port_candidates(raw_port, proto, host_ip):
                try:
                    sock = _bind(proto, host_ip, candidate)
                    if not raw_port or raw_port == "0":
                        ALLOCATOR.given(proto, host_ip, candidate)
                    break
                except OSError as err:
                    if err.errno == errno.EADDRNOTAVAIL:
                        raise SystemError_(f"Error starting userland proxy: listen {proto} {host_ip}:{candidate}: "
                                           f"bind: cannot assign requested address") from None
                    if err.errno not in (errno.EADDRINUSE, errno.EACCES):
                        raise
            if sock is None:
                shown = raw_port or "0"
                raise PortAllocated(f"Bind for {_fmt_ip(host_ip)}:{shown} failed: port is already allocated")
            done.append(Binding(proto, port, host_ip, sock.getsockname()[1], sock))
    except BaseException:
        close_all(done)
        raise
    return done


def _fmt_ip(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip


def close_all(bindings: list[Binding]) -> None:
    for b in bindings:
        if b.sock is not None:
            b.sock.close()
            b.sock = None


def ports_map(exposed: dict | None, bindings: list[Binding]) -> dict:
    """NetworkSettings.Ports: every exposed or published port; unpublished ones map to null."""
    out: dict = {}
    for key in exposed or {}:
        out[_norm_key(key)] = None
    for b in bindings:
        if out.get(b.key) is None:
            out[b.key] = []
        out[b.key].append(b.shape())
    return out
