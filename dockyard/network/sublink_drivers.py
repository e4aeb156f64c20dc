"""The macvlan and ipvlan drivers: each endpoint is a slave device of a parent interface on the host
(`-o parent=eth0`), moved into the container's namespace. No bridge, no NAT, no host-side device per
endpoint. Options and messages are dockerd's (libnetwork drivers/macvlan and drivers/ipvlan):

    docker network create -d macvlan --subnet 10.212.0.0/24 -o parent=eth0 [-o macvlan_mode=bridge] NAME
    docker network create -d ipvlan -o parent=eth0 -o ipvlan_mode=l2|l3|l3s [-o ipvlan_flag=bridge] NAME

Without a parent, the driver makes a dummy device of the network's own (`dm-<id>` / `di-<id>`) and the
network is internal; a parent named `eth0.10` that does not exist is made as VLAN 10 of eth0.
"""
from __future__ import annotations

from ..errors import InvalidParameter, SystemError_
from . import bridge
from .driver import Endpoint, NetConfig


class _SublinkDriver:
    name = ""
    addressed = True
    mode_option = ""
    modes: tuple[str, ...] = ()
    dummy_prefix = ""

    def parse_options(self, net: NetConfig) -> None:
        mode = net.options.get(self.mode_option, "")
        if mode and mode not in self.modes:
            raise InvalidParameter(f"requested {self.name} mode '{mode}' is not valid, '{self.modes[0]}' mode is the "
                                   f"{self.name} driver default")
        parent = net.options.get("parent", "")
        if parent == "lo":
            raise InvalidParameter(f"loopback interface is not a valid {self.name} parent link")
        if parent and not bridge.valid_ifname(parent):  # no such device can exist (nor be made)
            raise InvalidParameter(f"invalid subinterface vlan name {parent}, example formatting is eth0.10")
        if parent:
            net.device = parent
        else:  # only the network's own containers can talk to each other
            net.device, net.internal = f"{self.dummy_prefix}-{net.id[:12]}", True

    def mode(self, net: NetConfig) -> str:
        return net.options.get(self.mode_option) or self.modes[0]

    def create(self, net: NetConfig) -> None:
        if bridge.link_exists(net.device):
            return
        if net.device == f"{self.dummy_prefix}-{net.id[:12]}":
            try:
                bridge.ip_batch([f"link add {net.device} type dummy", f"link set {net.device} up"])
            except SystemError_ as err:  # e.g. a kernel built without CONFIG_DUMMY
                raise SystemError_(f"failed to create the dummy parent {net.device} of a {self.name} network without "
                                   f"-o parent: {err}") from None
        else:
            _create_vlan(net.device)
        net.created_device = True

    def delete(self, net: NetConfig) -> None:
        if net.created_device:
            bridge.delete_link(net.device)

    def link_type(self, net: NetConfig) -> str:
        raise NotImplementedError

    def join(self, net: NetConfig, ep: Endpoint) -> None:
        bridge.delete_link(ep.host_link)  # a stale one from a crash
        bridge.ip_batch([f"link add link {net.device} name {ep.host_link} type {self.link_type(net)}"])
        bridge.move_into(ep, ep.host_link)

    def leave(self, net: NetConfig, ep: Endpoint) -> None:
        bridge.delete_inside(ep.netns, ep.ifname)

    def host_links(self, ep: Endpoint) -> list[str]:
        return []  # the slave lives in the namespace and goes with it

    def endpoint_mac(self, net: NetConfig, ep: Endpoint) -> str:
        return ep.mac


class MacvlanDriver(_SublinkDriver):
    name = "macvlan"
    mode_option = "macvlan_mode"
    modes = ("bridge", "private", "vepa", "passthru")
    dummy_prefix = "dm"

    def link_type(self, net: NetConfig) -> str:
        return f"macvlan mode {self.mode(net)}"


class IpvlanDriver(_SublinkDriver):
    """ipvlan slaves share the parent's MAC address; in l3 modes the parent routes, so the default route
    is the device itself, not a gateway."""
    name = "ipvlan"
    mode_option = "ipvlan_mode"
    modes = ("l2", "l3", "l3s")
    flags = ("bridge", "private", "vepa")
    dummy_prefix = "di"

    def parse_options(self, net: NetConfig) -> None:
        flag = net.options.get("ipvlan_flag", "")
        if flag and flag not in self.flags:
            raise InvalidParameter(f"requested ipvlan flag '{flag}' is not valid, 'bridge' is the ipvlan driver "
                                   f"default")
        super().parse_options(net)

    def link_type(self, net: NetConfig) -> str:
        return f"ipvlan mode {self.mode(net)} {net.options.get('ipvlan_flag') or 'bridge'}"

    def join(self, net: NetConfig, ep: Endpoint) -> None:
        from dataclasses import replace
        l3 = self.mode(net) != "l2"
        super().join(net, replace(ep, mac="", gateway=None if l3 else ep.gateway,
                                  gateway6=None if l3 else ep.gateway6))
        if l3 and (ep.gateway or ep.gateway6):
            routes = [f"route add default dev {ep.ifname}"] if ep.gateway else []
            routes += [f"route add ::/0 dev {ep.ifname}"] if ep.gateway6 else []
            bridge.run_inside(replace(ep, create_netns=False), routes)

    def endpoint_mac(self, net: NetConfig, ep: Endpoint) -> str:
        return ""


def _create_vlan(device: str) -> None:
    """`-o parent=eth0.10` when eth0.10 is missing: VLAN 10 on eth0, as libnetwork's createVlanLink."""
    if "." not in device:
        raise InvalidParameter(f"invalid subinterface vlan name {device}, example formatting is eth0.10")
    parent, _, vid = device.rpartition(".")
    if not bridge.link_exists(parent):
        raise InvalidParameter(f"-o parent interface was not found on the host: {parent}")
    if not vid.isdigit():
        raise InvalidParameter(f"unable to parse a valid vlan id from: {vid} (ex. eth0.10 for vlan 10)")
    if not 1 <= int(vid) <= 4094:
        raise InvalidParameter(f"vlan id must be between 1-4094, received: {vid}")
    bridge.ip_batch([f"link add link {parent} name {device} type vlan id {vid}", f"link set {device} up"])
