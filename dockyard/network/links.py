"""Legacy container links (`--link child:alias`), pure: parsing, the names dockerd shows, and the
environment variables a linking container gets (moby's daemon/links ToEnv, port ranges included)."""
from __future__ import annotations

from ..errors import InvalidParameter


def parse_link(spec: str) -> tuple[str, str]:
    """`child[:alias]` (either may carry the leading slash of a container name) -> (child, alias)."""
    child, _, alias = spec.partition(":")
    child, alias = child.strip("/"), (alias or child).strip("/")
    if not child:
        raise InvalidParameter(f"invalid link format: {spec}")
    return child, alias.rsplit("/", 1)[-1]


def link_name(child: str, parent: str, alias: str) -> str:
    """HostConfig.Links as dockerd shows them: `/child:/parent/alias`."""
    return f"/{child}:/{parent}/{alias}"


def hosts_entry(alias: str, child_hostname: str, child_name: str, ip: str) -> str:
    """The linked container in the parent's /etc/hosts, in `--add-host` form: `alias hostname [name]:ip`."""
    names = [alias, child_hostname] + ([child_name] if child_name != alias else [])
    return f"{' '.join(dict.fromkeys(names))}:{ip}"


def _port_key(port: str) -> tuple[int, str, int]:
    num, _, proto = port.partition("/")
    proto = proto or "tcp"
    return (0 if proto == "tcp" else 1, proto, int(num))


def link_env(name: str, child_ip: str, child_env: list[str], exposed_ports) -> list[str]:
    """ALIAS_PORT, ALIAS_PORT_<p>_<PROTO>(_ADDR|_PORT|_PROTO), range _START/_END, ALIAS_NAME, ALIAS_ENV_*."""
    alias = name.rsplit("/", 1)[-1].upper().replace("-", "_")
    ports = sorted((p for p in exposed_ports or () if p.partition("/")[0].isdigit()), key=_port_key)
    env: list[str] = []
    start = end = None
    for i, port in enumerate(ports):
        _, proto, num = _port_key(port)
        if i == 0:
            start = end = (proto, num)
            env.append(f"{alias}_PORT={proto}://{child_ip}:{num}")
        prefix = f"{alias}_PORT_{num}_{proto.upper()}"
        env += [f"{prefix}={proto}://{child_ip}:{num}", f"{prefix}_ADDR={child_ip}", f"{prefix}_PORT={num}",
                f"{prefix}_PROTO={proto}"]
        if num == end[1] + 1 and proto == start[0]:
            end = (proto, num)
            if i < len(ports) - 1:
                continue
        if end != start:
            p = f"{alias}_PORT_{start[1]}_{start[0].upper()}"
            env += [f"{p}_START={start[0]}://{child_ip}:{start[1]}", f"{p}_PORT_START={start[1]}",
                    f"{p}_END={end[0]}://{child_ip}:{end[1]}", f"{p}_PORT_END={end[1]}"]
        start = end = (proto, num)
    env.append(f"{alias}_NAME={name}")
    for entry in child_env or ():
        key, sep, value = entry.partition("=")
        if sep and key not in ("HOME", "PATH"):
            env.append(f"{alias}_ENV_{key}={value}")
    return env
