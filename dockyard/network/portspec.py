"""`-p/--publish` and `--expose` specs as the docker CLI parses them (go-connections nat.ParsePortSpec).

Pure and dependency-free: the CLI (and compose) turn specs into the Engine API's `ExposedPorts` and
`HostConfig.PortBindings`; the daemon reads port keys (`80/tcp`) back with parse_port_key.
"""
from __future__ import annotations

import ipaddress

from ..errors import InvalidParameter

PROTOCOLS = ("tcp", "udp", "sctp")


def split_proto(raw: str) -> tuple[str, str]:
    port, _, proto = raw.partition("/")
    proto = proto.lower() or "tcp"
    if proto not in PROTOCOLS:
        raise InvalidParameter(f"invalid proto: {proto}")
    return port, proto


def parse_range(raw: str, what: str) -> tuple[int, int]:
    """`80` or `8000-8010` -> (start, end); docker's `invalid containerPort: x` on garbage."""
    start_s, dash, end_s = raw.partition("-")
    try:
        start = int(start_s)
        end = int(end_s) if dash else start
    except ValueError:
        raise InvalidParameter(f"invalid {what}: {raw}") from None
    lowest = 0 if what == "hostPort" else 1  # host port 0: any free port
    if not (lowest <= start <= 65535 and lowest <= end <= 65535) or end < start:
        raise InvalidParameter(f"invalid {what}: {raw}")
    return start, end


def parse_port_key(key: str) -> tuple[int, str]:
    """`80/tcp` -> (80, "tcp"); a bare `80` is tcp."""
    port, proto = split_proto(key)
    return parse_range(port, "containerPort")[0], proto


def _split_ip(spec: str) -> tuple[str, str]:
    """Peel `ip:` off the front; IPv6 literals come bracketed (`[::1]:8080:80`)."""
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0:
            raise InvalidParameter(f"Invalid ip address: {spec}")
        return spec[1:end], spec[end + 2:] if spec[end + 1:end + 2] == ":" else spec[end + 1:]
    parts = spec.split(":")
    if len(parts) == 3:
        return parts[0], ":".join(parts[1:])
    if len(parts) > 3:  # an unbracketed IPv6 address: everything before the last two fields
        return ":".join(parts[:-2]), ":".join(parts[-2:])
    return "", spec


def parse_publish(spec: str) -> list[tuple[str, dict]]:
    """One `-p` value -> [(`80/tcp`, {"HostIp": ..., "HostPort": ...}), ...] (a range gives several)."""
    if not spec:
        raise InvalidParameter("no port specified: <empty>")
    ip, rest = _split_ip(spec)
    if ip:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise InvalidParameter(f"Invalid ip address: {ip}") from None
    host, sep, container = rest.rpartition(":")
    if not sep:
        host, container = "", rest
    container, proto = split_proto(container)
    if not container:
        raise InvalidParameter(f"no port specified: {spec}<empty>")
    c_start, c_end = parse_range(container, "containerPort")
    h_start = h_end = 0
    if host:
        h_start, h_end = parse_range(host, "hostPort")
    n = c_end - c_start + 1
    if host and (h_end - h_start + 1) != n and not (n == 1 and h_end >= h_start):
        raise InvalidParameter(f"invalid ranges specified for container and host Ports: {container} and {host}")
    out = []
    for i in range(n):
        if not host or (h_start == h_end == 0):
            host_port = ""
        elif n == 1 and h_end != h_start:  # one container port, a host range: the daemon picks from it
            host_port = f"{h_start}-{h_end}"
        else:
            host_port = str(h_start + i)
        out.append((f"{c_start + i}/{proto}", {"HostIp": ip, "HostPort": host_port}))
    return out


def parse_publish_all(specs) -> tuple[dict, dict]:
    """Every `-p` of a command line -> (ExposedPorts, PortBindings)."""
    exposed: dict = {}
    bindings: dict = {}
    for spec in specs:
        for key, binding in parse_publish(spec):
            exposed[key] = {}
            bindings.setdefault(key, []).append(binding)
    return exposed, bindings


def parse_expose(spec: str) -> list[str]:
    """`--expose 80`, `--expose 7000-7002/udp` -> port keys."""
    port, proto = split_proto(spec)
    start, end = parse_range(port, "range")
    return [f"{p}/{proto}" for p in range(start, end + 1)]
