"""IP address management, pure: subnets carved from a pool, addresses handed out inside a subnet.

No I/O here: callers pass what is taken (other networks' subnets, the host's routes, addresses in use)
and persist what they get. Messages are the ones dockerd prints.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable

from ..errors import Conflict, Forbidden, InvalidParameter, Unavailable

DEFAULT_POOL = "10.211.0.0/16"
DEFAULT_POOL_SIZE = 24
NO_POOL = ("could not find an available, non-overlapping IPv4 address pool among the defaults to assign "
           "to the network")


DEFAULT_POOL6_SIZE = 64
NO_POOL6 = ("could not find an available, non-overlapping IPv6 address pool among the defaults to assign "
            "to the network")


@dataclass(frozen=True)
class Subnet:
    """One subnet (IPv4 or IPv6) of a network: its gateway and the optional range addresses are drawn from."""
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    gateway: ipaddress.IPv4Address | ipaddress.IPv6Address
    ip_range: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None

    def config(self) -> dict:
        """The IPAM.Config entry the API shows."""
        out = {"Subnet": str(self.network), "Gateway": str(self.gateway)}
        if self.ip_range is not None:
            out["IPRange"] = str(self.ip_range)
        return out

    @classmethod
    def from_config(cls, cfg: dict) -> "Subnet":
        rng = cfg.get("IPRange")
        return cls(ipaddress.ip_network(cfg["Subnet"]), ipaddress.ip_address(cfg["Gateway"]),
                   ipaddress.ip_network(rng) if rng else None)

    @property
    def is_v6(self) -> bool:
        return self.network.version == 6


def parse_bip(bip: str) -> Subnet:
    """dockerd's --bip: the bridge's own address with its prefix (`10.210.0.1/16`)."""
    try:
        iface = ipaddress.IPv4Interface(bip)
    except ValueError:
        raise InvalidParameter(f"invalid bip {bip!r}: expected an IPv4 address with a prefix, e.g. 10.210.0.1/16") \
            from None
    net = iface.network
    gw = iface.ip
    if gw == net.network_address:  # a bare subnet: the bridge takes its first host address
        gw = net.network_address + 1
    return Subnet(net, gw)


def overlaps(net: ipaddress.IPv4Network, others: Iterable[ipaddress.IPv4Network]) -> bool:
    return any(net.overlaps(o) for o in others)


def next_subnet(taken: Iterable[ipaddress.IPv4Network], pool: str = DEFAULT_POOL,
                size: int = DEFAULT_POOL_SIZE) -> Subnet:
    """The first /size of the pool that overlaps nothing taken (other networks, routes on the host)."""
    taken = list(taken)
    for net in ipaddress.IPv4Network(pool).subnets(new_prefix=size):
        if not overlaps(net, taken):
            return Subnet(net, net.network_address + 1)
    raise Forbidden(NO_POOL)


def ula_pool(seed: str) -> str:
    """The default pool of IPv6 subnets: a /48 of fd00::/8 drawn from a hash of `seed` (the daemon's data
    root), as dockerd 27 draws its ULA prefix from the host's ID, so two daemons rarely pick the same."""
    import hashlib

    h = hashlib.sha256(seed.encode()).digest()
    return str(ipaddress.IPv6Network((b"\xfd" + h[:5] + bytes(10), 48)))


def next_subnet6(taken: Iterable[ipaddress.IPv6Network], pool: str, size: int = DEFAULT_POOL6_SIZE) -> Subnet:
    """The first /64 of the ULA pool that overlaps nothing taken, its ::1 the gateway."""
    taken = [t for t in taken if t.version == 6]
    for net in ipaddress.IPv6Network(pool).subnets(new_prefix=size):
        if not overlaps(net, taken):
            return Subnet(net, net.network_address + 1)
    raise Forbidden(NO_POOL6)


def user_subnet(subnet: str, gateway: str | None = None, ip_range: str | None = None) -> Subnet:
    """`network create --subnet/--gateway/--ip-range` (IPv4 or IPv6), validated like dockerd."""
    try:
        net = ipaddress.ip_network(subnet, strict=False)
    except ValueError:
        raise InvalidParameter(f"invalid subnet {subnet}: invalid CIDR address: {subnet}") from None
    if "/" in subnet and ipaddress.ip_interface(subnet).ip != net.network_address:
        raise InvalidParameter(f"invalid network config:\ninvalid subnet {subnet}: it should be {net}")
    rng = None
    if ip_range:
        try:
            rng = ipaddress.ip_network(ip_range, strict=False)
        except ValueError:
            raise InvalidParameter(f"invalid ip-range {ip_range}: invalid CIDR address: {ip_range}") from None
        if rng.version != net.version or not rng.subnet_of(net):
            raise InvalidParameter(f"invalid network config:\nrange {ip_range} is not contained in subnet {subnet}")
    if gateway:
        try:
            gw = ipaddress.ip_address(gateway)
        except ValueError:
            raise InvalidParameter(f"invalid gateway address {gateway}") from None
        if gw not in net:
            raise InvalidParameter(f"no matching subnet for gateway {gateway}")
    else:
        gw = net.network_address + 1
    if net.num_addresses < 4:
        raise InvalidParameter(f"invalid subnet {subnet}: too small for a gateway and containers")
    return Subnet(net, gw, rng)


def pick_address(subnet: Subnet, used: Iterable[ipaddress.IPv4Address | ipaddress.IPv6Address],
                 wanted: ipaddress.IPv4Address | ipaddress.IPv6Address | str | None = None):
    """An address for an endpoint: the one asked for (--ip) if free, else the lowest free one.

    Lowest-free means an address comes back into use as soon as its container lets it go.
    """
    used = set(used) | {subnet.gateway}
    net = subnet.network
    reserved = {net.network_address, net.broadcast_address}
    if wanted is not None and wanted != "":
        try:
            ip = ipaddress.ip_address(wanted)
            if ip.version != net.version:
                raise ValueError
        except ValueError:
            raise InvalidParameter(f"invalid IPv{net.version} address: {wanted}") from None
        if ip not in net or ip in reserved:  # like dockerd, --ip may sit outside --ip-range
            raise InvalidParameter(f"invalid endpoint settings:\nno configured subnet or ip-range contain the "
                                   f"IP address {ip}")
        if ip in used:
            raise Conflict("Address already in use")
        return ip
    candidates = subnet.ip_range if subnet.ip_range is not None else net
    for ip in candidates.hosts() if candidates.num_addresses > 2 else candidates:  # lazy: a /64 is fine
        if ip not in used and ip not in reserved:
            return ip
    raise Unavailable("no available addresses on this pool")


def mac_for(ip: ipaddress.IPv4Address | str) -> str:
    """Docker's MAC for an address: 02:42 then the four bytes of the IPv4 address."""
    packed = ipaddress.IPv4Address(ip).packed
    return "02:42:" + ":".join(f"{b:02x}" for b in packed)


def parse_mac(mac: str) -> str:
    """A MAC address asked for (--mac-address), as `ip` takes it; moby's message for one it cannot parse."""
    parts = mac.replace("-", ":").split(":")
    if len(parts) != 6 or not all(len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts):
        raise InvalidParameter(f"invalid endpoint settings:\ninvalid MAC address {mac}")
    return ":".join(parts).lower()
