"""Network service: docker network create/ls/inspect/rm/prune/connect/disconnect, and each container's
networking from start to stop.

The container service calls three things: `initial_settings()` at create (validates NetworkMode and
NetworkingConfig, returns NetworkSettings), `attach(c) -> netns path` before runc starts the container,
and `detach(c)` once it stopped (idempotent, cheap when there is nothing to undo).

State: networks and active endpoints (one per container and network: address, veth, DNS names) live in
SQLite; each running bridged container has a namespace bound at <exec_root>/netns/<id> and, with published
ports, a proxy whose pid is in <exec_root>/netns/<id>.proxy. Both outlive a daemon restart; restore()
re-adopts what still runs and sweeps what belongs to containers that are gone.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..blocking import Process, blocking, finished_or_undone
from ..errors import Conflict, Forbidden, InvalidParameter, NotFound, SystemError_
from ..network import bridge, ipam, links, ports
from ..network.bridge_driver import BRIDGE_NAME_OPTION
from ..network.driver import Endpoint, NetworkDriver, get_driver
from ..network.ipam import parse_mac
from ..network.dns import DNSServer, Resolver
from ..network.netns_socket import udp_socket_in
from ..store.metadata import Metadata
from ..store.record_index import AmbiguousPrefix, RecordIndex
from ..timefmt import now_rfc3339, parse_rfc3339, parse_time_filter
from . import etcfiles
from .config import DaemonConfig
from .container_store import ContainerStore
from .events import EventBus
from ..filters import Filters
from .network_record import DRIVER_OF, PREDEFINED, Network, clear_runtime, endpoint_settings

log = logging.getLogger("dockyard.networks")

PROXY_PATH = str(Path(__file__).resolve().parents[1] / "network" / "proxy.py")
MTU = 1500
EMBEDDED_DNS = "127.0.0.11"  # inside a macvlan/ipvlan container, as dockerd's resolver
UNLINK_DELAY = 0.05  # seconds a detached container's veths and namespace wait before they go (_unlink_later)
DEFAULT_BRIDGE_OPTIONS = {"com.docker.network.bridge.default_bridge": "true",
                          "com.docker.network.bridge.enable_icc": "true",
                          "com.docker.network.bridge.enable_ip_masquerade": "true",
                          "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                          "com.docker.network.driver.mtu": str(MTU)}


class NetworkService:
    def __init__(self, config: DaemonConfig, md: Metadata, events: EventBus, containers: ContainerStore):
        self.config, self.md, self.events = config, md, events
        self.containers = containers  # their records and locks: connect/disconnect change a container's record
        self.netns_dir = config.exec_root / "netns"
        self.netns_dir.mkdir(parents=True, exist_ok=True)
        self._dns: dict[str, DNSServer] = {}  # by network: bridges' servers on their gateways
        self._container_dns: dict[str, DNSServer] = {}  # by container: 127.0.0.11 inside sublink containers
        self._linked_names: set[str] | None = None  # names some container links to (loaded on first use)
        self._proxies: dict[str, Process] = {}
        self._unlinking: dict[str, asyncio.Task] = {}  # veth deletions still running, by container
        self._unlink_hurry: dict[str, asyncio.Event] = {}  # set: a pending deletion goes now, not after its delay
        # Containers this process knows to have no endpoints, veths or namespace (it created them, or detached
        # them since): their detach reads no database, so a start and a `run --rm`'s removal skip a thread hop.
        self._bare: set[str] = set()
        self.resolver = Resolver(self._lookup, self._reverse, self._upstreams)
        self._records = RecordIndex()  # the networks table in memory: lookups read no database on the loop
        for r in md.query("SELECT id, name, data FROM networks"):
            self._records.put(r["id"], r["name"], r["data"])
        self._ensure_predefined()

    # ------------------------------------------------------------ records
    def _ensure_predefined(self) -> None:
        default = ipam.parse_bip(self.config.bip)
        for name in PREDEFINED:
            data = self._records.data(self._records.id_named(name))
            n = Network.from_json(data) if data else Network(secrets.token_hex(32), name, DRIVER_OF[name],
                                                             now_rfc3339())
            if name == "bridge":  # follows the daemon's -b/--bip, which may change between runs
                n.bridge, n.subnets = self.config.bridge, [default.config()]
                n.options = {**DEFAULT_BRIDGE_OPTIONS, BRIDGE_NAME_OPTION: self.config.bridge}
            if data != n.to_json():
                self._save(n)

    def _save(self, n: Network) -> None:
        data = n.to_json()
        with self.md.tx() as cur:
            cur.execute("INSERT OR REPLACE INTO networks(id, name, driver, data, created) VALUES (?,?,?,?,?)",
                        (n.id, n.name, n.driver, data, n.created))
        self._records.put(n.id, n.name, data)

    def _delete_row(self, nid: str) -> None:
        with self.md.tx() as cur:
            cur.execute("DELETE FROM networks WHERE id=?", (nid,))
        self._records.drop(nid)

    def all(self) -> list[Network]:
        return sorted((Network.from_json(data) for data in self._records.snapshot().values()), key=lambda n: n.name)

    def get(self, ref: str) -> Network:
        """By full ID, then name, then unique ID prefix, as dockerd looks networks up."""
        try:
            data = self._records.data(self._records.resolve(ref))
        except AmbiguousPrefix as err:
            raise NotFound(f"network {ref} is ambiguous ({err.matches} matches found based on ID prefix)") from None
        if data is None:
            raise NotFound(f"network {ref} not found")
        return Network.from_json(data)

    def _endpoints(self, network_id: str | None = None, container_id: str | None = None) -> list[dict]:
        sql, args = "SELECT * FROM endpoints", []
        conds = []
        if network_id:
            conds.append("network_id=?")
            args.append(network_id)
        if container_id:
            conds.append("container_id=?")
            args.append(container_id)
        if conds:
            sql += " WHERE " + " AND ".join(conds)
        return [{**json.loads(r["data"]), "id": r["id"], "network_id": r["network_id"],
                 "container_id": r["container_id"], "ip": r["ip"]} for r in self.md.query(sql, tuple(args))]

    def users(self, n: Network) -> dict:
        """NetworkContainer entries: endpoints of bridges; running containers in host/none mode."""
        out = {}
        if n.addressed:
            for ep in self._endpoints(network_id=n.id):
                v6 = f"{ep['ip6']}/{ep['prefix_len6']}" if ep.get("ip6") else ""
                out[ep["container_id"]] = {"Name": ep["name"], "EndpointID": ep["id"], "MacAddress": ep["mac"],
                                           "IPv4Address": f"{ep['ip']}/{ep['prefix_len']}", "IPv6Address": v6}
        else:
            for c in self.containers.all():
                if c.state.Running and (c.host_config.get("NetworkMode") or "bridge") == n.name:
                    eid = hashlib.sha256((n.id + c.id).encode()).hexdigest()
                    out[c.id] = {"Name": c.name, "EndpointID": eid, "MacAddress": "", "IPv4Address": "",
                                 "IPv6Address": ""}
        return out

    # ------------------------------------------------------------ API: create / inspect / list / rm / prune
    async def create(self, body: dict) -> dict:
        name = (body.get("Name") or "").strip()
        if not name:
            raise InvalidParameter("network name is required")
        if name in PREDEFINED:
            raise Forbidden(f"operation is not permitted on predefined {name} network ")
        if self._records.id_named(name):
            raise Conflict(f"network with name {name} already exists")
        driver_name = body.get("Driver") or "bridge"
        if driver_name in ("host", "null"):
            raise Forbidden(f'only one instance of "{driver_name}" network is allowed')
        driver = get_driver(driver_name, self.config.iptables)  # plugin "x" not found
        nid = secrets.token_hex(32)
        ipam_body = body.get("IPAM") or {}
        if (ipam_body.get("Driver") or "default") != "default":
            raise NotFound(f'plugin "{ipam_body["Driver"]}" not found')
        configs = ipam_body.get("Config") or []
        subnet, user = await self._subnet_for(configs, 4)
        subnets = [subnet.config()]
        enable6 = bool(body.get("EnableIPv6"))
        # moby's ValidateIPAM skips the IPv6 configs of a network without IPv6
        subnet6, user6 = await self._subnet_for(configs, 6) if enable6 else (None, False)
        if subnet6 is not None:
            subnets.append(subnet6.config())
        n = Network(id=nid, name=name, driver=driver_name, created=now_rfc3339(), subnets=subnets,
                    ipam_options=dict(ipam_body.get("Options") or {}), options=dict(body.get("Options") or {}),
                    labels=dict(body.get("Labels") or {}), internal=bool(body.get("Internal")),
                    attachable=bool(body.get("Attachable")), enable_ipv6=enable6, user_subnet=user,
                    user_subnet6=user6)
        cfg = n.net_config()
        driver.parse_options(cfg)  # Docker's messages for bad -o options; the bridge or parent's name
        n.bridge, n.internal = cfg.device, cfg.internal
        await self._setup_network(n)
        try:
            await asyncio.to_thread(self._save, n)
        except Exception:
            await self._teardown_network(n)
            raise
        self.events.emit("network", "create", n.id, {"name": n.name, "type": n.driver})
        return {"Id": n.id, "Warning": ""}

    async def _subnet_for(self, configs: list[dict], version: int) -> tuple[ipam.Subnet, bool]:
        """(subnet, given by the user) of one IP version: the user's IPAM config, else the next free subnet of
        the daemon's pools. A user's IPv6 subnet must be unique local (fd00::/8): IPv6 never leaves this machine."""
        mine = [c for c in configs if (":" in (c.get("Subnet") or "") + (c.get("Gateway") or "")) == (version == 6)]
        if len(mine) > 1:
            raise InvalidParameter(f"dockyard supports one IPv{version} subnet per network")
        cfg = mine[0] if mine else {}
        ours = self._taken(version)
        if cfg.get("Subnet"):
            subnet = ipam.user_subnet(cfg["Subnet"], cfg.get("Gateway"), cfg.get("IPRange"))
            if version == 6 and not subnet.network.subnet_of(ipaddress.IPv6Network("fd00::/8")):
                raise InvalidParameter(f"invalid subnet {cfg['Subnet']}: dockyard's IPv6 networks are unique local "
                                       f"(fd00::/8) subnets")
            if ipam.overlaps(subnet.network, ours):
                raise Forbidden("Pool overlaps with other one on this address space")
            return subnet, True
        if version == 4 and (cfg.get("Gateway") or cfg.get("IPRange")):
            raise InvalidParameter("invalid network config: a gateway or ip-range needs a subnet")
        taken = ours + await asyncio.to_thread(bridge.host_networks, version)
        return self._free_subnet(taken, version), False

    def _free_subnet(self, taken: list, version: int) -> ipam.Subnet:
        """IPv4: the first default address pool with room; IPv6: a /64 of the daemon's ULA pool."""
        if version == 6:
            return ipam.next_subnet6(taken, ipam.ula_pool(str(self.config.data_root)))
        for pool in self.config.default_address_pools:
            try:
                return ipam.next_subnet(taken, pool["base"], int(pool.get("size", 24)))
            except Forbidden:
                continue
        raise Forbidden(ipam.NO_POOL)

    def _taken(self, version: int) -> list:
        """Subnets of our networks of one IP version (address pools must avoid them)."""
        subnets = (ipam.Subnet.from_config(s).network for n in self.all() for s in n.subnets)
        return [s for s in subnets if s.version == version]

    def inspect(self, ref: str) -> dict:
        n = self.get(ref)
        return n.shape(self.users(n))

    def list(self, filters: Filters) -> list[dict]:
        filters.validate({"dangling", "driver", "id", "label", "label!", "name", "scope", "type"})
        for t in filters.get("type"):
            if t not in ("custom", "builtin"):
                raise InvalidParameter(f"invalid filter: 'type'='{t}'")
        out = []
        for n in self.all():
            if filters.has("driver") and n.driver not in filters.get("driver"):
                continue
            if filters.has("id") and not any(n.id.startswith(i) for i in filters.get("id")):
                continue
            if filters.has("name") and not any(x in n.name for x in filters.get("name")):
                continue
            if filters.has("scope") and "local" not in filters.get("scope"):
                continue
            if filters.has("type") and ("builtin" if n.predefined else "custom") not in filters.get("type"):
                continue
            if not filters.match_labels(n.labels):
                continue
            if filters.has("dangling"):
                dangling = not n.predefined and not self.users(n)
                if filters.bool("dangling") != dangling:
                    continue
            out.append(n.shape())
        return out

    async def remove(self, ref: str) -> None:
        n = self.get(ref)
        if n.predefined:
            raise Forbidden(f"{n.name} is a pre-defined network and cannot be removed")
        eps = await blocking(self._endpoints, network_id=n.id)
        if eps:
            listed = ", ".join(f'name:"{e["name"]}" id:"{e["id"][:12]}"' for e in eps)
            raise Forbidden(f"error while removing network: network {n.name} has active endpoints ({listed})")
        await self._teardown_network(n)
        await asyncio.to_thread(self._delete_row, n.id)
        self.events.emit("network", "destroy", n.id, {"name": n.name, "type": n.driver})

    async def prune(self, filters: Filters) -> dict:
        filters.validate({"until", "label", "label!"})
        until = parse_time_filter(filters.one("until")) if filters.has("until") else None
        deleted = []
        for n in self.all():
            if n.predefined or not filters.match_labels(n.labels) or await blocking(self._endpoints, network_id=n.id):
                continue
            if until is not None and parse_rfc3339(n.created) > until:
                continue
            await self.remove(n.id)
            deleted.append(n.name)
        self.events.emit("network", "prune", "", {"reclaimed": "0"})
        return {"NetworksDeleted": deleted or None}

    # ------------------------------------------------------------ drivers and DNS servers
    def _driver(self, n: Network) -> NetworkDriver:
        return get_driver(n.driver, self.config.iptables)

    async def _setup_network(self, n: Network) -> None:
        """The network's devices on the host (its driver's create) and its embedded DNS server."""
        cfg = n.net_config()
        await asyncio.to_thread(self._driver(n).create, cfg)
        # a parent another network of the driver made is this one's to delete too, when the last user goes
        n.device_created = cfg.created_device or any(o.device_created for o in self._sharing_device(n))
        s = n.subnet()
        if n.dns and n.is_bridge and n.id not in self._dns:
            server = DNSServer(n.id, str(s.gateway), self.resolver)
            try:
                await server.start()
                self._dns[n.id] = server
            except OSError as err:
                log.warning("embedded DNS of %s on %s:53: %s", n.name, s.gateway, err)

    async def _teardown_network(self, n: Network) -> None:
        server = self._dns.pop(n.id, None)
        if server is not None:
            server.close()
        cfg = n.net_config()
        if self._sharing_device(n):
            cfg.created_device = False  # the made parent stays while another network uses it
        await asyncio.to_thread(self._driver(n).delete, cfg)

    def _sharing_device(self, n: Network) -> list[Network]:
        """Other networks of the same driver on the same host device (macvlan/ipvlan parents)."""
        return [o for o in self.all() if o.id != n.id and o.driver == n.driver and o.bridge == n.bridge]

    # ------------------------------------------------------------ containers: create-time settings
    def created(self, cid: str) -> None:
        """A new container: nothing of it exists on the network side yet."""
        self._bare.add(cid)

    def forget(self, cid: str) -> None:
        """A removed container."""
        self._bare.discard(cid)

    def initial_settings(self, host_config: dict, networking_config: dict | None, name: str, cid: str,
                         hostname: str, mac_address: str = "") -> dict:
        """NetworkSettings of a new container, validating its NetworkMode and EndpointsConfig like dockerd.
        `mac_address` is Config.MacAddress (API < 1.44 clients): the MAC of the NetworkMode network's endpoint."""
        mode = host_config.get("NetworkMode") or "bridge"
        endpoints = dict((networking_config or {}).get("EndpointsConfig") or {})
        if mac_address and mode not in ("host", "none") and not mode.startswith("container:"):
            key = next((k for k in endpoints if k == mode or (mode == "bridge" and k == "default")), mode)
            endpoints[key] = {**(endpoints.get(key) or {})}
            endpoints[key]["MacAddress"] = endpoints[key].get("MacAddress") or mac_address
        published = bool(host_config.get("PortBindings")) or bool(host_config.get("PublishAllPorts"))
        if mode.startswith("container:"):
            self.containers.get(mode.split(":", 1)[1])  # No such container: x
            if published:
                raise InvalidParameter("conflicting options: port publishing and the container type network mode")
            if endpoints:
                raise InvalidParameter("container sharing network namespace with another container or host "
                                       "cannot be connected to any other network")
            return {"Networks": {}, "Ports": {}}
        primary = self._create_ref(mode)
        if host_config.get("Links"):
            endpoints = self._register_links(host_config, primary, endpoints, name)
        configs: dict[str, tuple[Network, dict]] = {primary.id: (primary, {})}
        for ref, cfg in endpoints.items():
            n = self._create_ref(ref)
            configs[n.id] = (n, cfg or {})
        nets = {}
        for n, cfg in configs.values():
            if not n.addressed and len(configs) > 1:
                raise InvalidParameter("container cannot be connected to multiple networks with one of the "
                                       f"networks in private ({n.name}) mode" if n.name == "none" else
                                       "container cannot be disconnected from host network or connected to "
                                       "host network")
            nets[n.name] = self._endpoint_config(n, cfg, name, cid, hostname)
        return {"Networks": nets, "Ports": {}, "SandboxID": "", "SandboxKey": ""}

    # ------------------------------------------------------------ legacy links
    def _register_links(self, host_config: dict, primary: Network, endpoints: dict, name: str) -> dict:
        """--link at create. On the default bridge each linked container must exist, and HostConfig.Links becomes
        dockerd's `/child:/parent/alias`. On a user-defined network a link is only a DNS alias that this
        container alone resolves (the endpoint's Links, unchecked as in moby), and HostConfig.Links stays empty
        (moby's inspect shows legacy links only)."""
        if not primary.is_default_bridge:
            key = next((k for k in endpoints if k in (primary.name, primary.id)), primary.name)
            cfg = dict(endpoints.get(key) or {})
            cfg["Links"] = list(dict.fromkeys([*(cfg.get("Links") or []),
                                               *(":".join(links.parse_link(x)) for x in host_config["Links"])]))
            host_config["Links"] = None
            return {**endpoints, key: cfg}
        parsed = []
        for spec in host_config["Links"]:
            child_ref, alias = links.parse_link(spec)
            try:
                child = self.containers.get(child_ref)
            except NotFound as err:
                raise InvalidParameter(f"could not get container for {child_ref}: {err}") from None
            if (child.host_config.get("NetworkMode") or "") == "host":
                raise InvalidParameter("conflicting options: host type networking can't be used with links. This "
                                       "would result in undefined behavior")
            parsed.append((child.name, alias))
        host_config["Links"] = [links.link_name(child, name, alias) for child, alias in parsed]
        self._linked().update(child for child, _ in parsed)
        return endpoints

    def _linked(self) -> set[str]:
        """Names of containers some container links to (a superset: stale names only cost a query), so that
        starting a container no one links to looks at no other record."""
        if self._linked_names is None:
            self._linked_names = self.containers.link_targets()
        return self._linked_names

    def _links_of(self, c, fresh=None) -> list[tuple[object, str]]:
        """(linked container, link name `/parent/alias`) of a container's default-bridge links; `fresh` is a
        linked container being started, newer than its saved record."""
        out = []
        for entry in c.host_config.get("Links") or []:
            child, _, name = entry.partition(":")
            if fresh is not None and child == f"/{fresh.name}":
                out.append((fresh, name))
                continue
            try:
                out.append((self.containers.get(child.lstrip("/")), name))
            except NotFound:
                continue  # removed since: the link is dead, as with dockerd
        return out

    def _check_links(self, c) -> None:
        for child, name in self._links_of(c):
            if not child.state.Running:
                raise Conflict(f"Cannot link to a non running container: /{child.name} AS {name}")

    def _link_hosts(self, c, fresh=None) -> list[str]:
        """/etc/hosts lines of the linked containers, in --add-host form."""
        out = []
        for child, name in self._links_of(c, fresh):
            ip = ((child.network_settings.get("Networks") or {}).get("bridge") or {}).get("IPAddress")
            if ip:
                out.append(links.hosts_entry(name.rsplit("/", 1)[-1], child.config.get("Hostname") or child.short_id,
                                             child.name, ip))
        return out

    def _update_link_parents(self, child) -> None:
        """A linked container (re)started, maybe with a new address: its running parents' /etc/hosts follow,
        as libnetwork's updateParentHosts does."""
        if child.name not in self._linked():
            return
        for parent_id in self.containers.ids_linking_to(child.name):
            parent = self.containers.get(parent_id)
            if parent.state.Running and any(e.partition(":")[0] == f"/{child.name}"
                                            for e in parent.host_config.get("Links") or []):
                self._rewrite_hosts(parent, fresh=child)

    def link_env(self, c) -> list[str]:
        """The variables a container gets from its links (ALIAS_PORT_..., ALIAS_NAME, ALIAS_ENV_...)."""
        env = []
        for child, name in self._links_of(c):
            ip = ((child.network_settings.get("Networks") or {}).get("bridge") or {}).get("IPAddress") or ""
            env += links.link_env(name, ip, child.config.get("Env") or [], child.config.get("ExposedPorts") or {})
        return env

    async def remove_link(self, name: str) -> None:
        """`docker rm --link /parent/alias`: the parent forgets the link (no container is removed)."""
        parent, _, alias = name.strip("/").rpartition("/")
        if not parent:
            raise InvalidParameter("Conflict, cannot remove the default link name of the container")
        try:
            c = self.containers.get(parent)
        except NotFound:
            raise NotFound(f"Cannot get parent /{parent} for link name {name}") from None
        async with self.containers.lock(c.id):
            c = self.containers.get(c.id)
            wanted = f"/{c.name}/{alias}"
            kept = [e for e in c.host_config.get("Links") or [] if e.partition(":")[2] != wanted]
            if len(kept) == len(c.host_config.get("Links") or []):
                raise NotFound(f"No such container: {name}")
            c.host_config["Links"] = kept or None
            if c.state.Running:
                self._rewrite_hosts(c)
            self.containers.save(c)

    def _create_ref(self, ref: str) -> Network:
        """A network named at create; a 400, not a 404, which the docker CLI would take for a missing image."""
        try:
            return self.get("bridge" if ref == "default" else ref)
        except NotFound as err:
            raise InvalidParameter(str(err)) from None

    def _endpoint_config(self, n: Network, cfg: dict, name: str, cid: str, hostname: str) -> dict:
        aliases = [a for a in cfg.get("Aliases") or [] if a]
        if not n.dns and aliases:
            raise InvalidParameter("network-scoped alias is supported only for containers in user defined networks")
        ipam_cfg = cfg.get("IPAMConfig") or {}
        for key, subnet, user in (("IPv4Address", n.subnet if n.addressed else None, n.user_subnet),
                                  ("IPv6Address", n.subnet6, n.user_subnet6)):
            wanted = ipam_cfg.get(key)
            if not wanted:
                continue
            if not n.addressed or not user:
                raise InvalidParameter("user specified IP address is supported only when connecting to networks "
                                       "with user configured subnets")
            try:
                ok = ipaddress.ip_address(wanted) in subnet().network
            except ValueError:
                ok = False
            if not ok:
                raise InvalidParameter(f"invalid endpoint settings:\nno configured subnet or ip-range contain the "
                                       f"IP address {wanted}")
        if cfg.get("MacAddress"):
            cfg = {**cfg, "MacAddress": parse_mac(cfg["MacAddress"])}
        settings = endpoint_settings(n.id, cfg)
        if n.dns:  # dockerd: name, aliases, short ID, hostname
            names = [name, *aliases, cid[:12], hostname]
            settings["DNSNames"] = list(dict.fromkeys(x for x in names if x))
        return settings

    # ------------------------------------------------------------ containers: start and stop
    def netns_path(self, cid: str) -> str:
        return str(self.netns_dir / cid)

    async def attach(self, c) -> str | None:
        """Give a container about to start its network; returns the namespace runc must join (None: runc
        makes a fresh one with only lo, or shares the host's). On failure nothing is left behind."""
        mode = c.host_config.get("NetworkMode") or "bridge"
        if mode == "host":
            await asyncio.to_thread(self._write_etc, c, [], host=True)
            return None
        if mode.startswith("container:"):
            return self._join(c, mode.split(":", 1)[1])
        nets = self._networks_of(c)
        if not any(n.addressed for n, _ in nets):  # none
            await asyncio.to_thread(self._write_etc, c, [])
            return None
        self._check_links(c)
        netns = self.netns_path(c.id)
        await self.detach(c)  # leftovers of a start that crashed half-way
        await self._unlinked(c.id)  # the veths of its previous run, if their deletion is still going on
        try:
            primary = None
            for index, (n, settings) in enumerate(nets):
                ep = await self._add_endpoint(c, n, settings, netns, create_netns=index == 0, ifname=f"eth{index}",
                                              default_route=index == 0)
                primary = primary or ep
            c.network_settings["SandboxID"] = secrets.token_hex(32)
            c.network_settings["SandboxKey"] = netns
            await self._publish(c, primary["ip"])
            await asyncio.to_thread(self._write_etc, c, [e["IPAddress"] for _, e in nets], dns=self._dns_network(c))
            await self._container_dns_up(c)
            self._update_link_parents(c)
        except BaseException:
            await self.detach(c)
            raise
        return netns

    def _networks_of(self, c) -> list[tuple[Network, dict]]:
        """The container's networks, the NetworkMode one first (it gives the default route and eth0)."""
        mode = c.host_config.get("NetworkMode") or "bridge"
        settings = c.network_settings.setdefault("Networks", {})
        out = []
        for name, s in settings.items():
            try:
                n = self.get(s.get("NetworkID") or name)
            except NotFound:
                raise NotFound(f"network {name} not found") from None
            out.append((n, s))
        out.sort(key=lambda item: (not (item[0].name == mode or item[0].id == mode
                                        or item[0].id.startswith(mode)), item[0].name))
        return out

    def _join(self, c, ref: str) -> str:
        other = self.containers.get(ref)
        if not other.state.Running:
            raise Conflict(f"cannot join network of a non running container: {other.id}")
        # Share the other container's /etc/hosts and resolv.conf as well, and its host name (the one its
        # /etc/hosts names), as dockerd does.
        c.hostname_path, c.hosts_path, c.resolv_conf_path = (other.hostname_path, other.hosts_path,
                                                             other.resolv_conf_path)
        c.config["Hostname"] = other.config.get("Hostname") or other.short_id
        c.config["Domainname"] = other.config.get("Domainname") or ""
        key = other.network_settings.get("SandboxKey")
        if key and os.path.exists(key):
            return key
        if (other.host_config.get("NetworkMode") or "") == "host":
            return f"/proc/{os.getpid()}/ns/net"
        return f"/proc/{other.state.Pid}/ns/net"

    async def _add_endpoint(self, c, n: Network, settings: dict, netns: str, create_netns: bool, ifname: str,
                            default_route: bool) -> dict:
        self._bare.discard(c.id)
        subnet, subnet6 = n.subnet(), n.subnet6()
        ipam_cfg = settings.get("IPAMConfig") or {}
        eid = secrets.token_hex(32)
        driver, net = self._driver(n), n.net_config()
        route = default_route and not n.internal

        def allocate():  # in a thread: SQLite, and the write lock a long transaction may hold
            with self.md.tx() as cur:  # allocation and record in one transaction: concurrent starts never collide
                rows = cur.execute("SELECT ip, data FROM endpoints WHERE network_id=?", (n.id,)).fetchall()
                ip = ipam.pick_address(subnet, {ipaddress.ip_address(r[0]) for r in rows}, ipam_cfg.get("IPv4Address"))
                ip6 = None
                if subnet6 is not None:
                    used6 = {ipaddress.ip_address(json.loads(r[1])["ip6"]) for r in rows if json.loads(r[1]).get("ip6")}
                    ip6 = ipam.pick_address(subnet6, used6, ipam_cfg.get("IPv6Address"))
                ep = Endpoint(netns=netns, ifname=ifname, host_link=f"dy{c.id[:8]}{n.id[:5]}", address=ip,
                              prefix_len=subnet.network.prefixlen, mac=settings.get("MacAddress") or ipam.mac_for(ip),
                              gateway=subnet.gateway if route else None, address6=ip6,
                              prefix_len6=subnet6.network.prefixlen if subnet6 else 0,
                              gateway6=subnet6.gateway if route and subnet6 else None, create_netns=create_netns,
                              mtu=MTU)
                mac = driver.endpoint_mac(net, ep)
                data = {"name": c.name, "mac": mac, "ifname": ifname, "host_veth": "".join(driver.host_links(ep)),
                        "prefix_len": subnet.network.prefixlen, "dns_names": settings.get("DNSNames") or [],
                        "ip6": str(ip6) if ip6 else "", "prefix_len6": ep.prefix_len6,
                        "links": settings.get("Links") or []}
                cur.execute("INSERT INTO endpoints(id, network_id, container_id, ip, data) VALUES (?,?,?,?,?)",
                            (eid, n.id, c.id, str(ip), json.dumps(data)))
            return ip, ip6, ep, mac

        def allocate_and_join():  # one thread hop; a join that failed undid itself, and its row goes too
            allocated = allocate()
            driver.join(net, allocated[2])
            return allocated

        ip, ip6, ep, mac = await finished_or_undone(allocate_and_join, lambda: self._delete_endpoints("id=?", eid))
        gateway6 = str(subnet6.gateway) if subnet6 else ""
        runtime = {"Gateway": str(subnet.gateway), "IPAddress": str(ip), "IPPrefixLen": subnet.network.prefixlen,
                   "MacAddress": mac, "IPv6Gateway": gateway6, "GlobalIPv6Address": str(ip6) if ip6 else "",
                   "GlobalIPv6PrefixLen": ep.prefix_len6}
        settings.update({"NetworkID": n.id, "EndpointID": eid, **runtime})
        if n.is_default_bridge:  # the deprecated top-level fields mirror the default bridge only
            c.network_settings.update({"EndpointID": eid, **runtime})
        return {"ip": str(ip), "id": eid}

    async def detach(self, c) -> None:
        """Undo attach(): proxy, veths, addresses, namespace. Safe to call on anything, any number of times.

        The host ports and the addresses are free when this returns; the namespace and the veths go in the
        background, because deleting a network device waits for the kernel (~25 ms each), unmounting the
        namespace costs a thread hop, and `run --rm` would wait for them too. A next attach() waits for them.
        """
        bare = c.id in self._bare
        await self._stop_proxy(c.id, bare)
        self._container_dns_down(c.id)
        eps = [] if bare else await blocking(self._endpoints, container_id=c.id)
        netns = self.netns_path(c.id)
        links = [e["host_veth"] for e in eps if e["host_veth"]]
        if links or (not bare and os.path.exists(netns)):
            self._unlink_later(c.id, links, netns)
        ns = c.network_settings
        for settings in (ns.get("Networks") or {}).values():
            clear_runtime(settings)
        for key in ("EndpointID", "Gateway", "IPAddress", "MacAddress", "SandboxID", "SandboxKey", "IPv6Gateway",
                    "GlobalIPv6Address", "GlobalIPv6PrefixLen"):
            ns.pop(key, None)
        ns.pop("IPPrefixLen", None)
        ns["Ports"] = {}
        if eps:  # (last: a cancelled detach has undone everything else, and this goes on in its thread)
            await asyncio.shield(asyncio.to_thread(self._delete_endpoints, "container_id=?", c.id))
        self._bare.add(c.id)

    def _delete_endpoints(self, where: str, *args: str) -> None:
        """(In a thread: the write lock may be held by a long transaction) endpoints' rows go."""
        with self.md.tx() as cur:
            cur.execute(f"DELETE FROM endpoints WHERE {where}", args)

    def _unlink_later(self, cid: str, links: list[str], netns: str) -> None:
        previous = self._unlinking.get(cid)
        hurry = self._unlink_hurry.setdefault(cid, asyncio.Event())

        async def unlink() -> None:
            if previous is not None:
                await previous
            # The kernel's work for a veth and a namespace (much of it CPU) waits until the exit or removal that
            # detached them has been answered (a `run --rm`'s, in ~10 ms), unless a start needs them gone.
            try:
                await asyncio.wait_for(hurry.wait(), UNLINK_DELAY)
            except asyncio.TimeoutError:
                pass
            await asyncio.to_thread(_release_netns_and_links, netns, links)

        def done(task: asyncio.Task) -> None:
            if self._unlinking.get(cid) is task:
                del self._unlinking[cid]
                self._unlink_hurry.pop(cid, None)

        task = asyncio.get_running_loop().create_task(unlink())
        self._unlinking[cid] = task
        task.add_done_callback(done)

    async def _unlinked(self, cid: str) -> None:
        task = self._unlinking.get(cid)
        if task is not None:
            self._unlink_hurry[cid].set()
            await asyncio.shield(task)

    async def renamed(self, c, old: str) -> None:
        """A renamed container answers to its new name on every network, as with dockerd."""
        def swap(names):
            return [c.name if n == old else n for n in names] if names else names

        def rename_endpoints() -> None:
            with self.md.tx() as cur:
                for ep in self._endpoints(container_id=c.id):
                    data = {k: v for k, v in ep.items() if k not in ("id", "network_id", "container_id", "ip")}
                    data.update(name=c.name, dns_names=swap(ep["dns_names"]))
                    cur.execute("UPDATE endpoints SET data=? WHERE id=?", (json.dumps(data), ep["id"]))

        for settings in (c.network_settings.get("Networks") or {}).values():
            settings["DNSNames"] = swap(settings.get("DNSNames"))
        await asyncio.to_thread(rename_endpoints)

    # ------------------------------------------------------------ connect / disconnect
    async def connect(self, ref: str, body: dict) -> None:
        n = self.get(ref)
        c = self.containers.get(body.get("Container") or "")
        cfg = body.get("EndpointConfig") or {}
        async with self.containers.lock(c.id):
            c = self.containers.get(c.id)
            mode = c.host_config.get("NetworkMode") or "bridge"
            if mode == "host" or not n.addressed and n.name == "host":
                raise Forbidden("container cannot be disconnected from host network or connected to host network")
            if mode.startswith("container:") or mode == "none" or n.name == "none":
                raise Forbidden("container sharing network namespace with another container or host cannot be "
                                "connected to any other network")
            nets = c.network_settings.setdefault("Networks", {})
            if n.name in nets:
                raise Forbidden(f"endpoint with name {c.name} already exists in network {n.name}")
            settings = self._endpoint_config(n, cfg, c.name, c.id, c.config.get("Hostname") or c.id[:12])
            if c.state.Running:
                netns = c.network_settings.get("SandboxKey") or self.netns_path(c.id)
                used = {e["ifname"] for e in await blocking(self._endpoints, container_id=c.id)}
                ifname = next(f"eth{i}" for i in range(len(used) + 1) if f"eth{i}" not in used)
                await self._add_endpoint(c, n, settings, netns, create_netns=False, ifname=ifname,
                                         default_route=False)
            nets[n.name] = settings
            await self._save_networks(c)
        self.events.emit("network", "connect", n.id, {"container": c.id, "name": n.name, "type": n.driver})

    async def disconnect(self, ref: str, body: dict) -> None:
        n = self.get(ref)
        try:
            c = self.containers.get(body.get("Container") or "")
        except NotFound:
            if body.get("Force"):  # an endpoint whose container is gone: drop it
                await self._drop_stale(n, body.get("Container") or "")
                return
            raise
        async with self.containers.lock(c.id):
            c = self.containers.get(c.id)
            mode = c.host_config.get("NetworkMode") or "bridge"
            if mode == "host" and n.name == "host":
                raise Forbidden("container cannot be disconnected from host network or connected to host network")
            nets = c.network_settings.get("Networks") or {}
            if n.name not in nets:
                raise Forbidden(f"container {c.id} is not connected to network {n.name}")
            eps = [e for e in await blocking(self._endpoints, container_id=c.id) if e["network_id"] == n.id]
            if eps:
                netns = c.network_settings.get("SandboxKey") or self.netns_path(c.id)
                for e in eps:
                    await asyncio.to_thread(self._driver(n).leave, n.net_config(),
                                            Endpoint(netns=netns, ifname=e["ifname"], host_link=e["host_veth"]))
                await asyncio.to_thread(self._delete_endpoints, "network_id=? AND container_id=?", n.id, c.id)
            del nets[n.name]
            if n.is_default_bridge:
                for key in ("EndpointID", "Gateway", "IPAddress", "MacAddress", "IPPrefixLen", "IPv6Gateway",
                            "GlobalIPv6Address", "GlobalIPv6PrefixLen"):
                    c.network_settings.pop(key, None)
            await self._save_networks(c)
        self.events.emit("network", "disconnect", n.id, {"container": c.id, "name": n.name, "type": n.driver})

    async def _save_networks(self, c) -> None:
        """After a connect or disconnect: a running container's /etc files and DNS follow, its record is saved."""
        if c.state.Running:
            await blocking(self._rewrite_etc, c)
            await self._container_dns_up(c)
        self.containers.save(c)

    async def _drop_stale(self, n: Network, ref: str) -> None:
        eps = [e for e in await blocking(self._endpoints, network_id=n.id)
               if e["name"] == ref or e["container_id"].startswith(ref)]
        if not eps:
            raise NotFound(f"No such container: {ref}")
        await asyncio.to_thread(bridge.remove_links, [e["host_veth"] for e in eps if e["host_veth"]])
        await asyncio.to_thread(self._delete_endpoints, f"id IN ({','.join('?' * len(eps))})", *[e["id"] for e in eps])

    # ------------------------------------------------------------ published ports
    async def _publish(self, c, target_ip: str) -> None:
        hc = c.host_config
        wanted = ports.requested(c.config.get("ExposedPorts"), hc.get("PortBindings"), hc.get("PublishAllPorts"))
        try:
            bound = ports.bind_all(wanted)
        except ports.PortAllocated as err:
            eid = next(iter(c.network_settings.get("Networks", {}).values()), {}).get("EndpointID", "")
            raise SystemError_(f"driver failed programming external connectivity on endpoint {c.name} ({eid}): "
                               f"{err}") from None
        try:
            if bound:
                await self._spawn_proxy(c.id, bound, target_ip)
        finally:
            ports.close_all(bound)  # the proxy holds its own copies now
        c.network_settings["Ports"] = ports.ports_map(c.config.get("ExposedPorts"), bound)

    async def _spawn_proxy(self, cid: str, bound: list[ports.Binding], target_ip: str) -> None:
        specs = [f"{b.sock.fileno()}:{b.proto}:{target_ip}:{b.container_port}" for b in bound]

        def spawn() -> Process:  # in the pool: fork and exec never stall the loop
            with open(self.netns_dir / f"{cid}.proxy.log", "ab") as errlog:
                proc = subprocess.Popen([sys.executable, "-I", "-S", PROXY_PATH, cid, *specs],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errlog,
                                        start_new_session=True, pass_fds=[b.sock.fileno() for b in bound])
            (self.netns_dir / f"{cid}.proxy").write_text(json.dumps({"pid": proc.pid,
                                                                     "start": _start_time(proc.pid)}))
            return Process(proc)

        self._proxies[cid] = await blocking(spawn)

    def proxy_pid(self, cid: str) -> int | None:
        try:
            info = json.loads((self.netns_dir / f"{cid}.proxy").read_text())
        except (OSError, ValueError):
            return None
        return info["pid"] if _start_time(info["pid"]) == info["start"] else None

    async def _stop_proxy(self, cid: str, bare: bool) -> None:
        proc = self._proxies.pop(cid, None)
        if proc is None and bare:  # no endpoint, so no proxy (of ours or of an earlier daemon's)
            return
        recorded, pid = await blocking(self._kill_proxy, cid)
        if not recorded and proc is None:
            return
        if proc is not None:
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except asyncio.TimeoutError:
                log.warning("proxy of %s did not exit", cid[:12])
        elif pid is not None:  # not our child (we restarted since): wait until it is gone or a zombie
            await blocking(_wait_gone_or_zombie, pid)
        await blocking(self._forget_proxy, cid)

    def _kill_proxy(self, cid: str) -> tuple[bool, int | None]:
        """Whether a proxy of `cid` is on record, and the PID of the one still running, now sent SIGKILL."""
        if not (self.netns_dir / f"{cid}.proxy").exists():
            return False, None
        pid = self.proxy_pid(cid)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return True, pid

    def _forget_proxy(self, cid: str) -> None:
        (self.netns_dir / f"{cid}.proxy").unlink(missing_ok=True)
        (self.netns_dir / f"{cid}.proxy.log").unlink(missing_ok=True)

    # ------------------------------------------------------------ /etc/hosts and resolv.conf
    def _write_etc(self, c, addresses: list[str], host: bool = False, dns: Network | None = None) -> None:
        """A starting container's /etc/hosts and resolv.conf (a pool thread's job: it reads the host's files)."""
        hc = c.host_config
        hostname, domain = c.config.get("Hostname") or c.id[:12], c.config.get("Domainname") or ""
        base = etcfiles.host_hosts() if host else None
        hosts = etcfiles.hosts_file(hostname, domain, [] if host else addresses,
                                    self._extra_hosts(hc) if host else self._extra_and_link_hosts(c), base)
        if c.hosts_path:
            etcfiles.write_in_place(c.hosts_path, hosts)
        self._write_resolv(c, host, dns)

    def _write_resolv(self, c, host: bool, dns: Network | None) -> None:
        """resolv.conf: the embedded DNS (on `dns`'s gateway) when given, else the user's or host's servers."""
        if not c.resolv_conf_path:
            return
        hc = c.host_config
        text = etcfiles.container_resolv(etcfiles.host_resolv(), hc.get("Dns") or self.config.dns,
                                         hc.get("DnsSearch") or self.config.dns_search,
                                         hc.get("DnsOptions") or self.config.dns_opts,
                                         embedded=self._dns_address(dns) if dns is not None else None,
                                         keep_loopback=host)
        etcfiles.write_in_place(c.resolv_conf_path, text)

    @staticmethod
    def _dns_address(n: Network) -> str:
        """Where a container asks the embedded DNS of `n`: a bridge's gateway, else 127.0.0.11 in its own
        namespace (a macvlan/ipvlan container cannot reach the host)."""
        return str(n.subnet().gateway) if n.is_bridge else EMBEDDED_DNS

    async def _container_dns_up(self, c) -> None:
        """The 127.0.0.11 resolver of a running container whose DNS network is a macvlan/ipvlan one (made,
        moved to another network, or closed as its networks change). Never fails a start: logs instead."""
        n = self._dns_network(c)
        ip = ((c.network_settings.get("Networks") or {}).get(n.name) or {}).get("IPAddress") if n else None
        current = self._container_dns.get(c.id)
        if n is not None and n.is_bridge or not ip:
            self._container_dns_down(c.id)
            return
        if current is not None and (current.network_id, current.client_ip) == (n.id, ip):
            return
        self._container_dns_down(c.id)
        netns = c.network_settings.get("SandboxKey") or self.netns_path(c.id)
        try:
            sock = await asyncio.to_thread(udp_socket_in, netns, EMBEDDED_DNS, 53)
            server = DNSServer(n.id, EMBEDDED_DNS, self.resolver, sock=sock, client_ip=ip)
            await server.start()
        except OSError as err:
            log.warning("embedded DNS of %s in %s: %s", n.name, c.id[:12], err)
            return
        self._container_dns[c.id] = server

    def _container_dns_down(self, cid: str) -> None:
        server = self._container_dns.pop(cid, None)
        if server is not None:
            server.close()

    def _dns_network(self, c) -> Network | None:
        """The network whose embedded DNS a container asks: its first DNS-served one, the NetworkMode one
        first. dockerd switches a container to its embedded DNS as soon as any endpoint needs one."""
        return next((n for n, _ in self._networks_of(c) if n.dns), None)

    def _rewrite_etc(self, c) -> None:
        """A running container joined or left a network: its addresses in /etc/hosts, and its resolver."""
        self._rewrite_hosts(c)
        self._write_resolv(c, False, self._dns_network(c))

    def _extra_hosts(self, hc: dict) -> list[str]:
        """--add-host entries; `host-gateway` is the default bridge's address, as with dockerd."""
        gateway = str(self.get("bridge").subnet().gateway)
        return [e.replace(":host-gateway", f":{gateway}").replace("=host-gateway", f"={gateway}")
                for e in hc.get("ExtraHosts") or []]

    def _extra_and_link_hosts(self, c, fresh=None) -> list[str]:
        return self._extra_hosts(c.host_config) + self._link_hosts(c, fresh)

    def _rewrite_hosts(self, c, fresh=None) -> None:
        addresses = [s["IPAddress"] for _, s in self._networks_of(c) if s.get("IPAddress")]
        hosts = etcfiles.hosts_file(c.config.get("Hostname") or c.id[:12], c.config.get("Domainname") or "",
                                    addresses, self._extra_and_link_hosts(c, fresh))
        if c.hosts_path:
            etcfiles.write_in_place(c.hosts_path, hosts)

    # ------------------------------------------------------------ embedded DNS callbacks
    def _scope(self, network_id: str, client_ip: str) -> list[Network]:
        """The networks a query may see: every DNS-served network of the asking container."""
        row = self.md.one("SELECT container_id FROM endpoints WHERE network_id=? AND ip=?", (network_id, client_ip))
        ids = [network_id]
        if row is not None:
            ids += [e["network_id"] for e in self._endpoints(container_id=row["container_id"])]
        out = []
        for nid in dict.fromkeys(ids):
            try:
                n = self.get(nid)
            except NotFound:
                continue
            if n.dns:
                out.append(n)
        return out

    def _lookup(self, network_id: str, client_ip: str, name: str) -> list[str] | None:
        ips = []
        asker = next((e for e in self._endpoints(network_id=network_id) if e["ip"] == client_ip), None)
        for link in (asker or {}).get("links") or []:  # --link on a user network: an alias for the asker only
            child, alias = links.parse_link(link)
            if name in (alias.lower(), f"{alias.lower()}.{self.get(network_id).name.lower()}"):
                name = child.lower()
        for n in self._scope(network_id, client_ip):
            wanted = name[:-len(n.name) - 1] if name.endswith("." + n.name.lower()) else name
            for ep in self._endpoints(network_id=n.id):
                if wanted in (x.lower() for x in ep["dns_names"]):
                    ips += [ep["ip"], *([ep["ip6"]] if ep.get("ip6") else [])]
        return list(dict.fromkeys(ips)) or None

    def _reverse(self, network_id: str, client_ip: str, addr) -> str | None:
        scope = self._scope(network_id, client_ip)
        for n in scope:
            for ep in self._endpoints(network_id=n.id):
                if str(addr) in (ep["ip"], ep.get("ip6")):
                    return f"{ep['name']}.{n.name}"
        subnets = [s.network for n in scope for s in (n.subnet(), n.subnet6()) if s is not None]
        return "" if any(addr.version == net.version and addr in net for net in subnets) else None

    def _upstreams(self) -> list[str]:
        return list(self.config.dns) or etcfiles.host_resolv()["nameserver"]

    # ------------------------------------------------------------ daemon start and stop
    async def prepare(self) -> None:
        """Before containers are re-adopted: every bridge network up, its DNS server listening."""
        for n in self.all():
            if n.addressed:
                try:
                    await self._setup_network(n)
                except (SystemError_, InvalidParameter) as err:
                    log.error("network %s: %s", n.name, err)

    async def sweep(self, running) -> None:
        """After re-adoption: free what belongs to containers no longer running; respawn dead proxies."""
        alive = {c.id for c in running}
        stale = {e["container_id"] for e in await blocking(self._endpoints) if e["container_id"] not in alive}
        for entry in os.listdir(self.netns_dir):
            cid = entry.split(".", 1)[0]
            if cid not in alive:
                stale.add(cid)
        for cid in stale:
            log.info("cleaning up the network of %s", cid[:12])
            await self.detach(_Stub(cid))
            await self._unlinked(cid)  # its namespace is unmounted in the background
            for suffix in ("", ".proxy", ".proxy.log"):
                (self.netns_dir / (cid + suffix)).unlink(missing_ok=True)
        for c in running:
            await self._container_dns_up(c)  # the resolvers inside macvlan/ipvlan containers
            if c.network_settings.get("Ports") and (self.netns_dir / f"{c.id}.proxy").exists() \
                    and self.proxy_pid(c.id) is None:
                await self._respawn_proxy(c)

    async def _respawn_proxy(self, c) -> None:
        wanted = [(key, b.get("HostIp") or "", b.get("HostPort") or "")
                  for key, items in (c.network_settings.get("Ports") or {}).items() for b in items or []]
        target = next((s["IPAddress"] for _, s in self._networks_of(c) if s.get("IPAddress")), None)
        if not wanted or target is None:
            return
        try:
            bound = ports.bind_all(wanted)
        except Exception as err:
            log.warning("ports of %s: %s", c.id[:12], err)
            return
        try:
            await self._spawn_proxy(c.id, bound, target)
        finally:
            ports.close_all(bound)

    async def shutdown(self) -> None:
        for server in [*self._dns.values(), *self._container_dns.values()]:
            server.close()
        self._dns.clear()
        self._container_dns.clear()
        if self._unlinking:  # let pending veth deletions finish; sweep() catches any that do not
            for hurry in self._unlink_hurry.values():
                hurry.set()
            await asyncio.wait(list(self._unlinking.values()), timeout=5)


class _Stub:
    """Enough of a container for detach() when only its ID is left."""

    def __init__(self, cid: str):
        self.id = cid
        self.network_settings: dict = {}


def _start_time(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _wait_gone_or_zombie(pid: int, timeout: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    while _start_time(pid) is not None and not _is_zombie(pid) and time.monotonic() < deadline:
        time.sleep(0.01)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _release_netns_and_links(netns: str, links: list[str]) -> None:
    if os.path.exists(netns):
        bridge.release_netns(netns)
    if links:
        bridge.remove_links(links)
