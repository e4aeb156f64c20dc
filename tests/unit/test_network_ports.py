"""`-p`/`--expose` parsing as the docker CLI does it, the daemon's host-port binding, the PORTS column,
and the embedded DNS wire format."""
import socket
import struct

import pytest

from dockyard.cli.containers import displayable_ports
from dockyard.errors import InvalidParameter
from dockyard.network import dns, ports
from dockyard.network.portspec import parse_expose, parse_port_key, parse_publish, parse_publish_all


@pytest.mark.parametrize("spec,expected", [
    ("80", [("80/tcp", {"HostIp": "", "HostPort": ""})]),
    ("8080:80", [("80/tcp", {"HostIp": "", "HostPort": "8080"})]),
    ("8080:80/udp", [("80/udp", {"HostIp": "", "HostPort": "8080"})]),
    ("127.0.0.1:8080:80", [("80/tcp", {"HostIp": "127.0.0.1", "HostPort": "8080"})]),
    ("127.0.0.1::80", [("80/tcp", {"HostIp": "127.0.0.1", "HostPort": ""})]),
    ("[::1]:8080:80", [("80/tcp", {"HostIp": "::1", "HostPort": "8080"})]),
    ("0:80", [("80/tcp", {"HostIp": "", "HostPort": ""})]),
    ("8000-8001:80-81", [("80/tcp", {"HostIp": "", "HostPort": "8000"}),
                         ("81/tcp", {"HostIp": "", "HostPort": "8001"})]),
    ("8000-8010:80", [("80/tcp", {"HostIp": "", "HostPort": "8000-8010"})]),
    ("7000-7001", [("7000/tcp", {"HostIp": "", "HostPort": ""}), ("7001/tcp", {"HostIp": "", "HostPort": ""})]),
    ("53:53/UDP", [("53/udp", {"HostIp": "", "HostPort": "53"})]),
])
def test_publish_specs(spec, expected):
    assert parse_publish(spec) == expected


@pytest.mark.parametrize("spec,message", [
    ("abc", "invalid containerPort: abc"),
    ("8080:abc", "invalid containerPort: abc"),
    ("x:80", "invalid hostPort: x"),
    ("99999:80", "invalid hostPort: 99999"),
    ("80/sctpx", "invalid proto: sctpx"),
    ("300.1.1.1:80:80", "Invalid ip address: 300.1.1.1"),
    ("8000-8002:80-81", "invalid ranges specified for container and host Ports: 80-81 and 8000-8002"),
    ("", "no port specified"),
])
def test_bad_publish_specs_give_dockers_messages(spec, message):
    with pytest.raises(InvalidParameter, match=message):
        parse_publish(spec)


def test_publish_all_and_expose():
    exposed, bindings = parse_publish_all(["8080:80", "127.0.0.1:8081:80", "53/udp"])
    assert exposed == {"80/tcp": {}, "53/udp": {}}
    assert bindings == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}, {"HostIp": "127.0.0.1", "HostPort": "8081"}],
                        "53/udp": [{"HostIp": "", "HostPort": ""}]}
    assert parse_expose("90") == ["90/tcp"]
    assert parse_expose("7000-7002/udp") == ["7000/udp", "7001/udp", "7002/udp"]
    assert parse_port_key("80") == (80, "tcp") and parse_port_key("53/udp") == (53, "udp")


def test_requested_sockets_for_publish_all():
    exposed = {"80/tcp": {}, "443/tcp": {}, "53/udp": {}}
    bindings = {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}
    assert ports.requested(exposed, bindings, False) == [("80/tcp", "127.0.0.1", "8080")]
    assert sorted(ports.requested(exposed, bindings, True)) == [
        ("443/tcp", "", ""), ("53/udp", "", ""), ("80/tcp", "127.0.0.1", "8080")]


def test_binding_random_and_busy_ports_on_loopback():
    bound = ports.bind_all([("80/tcp", "127.0.0.1", ""), ("53/udp", "127.0.0.1", "")])
    try:
        tcp, udp = bound
        assert tcp.host_port > 0 and udp.host_port > 0
        assert tcp.sock.type == socket.SOCK_STREAM and udp.sock.type == socket.SOCK_DGRAM
        shape = ports.ports_map({"80/tcp": {}, "90/tcp": {}}, bound)
        assert shape == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(tcp.host_port)}], "90/tcp": None,
                         "53/udp": [{"HostIp": "127.0.0.1", "HostPort": str(udp.host_port)}]}
        # the same port again: dockerd's message, and the sockets bound before it are closed again
        with pytest.raises(ports.PortAllocated,
                           match=f"Bind for 127.0.0.1:{tcp.host_port} failed: port is already allocated"):
            ports.bind_all([("81/tcp", "127.0.0.1", ""), ("80/tcp", "127.0.0.1", str(tcp.host_port))])
    finally:
        ports.close_all(bound)


def test_ports_column_like_the_docker_cli():
    p = [{"PrivatePort": 90, "Type": "tcp"}, {"PrivatePort": 91, "Type": "tcp"},
         {"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 32768, "Type": "tcp"},
         {"IP": "0.0.0.0", "PrivatePort": 8000, "PublicPort": 8000, "Type": "tcp"},
         {"IP": "0.0.0.0", "PrivatePort": 81, "PublicPort": 18090, "Type": "udp"}]
    assert displayable_ports(p) == ("90-91/tcp, 0.0.0.0:8000->8000/tcp, 127.0.0.1:32768->80/tcp, "
                                    "0.0.0.0:18090->81/udp")
    assert displayable_ports([]) == ""


def _query(name: str, qtype: int, qid: int = 0x1234) -> bytes:
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + dns.encode_name(name) + struct.pack(">HH", qtype, 1)


def test_dns_query_parsing_and_answers():
    q = dns.parse_query(_query("Web.", dns.TYPE_A))
    assert (q.id, q.name, q.qtype) == (0x1234, "web", dns.TYPE_A)
    reply = dns.build_response(q, dns.NOERROR, [(dns.TYPE_A, socket.inet_aton("10.211.0.2"))])
    qid, flags, qd, an = struct.unpack(">HHHH", reply[:8])
    assert (qid, flags & 0x8000, flags & 0x000F, qd, an) == (0x1234, 0x8000, 0, 1, 1)
    assert reply.endswith(socket.inet_aton("10.211.0.2"))
    assert str(dns.ptr_name("2.0.211.10.in-addr.arpa")) == "10.211.0.2"
    assert dns.ptr_name("example.com") is None
    with pytest.raises(dns.FormatError):
        dns.parse_query(b"\x00\x01")


@pytest.mark.parametrize("name,qtype,rcode,answers", [
    ("web", dns.TYPE_A, dns.NOERROR, 1),
    ("web", dns.TYPE_AAAA, dns.NOERROR, 0),     # known name, IPv4 only: empty NOERROR
    ("nosuch", dns.TYPE_A, dns.NXDOMAIN, 0),    # single label: never forwarded
    ("nosuch.example", dns.TYPE_A, dns.NXDOMAIN, 0),  # no upstreams configured
    ("2.0.211.10.in-addr.arpa", dns.TYPE_PTR, dns.NOERROR, 1),
    ("9.0.211.10.in-addr.arpa", dns.TYPE_PTR, dns.NXDOMAIN, 0),
])
def test_resolver_answers(name, qtype, rcode, answers):
    import asyncio
    import ipaddress

    r = dns.Resolver(lambda net, client, n: ["10.211.0.2"] if n == "web" else None,
                     lambda net, client, addr: "web.mynet" if str(addr) == "10.211.0.2" else
                     ("" if addr in ipaddress.IPv4Network("10.211.0.0/24") else None),
                     lambda: [])
    reply = asyncio.run(r.answer("net", "10.211.0.3", _query(name, qtype)))
    _, flags, _, an = struct.unpack(">HHHH", reply[:8])
    assert (flags & 0xF, an) == (rcode, answers)
