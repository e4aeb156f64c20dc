"""The NetworkDriver interface: what a network driver does on the host, and the registry of drivers.

The network service (daemon/networks.py) keeps the records, hands out addresses (network/ipam.py) and runs
the embedded DNS; a driver only makes the host side real: a network's devices (a bridge and its firewall
rules, a macvlan parent), and each endpoint's interface inside a container's namespace. As libnetwork's
driverapi, drivers are synchronous (the service runs them in a worker thread) and hold no state of their
own: everything they need is in the NetConfig and Endpoint they are given.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import NotFound
from .ipam import Subnet


@dataclass
class NetConfig:
    """A network as a driver sees it."""
    id: str
    name: str
    options: dict = field(default_factory=dict)     # `-o key=value` as given
    subnet: Subnet | None = None                     # IPv4
    subnet6: Subnet | None = None                    # IPv6, on --ipv6 networks
    internal: bool = False
    device: str = ""       # the host device the network hangs on: bridge name, or macvlan/ipvlan parent
    created_device: bool = False  # the driver made `device` (a dummy parent) and deletes it with the network


@dataclass
class Endpoint:
    """One container's interface on a network."""
    netns: str                   # path of the namespace's bind mount
    ifname: str                  # eth0, eth1, ... inside the namespace
    host_link: str               # a name for the host-side device (veth peer; a temporary name for sublinks)
    address: ipaddress.IPv4Address | None = None
    prefix_len: int = 0
    mac: str = ""                # empty: the kernel's (or the driver's) choice
    gateway: ipaddress.IPv4Address | None = None   # default route via (None: no default route)
    address6: ipaddress.IPv6Address | None = None
    prefix_len6: int = 0
    gateway6: ipaddress.IPv6Address | None = None
    create_netns: bool = False   # the first endpoint of a container creates and binds its namespace
    mtu: int = 1500


class NetworkDriver(Protocol):
    name: str
    addressed: bool      # endpoints get addresses from IPAM (bridge, macvlan, ipvlan; not host or null)

    def parse_options(self, net: NetConfig) -> None:
        """Check `-o` options at create, with Docker's messages; fill in `net.device` (and `internal` where
        the driver forces it). Raises InvalidParameter (or Forbidden) and touches nothing on the host."""

    def create(self, net: NetConfig) -> None:
        """Make the network real on the host (idempotent: also run for every network at daemon start)."""

    def delete(self, net: NetConfig) -> None:
        """Undo create(); safe when half of it is already gone."""

    def join(self, net: NetConfig, ep: Endpoint) -> None:
        """Give the namespace its interface: name, MAC, addresses, default route. Leaves nothing on failure."""

    def leave(self, net: NetConfig, ep: Endpoint) -> None:
        """Take the endpoint's interface away (the container keeps running on its other networks)."""

    def host_links(self, ep: Endpoint) -> list[str]:
        """Host devices that outlive the endpoint's namespace and must be deleted with it (veth peers)."""

    def endpoint_mac(self, net: NetConfig, ep: Endpoint) -> str:
        """The MAC the endpoint's interface has or will have ("" when the driver cannot choose it)."""


def driver_names() -> tuple[str, ...]:
    return ("bridge", "host", "null", "macvlan", "ipvlan")


def get_driver(name: str, iptables: bool = True) -> NetworkDriver:
    """The driver `docker network create -d NAME` asks for; Docker's error for one it does not have."""
    from .bridge_driver import BridgeDriver
    from .local_drivers import HostDriver, NullDriver
    from .sublink_drivers import IpvlanDriver, MacvlanDriver

    drivers = {"bridge": lambda: BridgeDriver(iptables=iptables), "host": HostDriver, "null": NullDriver,
               "macvlan": MacvlanDriver, "ipvlan": IpvlanDriver}
    if name not in drivers:
        raise NotFound(f'plugin "{name}" not found')
    return drivers[name]()
