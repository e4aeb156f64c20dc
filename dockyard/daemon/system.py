"""version, info and disk usage: what `docker version`, `docker info` and `docker system df` show."""
from __future__ import annotations

import os
import platform
import socket
import subprocess
from functools import lru_cache

from .. import __version__
from ..apiversion import MAX_API_VERSION, MIN_API_VERSION
from ..errors import InvalidParameter
from ..network.driver import driver_names
from ..runtime import sysinfo
from ..registry.client.endpoints import split_insecure_registries
from ..runtime import logdrivers
from ..timefmt import now_rfc3339, rfc3339
from .cgroup_info import cgroup_version, swap_limit

# The object types of `GET /system/df?type=` (moby's DiskUsageObject values).
DF_TYPES = frozenset({"container", "image", "volume", "build-cache"})


def go_arch() -> str:
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(m, m)


@lru_cache(maxsize=None)
def runtime_version(binary: str) -> tuple[str, str]:
    """(version, commit) from `runc --version`'s first line and `commit:` line, as moby's
    parseRuntimeVersion reads them for `docker version` and `docker info`."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "", ""
    lines = out.splitlines()
    version = lines[0].split()[-1] if lines and lines[0].split() else ""
    commit = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("commit:")), "")
    return version, commit


@lru_cache(maxsize=1)
def build_time() -> str:
    """dockerd's BuildTime is when its binary was built; ours is when this dockyard was installed (its
    package's modification time), in the same RFC 3339 form."""
    package_init = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "__init__.py")
    return rfc3339(os.stat(package_init).st_mtime_ns)


def _os_name() -> str:
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


class SystemService:
    def __init__(self, config, images, store, containers, volumes, layers, daemon_id: str):
        self.config = config
        self.images = images
        self.store = store  # ContainerStore: counts and the users of images and volumes
        self.containers = containers  # ContainerService: its disk usage
        self.volumes = volumes
        self.layers = layers
        self.daemon_id = daemon_id

    def version(self) -> dict:
        details = {"ApiVersion": MAX_API_VERSION, "MinAPIVersion": MIN_API_VERSION, "Os": "linux", "Arch": go_arch(),
                   "KernelVersion": platform.release(), "GitCommit": "", "GoVersion": f"python{platform.python_version()}",
                   "BuildTime": build_time(), "Experimental": "false"}
        version, commit = runtime_version(self._runtime_binary())
        return {
            "Platform": {"Name": f"Dockyard {__version__}"},
            "Components": [
                {"Name": "Engine", "Version": __version__, "Details": details},
                {"Name": self.config.default_runtime, "Version": version, "Details": {"GitCommit": commit}},
            ],
            "Version": __version__, "ApiVersion": MAX_API_VERSION, "MinAPIVersion": MIN_API_VERSION,
            "GitCommit": "", "GoVersion": f"python{platform.python_version()}", "Os": "linux", "Arch": go_arch(),
            "KernelVersion": platform.release(), "BuildTime": build_time(),
        }

    def _runtime_binary(self) -> str:
        return self.config.runtimes.get(self.config.default_runtime, {}).get("path", "runc")

    def _registry_config(self) -> dict:
        """What `docker info` lists as Registry Mirrors and Insecure Registries (names, then CIDRs)."""
        names, nets = split_insecure_registries(self.config.insecure_registries)
        index = {"docker.io": {"Name": "docker.io", "Mirrors": self.config.registry_mirrors, "Secure": True,
                               "Official": True}}
        for name in names:
            index[name] = {"Name": name, "Mirrors": [], "Secure": False, "Official": False}
        return {"AllowNondistributableArtifactsCIDRs": None, "AllowNondistributableArtifactsHostnames": None,
                "InsecureRegistryCIDRs": ["127.0.0.0/8", "::1/128"] + [str(n) for n in nets],
                "IndexConfigs": index, "Mirrors": self.config.registry_mirrors}

    def info(self) -> dict:
        counts = self.store.counts()
        total = sum(counts.values())
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        driver = self.layers.driver
        return {
            "ID": self.daemon_id, "Containers": total, "ContainersRunning": counts["running"],
            "ContainersPaused": counts["paused"], "ContainersStopped": counts["stopped"],
            "Images": self.images.count(), "Driver": driver.name,
            "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
            "Plugins": {"Volume": ["local"], "Network": sorted(driver_names()), "Authorization": None,
                        "Log": logdrivers.NAMES},
            "MemoryLimit": True, "SwapLimit": swap_limit(),
            "CpuCfsPeriod": True, "CpuCfsQuota": True, "CPUShares": True, "CPUSet": True, "PidsLimit": True,
            "IPv4Forwarding": True, "Debug": self.config.log_level == "debug", "NFd": len(os.listdir("/proc/self/fd")),
            "OomKillDisable": sysinfo.host().oom_kill_disable, "NGoroutines": 0, "SystemTime": now_rfc3339(), "LoggingDriver": "json-file",
            "CgroupDriver": "cgroupfs", "CgroupVersion": cgroup_version(),
            "NEventsListener": 0, "KernelVersion": platform.release(), "OperatingSystem": _os_name(),
            "OSVersion": "", "OSType": "linux", "Architecture": platform.machine(),
            "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": self._registry_config(),
            "NCPU": os.cpu_count(), "MemTotal": mem, "GenericResources": None,
            "DockerRootDir": str(self.config.data_root), "HttpProxy": os.environ.get("HTTP_PROXY", ""),
            "HttpsProxy": os.environ.get("HTTPS_PROXY", ""), "NoProxy": os.environ.get("NO_PROXY", ""),
            "Name": socket.gethostname(), "Labels": [], "ExperimentalBuild": False, "ServerVersion": __version__,
            "Runtimes": {k: {"path": v.get("path", k)} for k, v in self.config.runtimes.items()},
            "DefaultRuntime": self.config.default_runtime,
            "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False,
                      "Error": "", "RemoteManagers": None},
            "LiveRestoreEnabled": True, "Isolation": "", "InitBinary": "docker-init",
            "ContainerdCommit": {"ID": ""}, "RuncCommit": {"ID": runtime_version(self._runtime_binary())[1]}, "InitCommit": {"ID": ""},
            "SecurityOptions": ["name=seccomp,profile=builtin"], "CDISpecDirs": [],
            "Warnings": sysinfo.info_warnings(sysinfo.host()) or None,
        }

    def disk_usage(self, types: set[str] | None = None) -> dict:
        """`docker system df` for the object `types` asked for (None: all of DF_TYPES). As moby, a type not
        asked for is not computed and its key is null (LayersSize 0 unless images are asked for)."""
        types = DF_TYPES if types is None else types
        unknown = sorted(types - DF_TYPES)
        if unknown:
            raise InvalidParameter(f"unknown object type: {unknown[0]}")
        usage = {"LayersSize": 0, "Images": None, "Containers": None, "Volumes": None, "BuildCache": None}
        if "image" in types:
            usage["LayersSize"], usage["Images"] = self.layers.total_size(), self.image_usage()
        if "container" in types:
            usage["Containers"] = self.containers.disk_usage()
        if "volume" in types:
            usage["Volumes"] = self.volume_usage()
        if "build-cache" in types:
            usage["BuildCache"] = []  # the classic builder keeps no BuildKit cache records
        return usage

    def image_usage(self) -> list[dict]:
        """The images `docker images` lists (intermediate build images are counted in LayersSize only, as
        dockerd does), a layer's size being shared when several of them use it."""
        summaries = self.images.list()
        parents = {r["chain_id"]: r["parent"] for r in self.images.md.query("SELECT chain_id, parent FROM layers")}
        chains = {s["Id"]: _chain_of(self.images.get(s["Id"]).top_chain, parents) for s in summaries}
        users: dict[str, int] = {}
        for ids in chains.values():
            for chain_id in ids:
                users[chain_id] = users.get(chain_id, 0) + 1
        images = []
        for s in summaries:
            shared = [self.layers.get(c) for c in chains[s["Id"]] if users[c] > 1]
            s["SharedSize"] = sum(layer.size for layer in shared if layer)
            s["Containers"] = len(self.store.users_of_image(s["Id"]))
            images.append(s)
        return images

    def volume_usage(self) -> list[dict]:
        """Every volume with UsageData: its size on disk and how many containers use it."""
        return [{**vol, "UsageData": {"Size": self.volumes.size(vol["Name"]),
                                      "RefCount": len(self.store.users_of_volume(vol["Name"]))}}
                for vol in self.volumes.list()]


def _chain_of(top: str | None, parents: dict[str, str | None]) -> list[str]:
    """The chain IDs of a layer and every layer below it."""
    out = []
    while top and top in parents:
        out.append(top)
        top = parents[top]
    return out
