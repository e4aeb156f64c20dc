"""Pure parts of links, IPv6 IPAM, MAC parsing and the embedded DNS's AAAA answers."""
import asyncio
import ipaddress
import socket
import struct
import threading

import pytest

from dockyard.errors import Forbidden, InvalidParameter
from dockyard.network import dns, ipam, links


def test_link_env_is_mobys():
    env = links.link_env("/web/db-1", "10.0.0.2", ["SECRET=s", "PATH=/bin", "HOME=/root", "EMPTY="],
                         {"53/udp": {}, "81/tcp": {}, "80/tcp": {}})
    assert env == [
        "DB_1_PORT=tcp://10.0.0.2:80",  # tcp first, then by number
        "DB_1_PORT_80_TCP=tcp://10.0.0.2:80", "DB_1_PORT_80_TCP_ADDR=10.0.0.2", "DB_1_PORT_80_TCP_PORT=80",
        "DB_1_PORT_80_TCP_PROTO=tcp",
        "DB_1_PORT_81_TCP=tcp://10.0.0.2:81", "DB_1_PORT_81_TCP_ADDR=10.0.0.2", "DB_1_PORT_81_TCP_PORT=81",
        "DB_1_PORT_81_TCP_PROTO=tcp",
        "DB_1_PORT_53_UDP=udp://10.0.0.2:53", "DB_1_PORT_53_UDP_ADDR=10.0.0.2", "DB_1_PORT_53_UDP_PORT=53",
        "DB_1_PORT_53_UDP_PROTO=udp",
        "DB_1_PORT_80_TCP_START=tcp://10.0.0.2:80", "DB_1_PORT_80_TCP_PORT_START=80",
        "DB_1_PORT_80_TCP_END=tcp://10.0.0.2:81", "DB_1_PORT_80_TCP_PORT_END=81",
        "DB_1_NAME=/web/db-1", "DB_1_ENV_SECRET=s", "DB_1_ENV_EMPTY=",
    ]
    assert links.link_env("/a/b", "10.0.0.3", [], {}) == ["B_NAME=/a/b"]


def test_link_parsing_names_and_hosts():
    assert links.parse_link("db") == ("db", "db")
    assert links.parse_link("/db:/web/store") == ("db", "store")
    assert links.link_name("db", "web", "store") == "/db:/web/store"
    assert links.hosts_entry("store", "abc123", "db", "10.0.0.2") == "store abc123 db:10.0.0.2"
    assert links.hosts_entry("db", "abc123", "db", "10.0.0.2") == "db abc123:10.0.0.2"


def test_ipv6_subnets_and_addresses():
    pool = ipam.ula_pool("/var/lib/dockyard")
    assert ipaddress.IPv6Network(pool).subnet_of(ipaddress.IPv6Network("fd00::/8"))
    assert pool == ipam.ula_pool("/var/lib/dockyard") != ipam.ula_pool("/other")  # stable per data root
    first = ipam.next_subnet6([], pool)
    assert first.network.prefixlen == 64 and first.gateway == first.network.network_address + 1
    assert ipam.next_subnet6([first.network], pool).network != first.network
    with pytest.raises(Forbidden, match="IPv6 address pool"):
        ipam.next_subnet6([ipaddress.IPv6Network(pool)], pool)
    s = ipam.user_subnet("fd42:1::/64")
    assert str(ipam.pick_address(s, [])) == "fd42:1::2"
    assert str(ipam.pick_address(s, [ipaddress.ip_address("fd42:1::2")])) == "fd42:1::3"
    assert str(ipam.pick_address(s, [], "fd42:1::10")) == "fd42:1::10"
    with pytest.raises(InvalidParameter, match="invalid IPv6 address: 10.0.0.1"):
        ipam.pick_address(s, [], "10.0.0.1")
    with pytest.raises(InvalidParameter, match="it should be fd42:1::/64"):
        ipam.user_subnet("fd42:1::5/64")


@pytest.mark.parametrize("raw,out", [("02:42:AC:11:00:02", "02:42:ac:11:00:02"),
                                     ("02-42-ac-11-00-03", "02:42:ac:11:00:03")])
def test_parse_mac(raw, out):
    assert ipam.parse_mac(raw) == out


@pytest.mark.parametrize("raw", ["02:42:ac:11:00", "zz:42:ac:11:00:02", "0242ac110002", ""])
def test_parse_mac_refuses_with_mobys_words(raw):
    with pytest.raises(InvalidParameter, match=f"invalid MAC address {raw}$"):
        ipam.parse_mac(raw)


def _query(name: str, qtype: int) -> bytes:
    return struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0) + dns.encode_name(name) + struct.pack(">HH", qtype, 1)


@pytest.mark.parametrize("qtype,records", [
    (dns.TYPE_A, [(dns.TYPE_A, socket.inet_pton(socket.AF_INET, "10.211.0.2"))]),
    (dns.TYPE_AAAA, [(dns.TYPE_AAAA, socket.inet_pton(socket.AF_INET6, "fd42::2"))]),
])
def test_dual_stack_names_answer_a_and_aaaa(qtype, records):
    r = dns.Resolver(lambda net, client, n: ["10.211.0.2", "fd42::2"] if n == "web" else None,
                     lambda net, client, addr: None, lambda: [])
    reply = asyncio.run(r.answer("net", "10.211.0.3", _query("web", qtype)))
    _, flags, _, an = struct.unpack(">HHHH", reply[:8])
    assert (flags & 0xF, an) == (dns.NOERROR, 1)
    assert reply.endswith(records[0][1])


def test_ipv6_ptr_names():
    addr = ipaddress.IPv6Address("fd42::a")
    assert dns.ptr_name(addr.reverse_pointer) == addr
    assert dns.ptr_name("a.0.0.ip6.arpa") is None


def test_the_embedded_dns_looks_names_up_off_the_event_loop():
    # lookups read the endpoints' SQLite rows: the loop, which answers every other query, must not wait on them
    threads = []

    def lookup(net, client, name):
        threads.append(threading.get_ident())
        return ["10.211.0.2"]

    def reverse(net, client, addr):
        threads.append(threading.get_ident())
        return "web.net"

    async def ask():
        r = dns.Resolver(lookup, reverse, lambda: [])
        await r.answer("net", "10.211.0.3", _query("web", dns.TYPE_A))
        await r.answer("net", "10.211.0.3", _query("2.0.211.10.in-addr.arpa", dns.TYPE_PTR))
        return threading.get_ident()

    loop_thread = asyncio.run(ask())
    assert len(threads) == 2 and loop_thread not in threads
