"""The bridge driver: a Linux bridge per network, a veth pair per endpoint, NAT and forwarding rules."""
from __future__ import annotations

from ..errors import InvalidParameter
from . import bridge, iptables
from .driver import Endpoint, NetConfig

BRIDGE_NAME_OPTION = "com.docker.network.bridge.name"


class BridgeDriver:
    name = "bridge"
    addressed = True

    def __init__(self, iptables: bool = True):
        self.iptables = iptables

    def parse_options(self, net: NetConfig) -> None:
        net.device = net.options.get(BRIDGE_NAME_OPTION) or net.device or f"br-{net.id[:12]}"
        if len(net.device) > 15:
            raise InvalidParameter(f"bridge name {net.device} is longer than 15 characters")
        if not bridge.valid_ifname(net.device):
            raise InvalidParameter(f"invalid bridge name {net.device!r}")

    def create(self, net: NetConfig) -> None:
        s, s6 = net.subnet, net.subnet6
        bridge.ensure_bridge(net.device, str(s.gateway), s.network.prefixlen, gateway6=str(s6.gateway) if s6 else None,
                             prefix_len6=s6.network.prefixlen if s6 else 64)
        if self.iptables:
            iptables.setup(net.device, str(s.network), net.internal)
            if s6 is not None:  # IPv6 stays on the bridge: no route out, whatever the host forwards
                iptables.setup_ipv6(net.device)

    def delete(self, net: NetConfig) -> None:
        if self.iptables:
            iptables.teardown(net.device)
        bridge.delete_link(net.device)

    def join(self, net: NetConfig, ep: Endpoint) -> None:
        bridge.delete_link(ep.host_link)  # a stale one from a crash
        bridge.add_veth_endpoint(ep, net.device)

    def leave(self, net: NetConfig, ep: Endpoint) -> None:
        bridge.remove_links(self.host_links(ep))

    def host_links(self, ep: Endpoint) -> list[str]:
        return [ep.host_link]

    def endpoint_mac(self, net: NetConfig, ep: Endpoint) -> str:
        return ep.mac
