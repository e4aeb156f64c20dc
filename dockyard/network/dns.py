"""The embedded DNS server of user-defined networks (dockerd's 127.0.0.11 resolver, here on the gateway).

One UDP socket per bridge network on <gateway>:53 in the host's namespace; for macvlan/ipvlan networks,
one per container on 127.0.0.11:53 inside its namespace. The daemon answers A and AAAA queries for
container names, short IDs and aliases, and PTR queries for their addresses, through a `lookup` callback; unknown single-label names get NXDOMAIN at once. Other names are relayed to the
upstream resolvers when there are any.

The wire format is RFC 1035, parsed by hand: queries are one question, answers are a few A records.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
import struct
from dataclasses import dataclass
from typing import Callable

from ..blocking import blocking

log = logging.getLogger("dockyard.dns")

TYPE_A, TYPE_PTR, TYPE_AAAA, TYPE_ANY = 1, 12, 28, 255
CLASS_IN = 1
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP = 0, 1, 2, 3, 4
TTL = 600
FORWARD_TIMEOUT = 2.0


class FormatError(ValueError):
    pass


@dataclass
class Question:
    id: int
    flags: int
    name: str        # lower case, no trailing dot
    qtype: int
    qclass: int
    raw_question: bytes  # the question section as sent, echoed in the answer


def _read_name(data: bytes, pos: int) -> tuple[str, int]:
    labels, jumps, end = [], 0, None
    while True:
        if pos >= len(data):
            raise FormatError("name runs past the message")
        n = data[pos]
        if n & 0xC0 == 0xC0:  # compression pointer
            if pos + 1 >= len(data) or jumps > 20:
                raise FormatError("bad pointer")
            if end is None:
                end = pos + 2
            pos = ((n & 0x3F) << 8) | data[pos + 1]
            jumps += 1
            continue
        pos += 1
        if n == 0:
            break
        labels.append(data[pos:pos + n].decode("ascii", "replace"))
        pos += n
    return ".".join(labels), (end if end is not None else pos)


def parse_query(data: bytes) -> Question:
    if len(data) < 12:
        raise FormatError("short header")
    qid, flags, qdcount = struct.unpack(">HHH", data[:6])
    if flags & 0x8000 or qdcount != 1:
        raise FormatError("not a single-question query")
    name, pos = _read_name(data, 12)
    if pos + 4 > len(data):
        raise FormatError("short question")
    qtype, qclass = struct.unpack(">HH", data[pos:pos + 4])
    return Question(qid, flags, name.lower().rstrip("."), qtype, qclass, data[12:pos + 4])


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            raw = label.encode("ascii", "replace")[:63]
            out += bytes([len(raw)]) + raw
    return out + b"\x00"


def build_response(q: Question, rcode: int, answers: list[tuple[int, bytes]] = ()) -> bytes:
    """answers: (type, rdata) records for the question's name (a pointer to offset 12)."""
    opcode_rd = q.flags & 0x7900  # opcode and RD copied from the query
    flags = 0x8000 | opcode_rd | 0x0080 | (rcode & 0xF)  # QR, RA
    out = struct.pack(">HHHHHH", q.id, flags, 1, len(answers), 0, 0) + q.raw_question
    for rtype, rdata in answers:
        out += struct.pack(">HHHIH", 0xC00C, rtype, CLASS_IN, TTL, len(rdata)) + rdata
    return out


def error_response(data: bytes, rcode: int) -> bytes | None:
    """An error answer to a message we could not parse (keeps its ID), or None if there is no header."""
    if len(data) < 12:
        return None
    qid, flags = struct.unpack(">HH", data[:4])
    return struct.pack(">HHHHHH", qid, 0x8000 | (flags & 0x7900) | 0x0080 | rcode, 0, 0, 0, 0)


def ptr_name(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """`4.0.211.10.in-addr.arpa` -> 10.211.0.4; the 32 nibbles of `....ip6.arpa` -> an IPv6 address."""
    if name.endswith(".ip6.arpa"):
        nibbles = name[:-len(".ip6.arpa")].split(".")
        if len(nibbles) != 32 or not all(len(x) == 1 and x in "0123456789abcdef" for x in nibbles):
            return None
        return ipaddress.IPv6Address(int("".join(reversed(nibbles)), 16))
    suffix = ".in-addr.arpa"
    if not name.endswith(suffix):
        return None
    parts = name[:-len(suffix)].split(".")
    if len(parts) != 4:
        return None
    try:
        return ipaddress.IPv4Address(".".join(reversed(parts)))
    except ValueError:
        return None


# lookup(network_id, client_ip, name) -> list of addresses (IPv4 and IPv6), or None when the name is unknown;
# reverse(network_id, client_ip, address) -> a name, "" for an unused address of our subnets, None otherwise.
Lookup = Callable[[str, str, str], "list[str] | None"]
Reverse = Callable[[str, str, "ipaddress.IPv4Address | ipaddress.IPv6Address"], "str | None"]


class Resolver:
    """Answers one query: our names first, then upstream for names with a dot."""

    def __init__(self, lookup: Lookup, reverse: Reverse, upstreams: Callable[[], list[str]]):
        self.lookup, self.reverse, self.upstreams = lookup, reverse, upstreams

    async def answer(self, network_id: str, client_ip: str, data: bytes) -> bytes | None:
        try:
            q = parse_query(data)
        except FormatError:
            return error_response(data, FORMERR)
        if (q.flags >> 11) & 0xF != 0 or q.qclass != CLASS_IN:
            return build_response(q, NOTIMP)
        if q.qtype in (TYPE_A, TYPE_AAAA, TYPE_ANY):
            ips = await blocking(self.lookup, network_id, client_ip, q.name)
            if ips is not None:  # a known name: NOERROR, even with no address of the asked family
                addrs = [ipaddress.ip_address(ip) for ip in ips]
                random.shuffle(addrs)  # round robin over containers sharing an alias, as dockerd does
                wanted = {TYPE_A: (4,), TYPE_AAAA: (6,), TYPE_ANY: (4, 6)}[q.qtype]
                return build_response(q, NOERROR, [(TYPE_A if a.version == 4 else TYPE_AAAA, a.packed)
                                                   for a in addrs if a.version in wanted])
        elif q.qtype == TYPE_PTR:
            addr = ptr_name(q.name)
            name = await blocking(self.reverse, network_id, client_ip, addr) if addr is not None else None
            if name:
                return build_response(q, NOERROR, [(TYPE_PTR, encode_name(name))])
            if name == "":  # an address of our own subnets that no container holds
                return build_response(q, NXDOMAIN)
        if "." not in q.name:
            return build_response(q, NXDOMAIN)
        return await self.forward(q, data)

    async def forward(self, q: Question, data: bytes) -> bytes:
        for server in self.upstreams():
            reply = await _udp_exchange(server, data)
            if reply is not None:
                return reply
        return build_response(q, NXDOMAIN if not self.upstreams() else SERVFAIL)


async def _udp_exchange(server: str, data: bytes) -> bytes | None:
    loop = asyncio.get_running_loop()
    host, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "53")
    fut: asyncio.Future = loop.create_future()

    class Once(asyncio.DatagramProtocol):
        def datagram_received(self, reply, addr):
            if not fut.done():
                fut.set_result(reply)

        def error_received(self, exc):
            if not fut.done():
                fut.set_result(None)

    try:
        transport, _ = await loop.create_datagram_endpoint(Once, remote_addr=(host, int(port or 53)))
    except OSError:
        return None
    try:
        transport.sendto(data)
        return await asyncio.wait_for(fut, FORWARD_TIMEOUT)
    except (asyncio.TimeoutError, OSError):
        return None
    finally:
        transport.close()


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, server: "DNSServer"):
        self.server = server
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.server.spawn(self._reply(data, addr))

    async def _reply(self, data, addr):
        try:
            client = self.server.client_ip or addr[0]
            reply = await self.server.resolver.answer(self.server.network_id, client, data)
        except Exception:  # one bad query must not take the server down
            log.exception("dns query from %s", addr[0])
            reply = error_response(data, SERVFAIL)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


class DNSServer:
    """The resolver of one network, listening on its gateway address; or, given a socket bound inside one
    container's namespace, of that container alone (`client_ip`: its address on the network)."""

    def __init__(self, network_id: str, address: str, resolver: Resolver, port: int = 53,
                 sock: socket.socket | None = None, client_ip: str | None = None):
        self.network_id, self.address, self.port, self.resolver = network_id, address, port, resolver
        self.sock, self.client_ip = sock, client_ip
        self.transport = None
        self._tasks: set = set()

    def spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        if self.sock is not None:
            loop = asyncio.get_running_loop()
            self.transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=self.sock)
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND: the bridge may not have its address yet
        try:
            sock.bind((self.address, self.port))
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        for t in list(self._tasks):
            t.cancel()
