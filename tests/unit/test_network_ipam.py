"""IPAM: subnets carved from the pool around what is taken, addresses handed out and reused, --ip checks."""
import ipaddress

import pytest

from dockyard.errors import Conflict, Forbidden, InvalidParameter, Unavailable
from dockyard.network import ipam

N = ipaddress.IPv4Network
A = ipaddress.IPv4Address


def test_parse_bip_takes_the_bridge_address_and_its_prefix():
    s = ipam.parse_bip("10.210.0.1/16")
    assert (s.network, s.gateway) == (N("10.210.0.0/16"), A("10.210.0.1"))
    s = ipam.parse_bip("10.210.7.1/24")
    assert (s.network, s.gateway) == (N("10.210.7.0/24"), A("10.210.7.1"))
    assert ipam.parse_bip("10.210.9.0/24").gateway == A("10.210.9.1")  # a bare subnet: first host
    with pytest.raises(InvalidParameter):
        ipam.parse_bip("bogus")


def test_next_subnet_skips_taken_and_overlapping_ranges():
    assert ipam.next_subnet([]).network == N("10.211.0.0/24")
    s = ipam.next_subnet([N("10.211.0.0/24"), N("10.211.1.0/24")])
    assert (s.network, s.gateway) == (N("10.211.2.0/24"), A("10.211.2.1"))
    # a host route covering the start of the pool pushes past it
    assert ipam.next_subnet([N("10.211.0.0/22")]).network == N("10.211.4.0/24")
    # a small pool can be exhausted: dockerd's message
    with pytest.raises(Forbidden, match="non-overlapping IPv4 address pool"):
        ipam.next_subnet([N("10.99.0.0/23")], pool="10.99.0.0/23", size=24)


def test_user_subnet_validation():
    s = ipam.user_subnet("172.30.5.0/24", "172.30.5.254", "172.30.5.128/25")
    assert s.config() == {"Subnet": "172.30.5.0/24", "Gateway": "172.30.5.254", "IPRange": "172.30.5.128/25"}
    assert ipam.user_subnet("172.30.6.0/24").gateway == A("172.30.6.1")
    with pytest.raises(InvalidParameter, match="it should be 172.30.5.0/24"):
        ipam.user_subnet("172.30.5.9/24")
    with pytest.raises(InvalidParameter, match="no matching subnet for gateway 10.0.0.1"):
        ipam.user_subnet("172.30.5.0/24", "10.0.0.1")
    with pytest.raises(InvalidParameter, match="invalid subnet"):
        ipam.user_subnet("not-a-subnet")
    with pytest.raises(InvalidParameter, match="not contained"):
        ipam.user_subnet("172.30.5.0/24", ip_range="172.30.6.0/25")


def test_addresses_lowest_free_first_and_freed_ones_come_back():
    s = ipam.user_subnet("10.50.0.0/29")  # hosts .1-.6, .1 the gateway
    used = set()
    got = []
    for _ in range(5):
        ip = ipam.pick_address(s, used)
        used.add(ip)
        got.append(str(ip))
    assert got == ["10.50.0.2", "10.50.0.3", "10.50.0.4", "10.50.0.5", "10.50.0.6"]
    with pytest.raises(Unavailable, match="no available addresses"):
        ipam.pick_address(s, used)
    used.discard(A("10.50.0.4"))
    assert ipam.pick_address(s, used) == A("10.50.0.4")


def test_ip_range_limits_automatic_addresses_not_requested_ones():
    s = ipam.user_subnet("10.51.0.0/24", ip_range="10.51.0.128/25")
    assert ipam.pick_address(s, set()) == A("10.51.0.129")
    assert ipam.pick_address(s, set(), "10.51.0.7") == A("10.51.0.7")


def test_requested_address_checks():
    s = ipam.user_subnet("10.52.0.0/24")
    assert ipam.pick_address(s, set(), "10.52.0.9") == A("10.52.0.9")
    with pytest.raises(Conflict, match="Address already in use"):
        ipam.pick_address(s, {A("10.52.0.9")}, "10.52.0.9")
    with pytest.raises(Conflict):
        ipam.pick_address(s, set(), "10.52.0.1")  # the gateway
    for bad in ("10.53.0.2", "10.52.0.0", "10.52.0.255"):
        with pytest.raises(InvalidParameter, match="no configured subnet"):
            ipam.pick_address(s, set(), bad)


def test_mac_is_derived_from_the_address_like_dockers():
    assert ipam.mac_for("172.17.0.2") == "02:42:ac:11:00:02"
    assert ipam.mac_for("10.210.3.4") == "02:42:0a:d2:03:04"
