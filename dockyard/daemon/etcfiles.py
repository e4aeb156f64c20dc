"""A container's /etc/hostname, /etc/hosts and /etc/resolv.conf, and its bind mounts from HostConfig."""
from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import InvalidParameter

HOSTS_BASE = """127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::\tip6-localnet
ff00::\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""


def _resolv_conf() -> str:
    """The host's resolv.conf without loopback resolvers (unreachable from the container's namespace)."""
    try:
        lines = Path("/etc/resolv.conf").read_text().splitlines()
    except OSError:
        lines = []
    kept = [l for l in lines if not re.match(r"\s*nameserver\s+(127\.|::1)", l)]
    return "\n".join(kept) + "\n"


def write(cdir: Path, hostname: str, domainname: str = "") -> tuple[str, str, str]:
    paths = cdir / "hostname", cdir / "hosts", cdir / "resolv.conf"
    paths[0].write_text(hostname + "\n")
    fqdn = f"{hostname}.{domainname}" if domainname else hostname
    paths[1].write_text(HOSTS_BASE)
    paths[2].write_text(_resolv_conf())
    del fqdn
    return tuple(str(p) for p in paths)


def network_settings(host_config: dict) -> dict:
    mode = host_config.get("NetworkMode") or "bridge"
    return {"Networks": {} if mode in ("none", "host") else {}, "Ports": {}}


def _parse_bind(spec: str) -> dict:
    parts = spec.split(":")
    if len(parts) < 2 or len(parts) > 3:
        raise InvalidParameter(f"invalid volume specification: '{spec}'")
    source, dest = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else "rw"
    if not dest.startswith("/"):
        raise InvalidParameter(f"invalid volume specification: '{spec}': invalid mount config for type \"bind\": "
                               f"invalid mount path: '{dest}' mount path must be absolute")
    if not source.startswith("/"):
        raise InvalidParameter(f"named volumes are not supported yet: '{spec}' (use an absolute host path)")
    opts = [o for o in mode.split(",") if o]
    return {"Type": "bind", "Source": source, "Destination": dest, "Mode": mode if len(parts) == 3 else "",
            "RW": "ro" not in opts, "Propagation": "rprivate"}


def mount_points(host_config: dict) -> list[dict]:
    return [_parse_bind(b) for b in host_config.get("Binds") or []]


def bind_mounts(host_config: dict) -> list[dict]:
    """OCI mount entries for HostConfig.Binds (bind mounts of host paths)."""
    mounts = []
    for mp in mount_points(host_config):
        if not os.path.exists(mp["Source"]):
            os.makedirs(mp["Source"], exist_ok=True)  # docker creates a missing bind source dir
        options = ["rbind", "ro" if not mp["RW"] else "rw", "rprivate"]
        mounts.append({"destination": mp["Destination"], "type": "bind", "source": mp["Source"], "options": options})
    return mounts
