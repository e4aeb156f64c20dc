"""A network's persistent record and the JSON shapes docker clients read (Network, EndpointSettings)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from ..network.driver import NetConfig
from ..network.ipam import Subnet, mac_for

PREDEFINED = ("bridge", "host", "none")
DRIVER_OF = {"bridge": "bridge", "host": "host", "none": "null"}


@dataclass
class Network:
    id: str
    name: str
    driver: str                      # bridge | host | null | macvlan | ipvlan
    created: str
    subnets: list = field(default_factory=list)   # IPAM.Config entries: Subnet, Gateway, IPRange
    ipam_options: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    internal: bool = False
    attachable: bool = False
    enable_ipv6: bool = False
    bridge: str = ""                 # the host device: the Linux bridge's name, or the macvlan/ipvlan parent
    user_subnet: bool = False        # --subnet given: only then may endpoints ask for an --ip
    user_subnet6: bool = False       # an IPv6 --subnet given: only then may endpoints ask for an --ip6
    device_created: bool = False     # the driver made the parent device (dummy, VLAN) and deletes it

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str) -> "Network":
        return cls(**json.loads(raw))

    @property
    def predefined(self) -> bool:
        return self.name in PREDEFINED

    @property
    def is_bridge(self) -> bool:
        return self.driver == "bridge"

    @property
    def addressed(self) -> bool:
        """Endpoints with addresses of their own (not host, not none)."""
        return self.driver in ("bridge", "macvlan", "ipvlan")

    @property
    def is_default_bridge(self) -> bool:
        return self.name == "bridge"

    @property
    def dns(self) -> bool:
        """dockerd's embedded DNS serves user-defined networks only, never the default bridge."""
        return self.addressed and not self.is_default_bridge

    def subnet(self) -> Subnet:
        """The IPv4 subnet."""
        return next(s for s in map(Subnet.from_config, self.subnets) if not s.is_v6)

    def subnet6(self) -> Subnet | None:
        """The IPv6 subnet of an --ipv6 network."""
        return next((s for s in map(Subnet.from_config, self.subnets) if s.is_v6), None)

    def net_config(self) -> NetConfig:
        """What the network's driver is given."""
        return NetConfig(id=self.id, name=self.name, options=dict(self.options),
                         subnet=self.subnet() if self.addressed else None,
                         subnet6=self.subnet6() if self.addressed else None, internal=self.internal,
                         device=self.bridge, created_device=self.device_created)

    def shape(self, containers: dict | None = None) -> dict:
        """The Network object of GET /networks/{id} (and, without containers, of GET /networks)."""
        return {
            "Name": self.name, "Id": self.id, "Created": self.created, "Scope": "local", "Driver": self.driver,
            "EnableIPv4": self.addressed, "EnableIPv6": self.enable_ipv6,
            "IPAM": {"Driver": "default", "Options": self.ipam_options if not self.predefined else None,
                     "Config": list(self.subnets)},
            "Internal": self.internal, "Attachable": self.attachable, "Ingress": False,
            "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
            "Containers": containers if containers is not None else {},
            "Options": dict(self.options), "Labels": dict(self.labels),
        }


def endpoint_settings(network_id: str, config: dict | None = None) -> dict:
    """EndpointSettings as stored on a container: the user's config, runtime fields empty until it runs."""
    config = config or {}
    ipam = config.get("IPAMConfig") or None
    if ipam is not None:
        ipam = {k: v for k, v in ipam.items() if v} or None
    return {
        "IPAMConfig": ipam, "Links": config.get("Links") or None, "Aliases": config.get("Aliases") or None,
        "MacAddress": config.get("MacAddress") or "", "DriverOpts": config.get("DriverOpts") or None,
        "GwPriority": int(config.get("GwPriority") or 0), "NetworkID": network_id, "EndpointID": "",
        "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0, "DNSNames": None,
    }


def clear_runtime(settings: dict) -> None:
    """What a stopped container's endpoint keeps: its configuration, not its address."""
    if settings.get("IPAddress") and settings.get("MacAddress") == mac_for(settings["IPAddress"]):
        settings["MacAddress"] = ""  # generated from the address; a MAC the user asked for stays
    settings.update({"EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
                     "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0})
