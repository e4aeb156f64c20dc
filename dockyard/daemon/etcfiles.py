"""A container's /etc/hostname, /etc/hosts and /etc/resolv.conf, and its bind mounts from HostConfig."""
from __future__ import annotations

import re
from pathlib import Path


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
