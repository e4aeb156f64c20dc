"""Response shapes as each API version has them (moby's routers do this; services answer in the newest
shape), in this one place. A client pinned to an older version (docker-py's `version="1.41"`, old compose)
gets what dockerd of that API version sent:

- before 1.43: an untagged image lists as `<none>:<none>` / `<none>@<none>` in GET /images/json;
- before 1.44: `VirtualSize` (the same as `Size`) in /images/json, /images/{name}/json and /system/df;
  from 1.44 on it is gone;
- before 1.50: image inspect's `Config` is a whole container config, its container-only fields empty;
- every version: image inspect keeps `Container` and `ContainerConfig` (gone from dockerd's 1.45 on) as a
  deliberate extra: docker-compose 1.x reads `ContainerConfig` on every `up` that recreates a container
  (KeyError without it); see docs/CONTRACTS.md;
- before 1.45: an endpoint's Aliases on a user-defined network include the short container ID;
- before 1.42: HostConfig `KernelMemory`/`KernelMemoryTCP` in container inspect, `BuilderSize` in
  /system/df (and `BuildCache` null, as 20.10's empty BuildKit cache), `KernelMemory`/`KernelMemoryTCP`
  in /info;
- before 1.49: `ContainerdCommit.Expected`, `RuncCommit.Expected`, `InitCommit.Expected` in /info;
  before 1.50: `BridgeNfIptables`/`BridgeNfIp6tables` there (always false from 1.48 on)."""
from __future__ import annotations

from .versions import as_tuple

# container.Config fields an image's Config had before API 1.50, with their zero values (moby's
# legacyConfigFields; the container-only ones are gone from 1.50 on)
LEGACY_CONFIG_FIELDS = {"AttachStderr": False, "AttachStdin": False, "AttachStdout": False, "Cmd": None,
                        "Domainname": "", "Entrypoint": None, "Env": None, "Hostname": "", "Image": "",
                        "Labels": None, "OnBuild": None, "OpenStdin": False, "StdinOnce": False, "Tty": False,
                        "User": "", "Volumes": None, "WorkingDir": ""}


def image_summary(summary: dict, version: str, placeholders: bool = True) -> dict:
    """One entry of GET /images/json (or, without the `<none>` placeholders, of system df's Images)."""
    v = as_tuple(version)
    summary = {k: val for k, val in summary.items() if k != "VirtualSize"}
    if placeholders and v < (1, 43) and not summary.get("RepoTags") and not summary.get("RepoDigests"):
        summary.update(RepoTags=["<none>:<none>"], RepoDigests=["<none>@<none>"])
    if v < (1, 44):
        summary["VirtualSize"] = summary["Size"]
    return summary


def image_inspect(doc: dict, version: str) -> dict:
    """`doc` is the service's inspect with the image JSON's `container` and `container_config` as `Container`
    and `ContainerConfig` (None when the image has none: its own Config stands in, so ContainerConfig's
    Volumes and Env are the image's, what compose 1.x looks for)."""
    v = as_tuple(version)
    doc = dict(doc)
    if v < (1, 44):
        doc["VirtualSize"] = doc["Size"]
    doc["Container"] = doc.get("Container") or ""
    doc["ContainerConfig"] = _legacy_config(doc.get("ContainerConfig") or doc.get("Config"))
    if v < (1, 50):
        doc["Config"] = _legacy_config(doc.get("Config"))
    return doc


def _legacy_config(config: dict | None) -> dict:
    return dict(sorted({**LEGACY_CONFIG_FIELDS, **(config or {})}.items()))


def disk_usage(usage: dict, version: str) -> dict:
    usage = dict(usage)
    if usage.get("Images") is not None:
        usage["Images"] = [image_summary(s, version, placeholders=False) for s in usage["Images"]]
    if as_tuple(version) < (1, 42):
        usage["BuilderSize"] = 0  # the classic builder's cache is images, counted in LayersSize
        if not usage.get("BuildCache"):
            usage["BuildCache"] = None
    return usage


def container_inspect(doc: dict, version: str) -> dict:
    v = as_tuple(version)
    if v < (1, 42) and doc.get("HostConfig") is not None:
        doc = {**doc, "HostConfig": {"KernelMemory": 0, "KernelMemoryTCP": 0, **doc["HostConfig"]}}
    networks = (doc.get("NetworkSettings") or {}).get("Networks")
    if v < (1, 45) and networks:
        # before 1.45 an endpoint on a user-defined network lists the short container ID among its Aliases
        short_id = doc["Id"][:12]
        networks = {name: ({**ep, "Aliases": list(dict.fromkeys([*(ep.get("Aliases") or []), short_id]))}
                           if name not in BUILTIN_NETWORKS and ep is not None else ep)
                    for name, ep in networks.items()}
        doc = {**doc, "NetworkSettings": {**doc["NetworkSettings"], "Networks": networks}}
    return doc


BUILTIN_NETWORKS = {"bridge", "host", "none", "default"}


def info(doc: dict, version: str) -> dict:
    v = as_tuple(version)
    doc = dict(doc)
    if v < (1, 42):
        # no kernel memory accounting here (cgroup v2 has none; dockyard never sets it on v1 either)
        doc.update(KernelMemory=False, KernelMemoryTCP=False)
    if v < (1, 49):
        for key in ("ContainerdCommit", "RuncCommit", "InitCommit"):
            commit = doc.get(key) or {"ID": ""}
            doc[key] = {**commit, "Expected": commit.get("ID", "")}
    if v < (1, 50):
        # read from the host's sysctls before 1.48; from 1.48 on dockerd reports false
        doc["BridgeNfIptables"] = v < (1, 48) and _sysctl_on("net/bridge/bridge-nf-call-iptables")
        doc["BridgeNfIp6tables"] = v < (1, 48) and _sysctl_on("net/bridge/bridge-nf-call-ip6tables")
    return doc


def _sysctl_on(name: str) -> bool:
    try:
        with open(f"/proc/sys/{name}") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


# moby's BlkioStats: every list is marshalled, whatever the cgroup version fills in.
BLKIO_KEYS = ("io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
              "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive",
              "sectors_recursive")


def stats(doc: dict, version: str) -> dict:
    blkio = doc.get("blkio_stats") or {}
    return {**doc, "blkio_stats": {**{k: [] for k in BLKIO_KEYS}, **{k: v for k, v in blkio.items() if v}}}
