"""Daemon configuration: dockerd's flag names and daemon.json keys, where they apply."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidParameter
from ..network.ipam import parse_bip

DEFAULT_SOCKET = "unix:///run/dockyard/dockyard.sock"


@dataclass
class DaemonConfig:
    hosts: list[str] = field(default_factory=lambda: [DEFAULT_SOCKET])
    data_root: Path = Path("/var/lib/dockyard")
    exec_root: Path = Path("/run/dockyard")
    pidfile: Path | None = None
    log_level: str = "info"
    storage_driver: str = ""
    default_runtime: str = "runc"
    runtimes: dict = field(default_factory=lambda: {"runc": {"path": "runc"}})
    insecure_registries: list[str] = field(default_factory=list)
    registry_mirrors: list[str] = field(default_factory=list)
    # Where docker.io names are pulled from after the mirrors (Docker Hub itself unless set): an air-gapped
    # site's own registry, or a local one in tests, so that nothing ever falls back to the internet.
    docker_hub_endpoint: str = ""
    group: str = "dockyard"
    # Networking (dockerd's -b/--bridge, --bip, --iptables, --dns*, default-address-pools).
    bridge: str = "dockyard0"
    bip: str = "10.210.0.1/16"
    iptables: bool = True
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_opts: list[str] = field(default_factory=list)
    default_address_pools: list[dict] = field(default_factory=lambda: [{"base": "10.211.0.0/16", "size": 24}])
    # dockerd's --cpu-rt-runtime/--cpu-rt-period: the real-time budget (µs) of the containers' parent cgroup
    cpu_rt_runtime: int = 0
    cpu_rt_period: int = 0
    # Where daemon.json was read from, and the keys set by flags instead: what a SIGHUP reload needs.
    config_file: Path | None = None
    flag_keys: set[str] = field(default_factory=set)

    # daemon.json key -> attribute
    JSON_KEYS = {
        "hosts": "hosts", "data-root": "data_root", "exec-root": "exec_root", "pidfile": "pidfile",
        "log-level": "log_level", "storage-driver": "storage_driver", "default-runtime": "default_runtime",
        "runtimes": "runtimes", "insecure-registries": "insecure_registries",
        "registry-mirrors": "registry_mirrors", "docker-hub-endpoint": "docker_hub_endpoint", "group": "group",
        "bridge": "bridge", "bip": "bip",
        "iptables": "iptables", "dns": "dns", "dns-search": "dns_search", "dns-opts": "dns_opts",
        "default-address-pools": "default_address_pools", "cpu-rt-runtime": "cpu_rt_runtime",
        "cpu-rt-period": "cpu_rt_period",
    }

    @classmethod
    def read_file(cls, path: str | Path) -> dict:
        """The daemon.json at `path` as a dict, refused (like dockerd) if a key is not an option we know."""
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise InvalidParameter(f"unable to configure the Docker daemon with file {path}: no such file") from None
        except ValueError as err:
            raise InvalidParameter(f"unable to configure the Docker daemon with file {path}: {err}") from None
        if not isinstance(data, dict):
            raise InvalidParameter(f"unable to configure the Docker daemon with file {path}: not a JSON object")
        unknown = [k for k in data if k not in cls.JSON_KEYS]
        if unknown:
            raise InvalidParameter(f"the following directives don't match any configuration option: {', '.join(unknown)}")
        return data

    def apply_file(self, path: str | Path) -> dict:
        """Apply a daemon.json; returns its contents."""
        data = self.read_file(path)
        for key, value in data.items():
            attr = self.JSON_KEYS[key]
            if attr in ("data_root", "exec_root", "pidfile"):
                value = Path(value)
            if attr == "runtimes":
                value = {**self.runtimes, **value}
            setattr(self, attr, value)
        return data

    def add_runtime(self, item: str) -> None:
        """dockerd's `--add-runtime NAME=PATH`."""
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise InvalidParameter(f"invalid runtime argument: {item!r}: expected NAME=PATH")
        if name == "runc":
            raise InvalidParameter(f"runtime name '{name}' is reserved")
        self.runtimes = {**self.runtimes, name: {"path": path}}

    def validate(self) -> None:
        if self.default_runtime not in self.runtimes:
            raise InvalidParameter(f"default runtime {self.default_runtime} does not exist")
        if not self.bridge or len(self.bridge) > 15:
            raise InvalidParameter(f"invalid bridge name {self.bridge!r}: 1 to 15 characters")
        parse_bip(self.bip)
        check_endpoint_url(self.docker_hub_endpoint)


def check_endpoint_url(url: str) -> None:
    """A registry endpoint setting: http(s)://host[:port], nothing after it."""
    if not url:
        return
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("http", "https") or not rest.rstrip("/") or "/" in rest.rstrip("/"):
        raise InvalidParameter(f"invalid docker-hub-endpoint {url!r}: use https://host[:port] (or http://)")
